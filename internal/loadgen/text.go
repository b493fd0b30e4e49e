package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// Pieces of text the generator strings together. Each piece is one grapheme as a user sees it, which
// can be several characters (runes) for the server: "👍🏽" is two, "👩‍💻" three.
var (
	// ASCII, with the characters that break naive quoting and C-string handling.
	asciiPieces = strings.Split("a b c x y z A B Z 0 1 9 ' \" \\ % _ ` ; - . , ( ) \t \n \x00", " ")
	// Latin-1 letters beyond ASCII: one byte each in latin1, two in UTF-8.
	latin1Pieces = []string{"é", "è", "ü", "ö", "ß", "ñ", "ø", "Å", "æ", "ç", "¿", "«", "»", "°", "µ", "ÿ", "×"}
	// Characters of the Basic Multilingual Plane outside Latin-1: two or three bytes in UTF-8, a
	// combining accent among them.
	bmpPieces = []string{"ą", "Ж", "Ω", "λ", "中", "文", "日", "本", "한", "ก", "€", "™", "…", "e\u0301"}
	// Characters outside the BMP: four bytes in UTF-8, absent from utf8mb3.
	emojiPieces = []string{"😀", "🚀", "👍🏽", "👩‍💻", "🇫🇷", "𝄞", "🦄"}
)

// An alphabet is what the generator writes into the text columns of one character set.
type alphabet struct {
	charset string
	classes [][]string // piece classes, drawn with the weights below
	weights []int
	// encode turns UTF-8 text into the character set's bytes; it fails for characters the set lacks.
	encode func(string) ([]byte, error)
}

// alphabetFor returns the alphabet of a character set. Character sets that are not supersets of
// ASCII (ucs2, utf16, utf32) are refused: ASCII bytes are not text in them.
func alphabetFor(charset string) (*alphabet, error) {
	identity := func(s string) ([]byte, error) { return []byte(s), nil }
	switch strings.ToLower(charset) {
	case "utf8mb4":
		return &alphabet{charset: charset, classes: [][]string{asciiPieces, latin1Pieces, bmpPieces, emojiPieces}, weights: []int{60, 15, 15, 10}, encode: identity}, nil
	case "utf8mb3", "utf8":
		return &alphabet{charset: charset, classes: [][]string{asciiPieces, latin1Pieces, bmpPieces}, weights: []int{65, 20, 15}, encode: identity}, nil
	case "latin1":
		return &alphabet{charset: charset, classes: [][]string{asciiPieces, latin1Pieces}, weights: []int{70, 30}, encode: encodeLatin1}, nil
	case "ucs2", "utf16", "utf16le", "utf32":
		return nil, fmt.Errorf("loadgen writes ASCII-compatible character sets only, not %s", charset)
	}
	return &alphabet{charset: charset, classes: [][]string{asciiPieces}, weights: []int{1}, encode: encodeASCII}, nil
}

// encodeLatin1 encodes text made of code points up to U+00FF, which latin1 (cp1252 in MySQL) stores
// as the same single byte.
func encodeLatin1(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for _, c := range s {
		if c > 0xFF {
			return nil, fmt.Errorf("%q is not a latin1 character", c)
		}
		out = append(out, byte(c))
	}
	return out, nil
}

func encodeASCII(s string) ([]byte, error) {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return nil, fmt.Errorf("%q is not an ASCII character", c)
		}
	}
	return []byte(s), nil
}

// value returns s as a string literal of the alphabet's character set. Text the set cannot encode
// (an ENUM member beyond ASCII in some other character set) goes as utf8mb4 for the server to convert.
func (a *alphabet) value(s string) value {
	if b, err := a.encode(s); err == nil {
		return value{kind: kindBytes, raw: b, charset: a.charset}
	}
	return value{kind: kindBytes, raw: []byte(s), charset: "utf8mb4"}
}

// random returns text of at most chars characters and maxBytes encoded bytes. With spaces, it ends
// now and then in spaces, which PAD SPACE collations ignore.
func (a *alphabet) random(r *rand.Rand, chars, maxBytes int, spaces bool) string {
	var b strings.Builder
	n, size := 0, 0
	add := func(piece string) bool {
		runes := utf8.RuneCountInString(piece)
		enc, _ := a.encode(piece)
		if n+runes > chars || size+len(enc) > maxBytes {
			return false
		}
		b.WriteString(piece)
		n, size = n+runes, size+len(enc)
		return true
	}
	trailing := 0
	if spaces && r.IntN(10) == 0 {
		trailing = min(2, chars)
	}
	for n < chars-trailing {
		if !add(a.piece(r)) && !add("a") {
			break
		}
	}
	for n < chars && add(" ") {
	}
	return b.String()
}

func (a *alphabet) piece(r *rand.Rand) string {
	total := 0
	for _, w := range a.weights {
		total += w
	}
	pick, i := r.IntN(total), 0
	for pick >= a.weights[i] {
		pick -= a.weights[i]
		i++
	}
	class := a.classes[i]
	return class[r.IntN(len(class))]
}

// randomJSON returns a JSON document: mostly objects with nested values, text beyond ASCII and
// numbers of every kind, and now and then a bare scalar, including the JSON null (not SQL NULL).
func randomJSON(r *rand.Rand) string {
	utf := &alphabet{classes: [][]string{asciiPieces, latin1Pieces, bmpPieces, emojiPieces}, weights: []int{60, 15, 15, 10},
		encode: func(s string) ([]byte, error) { return []byte(s), nil }}
	var doc any
	switch r.IntN(10) {
	case 0:
		doc = nil
	case 1:
		doc = utf.random(r, r.IntN(20), 1<<20, true)
	case 2:
		doc = r.Int64()
	default:
		obj := map[string]any{}
		for i := r.IntN(6); i >= 0; i-- {
			key := utf.random(r, 1+r.IntN(8), 1<<20, true)
			switch r.IntN(6) {
			case 0:
				obj[key] = r.Int64() - r.Int64()
			case 1:
				obj[key] = r.NormFloat64() * 1e6
			case 2:
				obj[key] = utf.random(r, r.IntN(30), 1<<20, true)
			case 3:
				obj[key] = []any{r.IntN(100), "😀", true, nil, 2.5}
			case 4:
				obj[key] = map[string]any{"deep": map[string]any{"é": r.IntN(2) == 0}}
			default:
				obj[key] = nil
			}
		}
		doc = obj
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		// Cannot happen: the document holds strings, finite numbers, booleans and nulls only.
		return "{}"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
