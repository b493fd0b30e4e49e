package backfill

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// token is one word (keyword or bare name) of the statement outside strings, quoted names and
// parentheses' contents are still tokens, with their depth.
type token struct {
	start, end int // byte offsets in the cleaned text
	depth      int // how many parentheses enclose it
	word       string
}

// scan returns text without its comments (each replaced by one space, so a trailing "-- note"
// cannot swallow what doppel appends) and its words with their nesting depth. doppel splices the
// key range into this text at a word's offset, so it never restores the statement from the parse
// tree: what runs is what the user wrote.
//
// An executable comment (/*! … */, /*M! … */) is refused: whether its content runs depends on the
// server's version, and a backfill must mean one statement. Optimizer hints (/*+ … */) are comments
// here; they only steer the plan, and every chunk is one key range anyway.
func scan(text string) (string, []token, error) {
	if !utf8.ValidString(text) {
		return "", nil, errors.New("the statement is not valid UTF-8")
	}
	if strings.IndexByte(text, 0) >= 0 {
		return "", nil, errors.New("the statement holds a NUL character")
	}
	var out strings.Builder
	var toks []token
	depth := 0
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := closeQuote(text, i)
			if end < 0 {
				return "", nil, fmt.Errorf("the statement has an unterminated %c quote at %q", c, excerpt(text, i))
			}
			out.WriteString(text[i:end])
			i = end
		case c == '#' || strings.HasPrefix(text[i:], "--") && (i+2 == len(text) || text[i+2] <= ' '):
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = len(text) - i
			}
			out.WriteByte(' ')
			i += j
		case strings.HasPrefix(text[i:], "/*"):
			if strings.HasPrefix(text[i:], "/*!") || strings.HasPrefix(text[i:], "/*M!") {
				return "", nil, fmt.Errorf("the statement holds an executable comment (%q): whether it runs depends on the server's version; write what should run without the comment", excerpt(text, i))
			}
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return "", nil, fmt.Errorf("the statement has an unterminated comment at %q", excerpt(text, i))
			}
			out.WriteByte(' ')
			i += j + 4
		case c == '?':
			// doppel binds the chunk's key range to placeholders: one of the statement's own
			// would take a key value.
			return "", nil, fmt.Errorf("the statement holds a placeholder (?) at %q: write the values into it", excerpt(text, i))
		case c == '(':
			depth++
			out.WriteByte(c)
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return "", nil, errors.New("the statement closes a parenthesis it never opened")
			}
			out.WriteByte(c)
			i++
		case isWordByte(c):
			j := i
			for j < len(text) && isWordByte(text[j]) {
				j++
			}
			start := out.Len()
			out.WriteString(text[i:j])
			toks = append(toks, token{start: start, end: out.Len(), depth: depth, word: strings.ToUpper(text[i:j])})
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), toks, nil
}

// closeQuote returns the offset just past the quoted string or name that starts at text[i], or -1.
// Strings take backslash escapes and doubled quotes (doppel's sessions set neither ANSI_QUOTES nor
// NO_BACKSLASH_ESCAPES); names take doubled backticks.
func closeQuote(text string, i int) int {
	q := text[i]
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(text) && text[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return -1
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func excerpt(s string, i int) string {
	end := min(len(s), i+30)
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	return s[i:end]
}

// find returns the index of the first token at depth 0 from index from on that is word (and, when
// next is set, directly followed by next), or -1.
func find(toks []token, from int, word, next string) int {
	for i := from; i < len(toks); i++ {
		if toks[i].depth != 0 || toks[i].word != word {
			continue
		}
		if next == "" || i+1 < len(toks) && toks[i+1].word == next {
			return i
		}
	}
	return -1
}
