package loadgen

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/doppel-sql/doppel/table"
)

const samples = 3000

// generate draws samples values for a column, failing the test if the column is refused.
func generate(t *testing.T, c table.Column, json, unique bool) []value {
	t.Helper()
	col, err := newColumn(c, json, unique)
	if err != nil {
		t.Fatalf("newColumn(%s): %v", c.ColumnType, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]value, samples)
	for i := range out {
		out[i] = col.random(r)
	}
	return out
}

func intColumn(dataType string, unsigned bool) table.Column {
	ct := dataType
	if unsigned {
		ct += " unsigned"
	}
	return table.Column{Name: "c", DataType: dataType, ColumnType: ct, Unsigned: unsigned}
}

func TestIntegers(t *testing.T) {
	for _, tc := range []struct {
		dataType string
		unsigned bool
		lo, hi   string
	}{
		{"tinyint", false, "-128", "127"},
		{"tinyint", true, "0", "255"},
		{"smallint", false, "-32768", "32767"},
		{"smallint", true, "0", "65535"},
		{"mediumint", false, "-8388608", "8388607"},
		{"mediumint", true, "0", "16777215"},
		{"int", false, "-2147483648", "2147483647"},
		{"int", true, "0", "4294967295"},
		{"bigint", false, "-9223372036854775808", "9223372036854775807"},
		{"bigint", true, "0", "18446744073709551615"},
	} {
		t.Run(intColumn(tc.dataType, tc.unsigned).ColumnType, func(t *testing.T) {
			lo, _ := new(big.Int).SetString(tc.lo, 10)
			hi, _ := new(big.Int).SetString(tc.hi, 10)
			seen := map[string]bool{}
			distinct := map[string]bool{}
			for _, v := range generate(t, intColumn(tc.dataType, tc.unsigned), false, false) {
				if v.kind != kindNumber {
					t.Fatalf("kind %v for a NOT NULL integer", v.kind)
				}
				n, ok := new(big.Int).SetString(v.text, 10)
				if !ok || n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
					t.Fatalf("%q is not an integer in [%s, %s]", v.text, tc.lo, tc.hi)
				}
				seen[v.text] = true
				distinct[v.text] = true
			}
			if !seen[tc.lo] || !seen[tc.hi] {
				t.Errorf("the extremes %s and %s were not both generated", tc.lo, tc.hi)
			}
			if len(distinct) < 50 && tc.dataType != "tinyint" {
				t.Errorf("only %d distinct values", len(distinct))
			}
		})
	}
}

func TestDecimals(t *testing.T) {
	for _, tc := range []struct {
		precision, scale int64
		unsigned         bool
	}{
		{10, 2, false},
		{65, 30, false},
		{5, 0, false},
		{4, 4, false},
		{8, 3, true},
	} {
		c := table.Column{Name: "d", DataType: "decimal", ColumnType: "decimal", Precision: tc.precision, Scale: tc.scale, Unsigned: tc.unsigned}
		t.Run(strconv.Itoa(int(tc.precision))+","+strconv.Itoa(int(tc.scale)), func(t *testing.T) {
			frac := ""
			if tc.scale > 0 {
				frac = `\.\d{` + strconv.Itoa(int(tc.scale)) + `}`
			}
			re := regexp.MustCompile(`^-?(0|[1-9]\d*)` + frac + `$`)
			largest := strings.Repeat("9", int(tc.precision-tc.scale))
			if largest == "" {
				largest = "0"
			}
			if tc.scale > 0 {
				largest += "." + strings.Repeat("9", int(tc.scale))
			}
			maxSeen, negative := false, false
			for _, v := range generate(t, c, false, false) {
				if !re.MatchString(v.text) {
					t.Fatalf("%q is not a canonical DECIMAL(%d,%d) literal", v.text, tc.precision, tc.scale)
				}
				whole := strings.TrimPrefix(strings.SplitN(v.text, ".", 2)[0], "-")
				if whole != "0" && len(whole) > int(tc.precision-tc.scale) {
					t.Fatalf("%q has more than %d integer digits", v.text, tc.precision-tc.scale)
				}
				if strings.Trim(v.text, "-0.") == "" && strings.HasPrefix(v.text, "-") {
					t.Fatalf("%q is a negative zero", v.text)
				}
				maxSeen = maxSeen || strings.TrimPrefix(v.text, "-") == largest
				negative = negative || strings.HasPrefix(v.text, "-")
			}
			if !maxSeen {
				t.Error("the largest magnitude was never generated")
			}
			if negative == tc.unsigned {
				t.Errorf("negative values generated: %v, want %v", negative, !tc.unsigned)
			}
		})
	}
}

func TestFloats(t *testing.T) {
	for _, tc := range []struct {
		c      table.Column
		single bool
		bound  float64 // largest magnitude
	}{
		{table.Column{Name: "f", DataType: "float", ColumnType: "float"}, true, math.MaxFloat32},
		{table.Column{Name: "f", DataType: "double", ColumnType: "double"}, false, math.MaxFloat64},
		{table.Column{Name: "f", DataType: "double", ColumnType: "double unsigned", Unsigned: true}, false, math.MaxFloat64},
		{table.Column{Name: "f", DataType: "float", ColumnType: "float(7,3)", Precision: 7, Scale: 3}, true, 9999.999},
	} {
		t.Run(tc.c.ColumnType, func(t *testing.T) {
			negative := false
			for _, v := range generate(t, tc.c, false, false) {
				f, err := strconv.ParseFloat(v.text, 64)
				if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
					t.Fatalf("%q is not a finite number", v.text)
				}
				if math.Abs(f) > tc.bound {
					t.Fatalf("%q exceeds %g", v.text, tc.bound)
				}
				if tc.single && tc.c.Precision == 0 && float64(float32(f)) != f {
					t.Fatalf("%q is not exactly a single-precision value", v.text)
				}
				negative = negative || f < 0
			}
			if negative == tc.c.Unsigned {
				t.Errorf("negative values generated: %v, want %v", negative, !tc.c.Unsigned)
			}
		})
	}
}

func TestBitsAndYears(t *testing.T) {
	for _, width := range []int64{1, 10, 64} {
		t.Run("bit"+strconv.Itoa(int(width)), func(t *testing.T) {
			limit := uint64(math.MaxUint64) >> (64 - width)
			sawMax := false
			for _, v := range generate(t, table.Column{Name: "b", DataType: "bit", ColumnType: "bit", Precision: width}, false, false) {
				n, err := strconv.ParseUint(v.text, 10, 64)
				if err != nil || n > limit {
					t.Fatalf("%q is not a BIT(%d) value", v.text, width)
				}
				sawMax = sawMax || n == limit
			}
			if !sawMax {
				t.Error("all ones was never generated")
			}
		})
	}
	t.Run("year", func(t *testing.T) {
		for _, v := range generate(t, table.Column{Name: "y", DataType: "year", ColumnType: "year(4)"}, false, false) {
			n, err := strconv.Atoi(v.text)
			if err != nil || (n != 0 && (n < 1901 || n > 2155)) {
				t.Fatalf("%q is not a YEAR", v.text)
			}
		}
	})
}

func TestTemporal(t *testing.T) {
	for _, tc := range []struct {
		dataType string
		fsp      int64
		layout   string
		from, to time.Time
	}{
		{"date", 0, "2006-01-02", minDate, maxDate},
		{"datetime", 0, "2006-01-02 15:04:05", minDate, maxDate.Add(24 * time.Hour)},
		{"datetime", 6, "2006-01-02 15:04:05.000000", minDate, maxDate.Add(24 * time.Hour)},
		{"timestamp", 3, "2006-01-02 15:04:05.000", minTimestamp, maxTimestamp.Add(24 * time.Hour)},
		{"timestamp", 6, "2006-01-02 15:04:05.000000", minTimestamp, maxTimestamp.Add(24 * time.Hour)},
	} {
		t.Run(tc.dataType+strconv.Itoa(int(tc.fsp)), func(t *testing.T) {
			zero := 0
			for _, v := range generate(t, table.Column{Name: "t", DataType: tc.dataType, ColumnType: tc.dataType, FSP: tc.fsp}, false, false) {
				if v.kind != kindTemporal || len(v.text) != len(tc.layout) {
					t.Fatalf("%q does not have the form %s", v.text, tc.layout)
				}
				if strings.HasPrefix(v.text, zeroDate) {
					zero++
					continue
				}
				ts, err := time.Parse(tc.layout, v.text)
				if err != nil {
					t.Fatalf("%q: %v", v.text, err)
				}
				if ts.Before(tc.from) || !ts.Before(tc.to) {
					t.Fatalf("%q is outside %s … %s", v.text, tc.from, tc.to)
				}
			}
			if zero == 0 {
				t.Error("no zero date was generated")
			}
		})
	}
	t.Run("time", func(t *testing.T) {
		re := regexp.MustCompile(`^-?(\d{2,3}):([0-5]\d):([0-5]\d)\.\d{2}$`)
		sawMin, sawMax := false, false
		for _, v := range generate(t, table.Column{Name: "t", DataType: "time", ColumnType: "time(2)", FSP: 2}, false, false) {
			m := re.FindStringSubmatch(v.text)
			if m == nil {
				t.Fatalf("%q is not a TIME(2)", v.text)
			}
			h, _ := strconv.Atoi(m[1])
			if h > 838 || (h == 838 && !strings.HasSuffix(v.text, "59:59.00")) {
				t.Fatalf("%q is outside -838:59:59 … 838:59:59", v.text)
			}
			sawMin = sawMin || strings.HasPrefix(v.text, "-838:")
			sawMax = sawMax || strings.HasPrefix(v.text, "838:")
		}
		if !sawMin || !sawMax {
			t.Error("the TIME extremes were not both generated")
		}
	})
}

// textCase describes what the values of one text column must look like.
type textCase struct {
	name      string
	col       table.Column
	maxChars  int
	maxBytes  int
	valid     func([]byte) bool // every value's bytes are text of the column's character set
	wantBig   bool              // some value beyond 1000 bytes
	wantExact bool              // some value of exactly maxChars characters
	want      func([]byte) bool // at least one value is like this
}

func textColumn(dataType, columnType, charset string) table.Column {
	return table.Column{Name: "s", DataType: dataType, ColumnType: columnType, Charset: charset, Collation: charset + "_general_ci", Nullable: true}
}

// isLatin1Text reports whether b is made of the ASCII and Latin-1 pieces, each encoded as one byte
// (a UTF-8 encoding would hold other bytes, such as 0xC3 lead bytes).
func isLatin1Text(b []byte) bool {
	allowed := map[byte]bool{' ': true}
	for _, p := range append(append([]string(nil), asciiPieces...), latin1Pieces...) {
		for _, r := range p {
			allowed[byte(r)] = true
		}
	}
	for _, c := range b {
		if !allowed[c] {
			return false
		}
	}
	return true
}

func TestText(t *testing.T) {
	hasRuneOf := func(size int) func([]byte) bool {
		return func(b []byte) bool {
			for _, r := range string(b) {
				if utf8.RuneLen(r) == size {
					return true
				}
			}
			return false
		}
	}
	noneOf := func(size int) func([]byte) bool {
		return func(b []byte) bool { return utf8.Valid(b) && !hasRuneOf(size)(b) }
	}
	for _, tc := range []textCase{
		{name: "utf8mb4 varchar", col: textColumn("varchar", "varchar(40)", "utf8mb4"), maxChars: 40, maxBytes: 160, valid: utf8.Valid, wantExact: true, want: hasRuneOf(4)},
		{name: "utf8mb4 char", col: textColumn("char", "char(3)", "utf8mb4"), maxChars: 3, maxBytes: 12, valid: utf8.Valid, wantExact: true, want: hasRuneOf(3)},
		{name: "utf8mb3", col: textColumn("varchar", "varchar(30)", "utf8mb3"), maxChars: 30, maxBytes: 90, valid: noneOf(4), wantExact: true, want: hasRuneOf(3)},
		{name: "latin1", col: textColumn("varchar", "varchar(20)", "latin1"), maxChars: 20, maxBytes: 20, valid: isLatin1Text, wantExact: true,
			want: func(b []byte) bool { return bytes.IndexByte(b, 0xE9) >= 0 || bytes.IndexByte(b, 0xDF) >= 0 }}, // é or ß
		{name: "ascii", col: textColumn("varchar", "varchar(10)", "ascii"), maxChars: 10, maxBytes: 10,
			valid: func(b []byte) bool { return bytes.IndexFunc(b, func(r rune) bool { return r >= utf8.RuneSelf }) < 0 }, wantExact: true,
			want: func(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }},
		{name: "tinytext", col: textColumn("tinytext", "tinytext", "utf8mb4"), maxChars: largeLen, maxBytes: 255, valid: utf8.Valid},
		{name: "text", col: textColumn("text", "text", "utf8mb4"), maxChars: largeLen, maxBytes: 65535, valid: utf8.Valid, wantBig: true},
		{name: "trailing spaces", col: textColumn("varchar", "varchar(50)", "utf8mb4"), maxChars: 50, maxBytes: 200, valid: utf8.Valid,
			want: func(b []byte) bool { return len(b) > 1 && bytes.HasSuffix(b, []byte("  ")) }},
		{name: "no trailing spaces in CHAR", col: textColumn("char", "char(50)", "utf8mb4"), maxChars: 50, maxBytes: 200,
			valid: func(b []byte) bool { return utf8.Valid(b) && !bytes.HasSuffix(b, []byte(" ")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exact, big, wanted, nulls := false, false, false, 0
			for _, v := range generate(t, tc.col, false, false) {
				if v.kind == kindNull {
					nulls++
					continue
				}
				if v.charset != tc.col.Charset {
					t.Fatalf("introducer %q, want the column's %q", v.charset, tc.col.Charset)
				}
				chars := len(v.raw)
				if utf8.Valid(v.raw) && tc.col.Charset != "latin1" {
					chars = utf8.RuneCount(v.raw)
				}
				if chars > tc.maxChars || len(v.raw) > tc.maxBytes {
					t.Fatalf("%q has %d characters, %d bytes: more than %d, %d", v.raw, chars, len(v.raw), tc.maxChars, tc.maxBytes)
				}
				if !tc.valid(v.raw) {
					t.Fatalf("%q is not valid for %s", v.raw, tc.col.Charset)
				}
				exact = exact || chars == tc.maxChars
				big = big || len(v.raw) > 1000
				wanted = wanted || tc.want == nil || tc.want(v.raw)
			}
			if nulls == 0 {
				t.Error("a nullable column never got NULL")
			}
			if tc.wantExact && !exact {
				t.Errorf("no value of exactly %d characters", tc.maxChars)
			}
			if tc.wantBig && !big {
				t.Error("no large value")
			}
			if !wanted {
				t.Error("the characteristic characters of the character set never appeared")
			}
		})
	}
}

func TestUniqueText(t *testing.T) {
	for _, n := range []int{2, 10, 100} {
		c := textColumn("varchar", "varchar("+strconv.Itoa(n)+")", "utf8mb4")
		for _, v := range generate(t, c, false, true) {
			if v.kind == kindNull {
				t.Fatal("NULL in a unique column")
			}
			if len(v.raw) < min(4, n) || len(v.raw) > min(16, n) {
				t.Fatalf("key text %q of length %d for varchar(%d)", v.raw, len(v.raw), n)
			}
			if strings.Trim(string(v.raw), keyLetters) != "" {
				t.Fatalf("key text %q holds more than letters and digits", v.raw)
			}
		}
	}
}

// TestDistinct checks that a column under a unique key outside the tracked key gets values that do
// not repeat, where the type leaves room for that.
func TestDistinct(t *testing.T) {
	for _, c := range []table.Column{
		{Name: "u", DataType: "bigint", ColumnType: "bigint", Nullable: true},
		{Name: "u", DataType: "int", ColumnType: "int unsigned", Unsigned: true},
		{Name: "u", DataType: "decimal", ColumnType: "decimal(12,2)", Precision: 12, Scale: 2},
		textColumn("varchar", "varchar(30)", "utf8mb4"),
	} {
		seen := map[string]bool{}
		for _, v := range generate(t, c, false, true) {
			id := v.text + string(v.raw)
			if v.kind == kindNull || seen[id] {
				t.Fatalf("%s: %q repeats (or is NULL) among %d values", c.ColumnType, id, len(seen))
			}
			seen[id] = true
		}
	}
}

func TestBinary(t *testing.T) {
	for _, tc := range []struct {
		col      table.Column
		min, max int
		wantBig  bool
	}{
		{table.Column{Name: "b", DataType: "binary", ColumnType: "binary(16)"}, 16, 16, false},
		{table.Column{Name: "b", DataType: "varbinary", ColumnType: "varbinary(40)"}, 0, 40, false},
		{table.Column{Name: "b", DataType: "tinyblob", ColumnType: "tinyblob"}, 0, 255, false},
		{table.Column{Name: "b", DataType: "blob", ColumnType: "blob"}, 0, 65535, true},
	} {
		t.Run(tc.col.ColumnType, func(t *testing.T) {
			trailingZero, innerZero, big, high := false, false, false, false
			for _, v := range generate(t, tc.col, false, false) {
				if v.kind != kindBytes || v.charset != "" {
					t.Fatalf("binary value %+v is not a plain X'' literal", v)
				}
				if len(v.raw) < tc.min || len(v.raw) > tc.max {
					t.Fatalf("%d bytes, want %d…%d", len(v.raw), tc.min, tc.max)
				}
				if n := len(v.raw); n > 2 {
					trailingZero = trailingZero || v.raw[n-1] == 0
					innerZero = innerZero || bytes.IndexByte(v.raw[:n-1], 0) >= 0 && v.raw[n-1] != 0
				}
				high = high || bytes.IndexFunc(v.raw, func(r rune) bool { return r == utf8.RuneError }) >= 0
				big = big || len(v.raw) > 1000
			}
			if !trailingZero || !innerZero || !high {
				t.Errorf("trailing zero %v, inner zero %v, bytes beyond ASCII %v: want all", trailingZero, innerZero, high)
			}
			if tc.wantBig && !big {
				t.Error("no large value")
			}
		})
	}
}

func TestEnumSetJSON(t *testing.T) {
	members := []string{"small", "médium", "large"}
	t.Run("enum", func(t *testing.T) {
		seen := map[string]bool{}
		for _, v := range generate(t, table.Column{Name: "e", DataType: "enum", ColumnType: "enum(...)", Charset: "latin1", Elems: members}, false, false) {
			seen[string(v.raw)] = true
		}
		if len(seen) != 3 || !seen["m\xe9dium"] {
			t.Errorf("members generated %v, want the three, latin1-encoded", seen)
		}
	})
	t.Run("set", func(t *testing.T) {
		seen := map[string]bool{}
		for _, v := range generate(t, table.Column{Name: "s", DataType: "set", ColumnType: "set(...)", Charset: "utf8mb4", Elems: members}, false, false) {
			last := -1
			for _, m := range strings.Split(string(v.raw), ",") {
				i := indexOf(members, m)
				if m != "" && i <= last {
					t.Fatalf("%q is not an ordered subset of the members", v.raw)
				}
				last = i
			}
			seen[string(v.raw)] = true
		}
		if !seen[""] || !seen["small,médium,large"] {
			t.Error("the empty and the full set were not both generated")
		}
	})
	t.Run("json", func(t *testing.T) {
		jsonNull, emoji := false, false
		for _, v := range generate(t, textColumn("longtext", "longtext", "utf8mb4"), true, false) {
			if v.kind == kindNull {
				continue
			}
			if !json.Valid(v.raw) {
				t.Fatalf("%q is not JSON", v.raw)
			}
			jsonNull = jsonNull || string(v.raw) == "null"
			emoji = emoji || bytes.Contains(v.raw, []byte("😀"))
		}
		if !jsonNull || !emoji {
			t.Errorf("JSON null %v, emoji %v: want both", jsonNull, emoji)
		}
	})
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestRefusals(t *testing.T) {
	for _, c := range []table.Column{
		{Name: "g", DataType: "polygon", ColumnType: "polygon"},
		{Name: "u", DataType: "varchar", ColumnType: "varchar(10)", Charset: "ucs2"},
		{Name: "v", DataType: "varchar", ColumnType: "varchar"},
	} {
		if _, err := newColumn(c, false, false); err == nil {
			t.Errorf("newColumn(%s %s) succeeded, want a refusal", c.ColumnType, c.Charset)
		}
	}
}

func TestLiterals(t *testing.T) {
	for _, tc := range []struct {
		v    value
		want string
	}{
		{null, "NULL"},
		{number("-12.50"), "-12.50"},
		{temporal("2020-01-02 03:04:05.000001"), "'2020-01-02 03:04:05.000001'"},
		{value{kind: kindBytes, raw: []byte("é'"), charset: "utf8mb4"}, "_utf8mb4 X'c3a927'"},
		{value{kind: kindBytes, raw: []byte{0xE9}, charset: "latin1"}, "_latin1 X'e9'"},
		{value{kind: kindBytes, raw: []byte{0, 1, 0}}, "X'000100'"},
		{value{kind: kindBytes, raw: nil}, "X''"},
	} {
		if got := tc.v.sql(); got != tc.want {
			t.Errorf("sql() = %s, want %s", got, tc.want)
		}
	}
}

func TestKeyIdentity(t *testing.T) {
	ci, _ := newColumn(textColumn("varchar", "varchar(10)", "utf8mb4"), false, true)
	bin, _ := newColumn(table.Column{Name: "s", DataType: "varchar", ColumnType: "varchar(10)", Charset: "utf8mb4", Collation: "utf8mb4_bin"}, false, true)
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		s := []byte(randomKeyText(r, 8) + "x")
		v := caseVariant(r, s)
		if bytes.Equal(v, s) || !bytes.EqualFold(v, s) {
			t.Fatalf("caseVariant(%q) = %q: want another case of the same letters", s, v)
		}
		a, b := value{kind: kindBytes, raw: s}, value{kind: kindBytes, raw: v}
		if identity([]*column{ci}, []value{a}) != identity([]*column{ci}, []value{b}) {
			t.Fatalf("%q and %q differ under a _ci collation", s, v)
		}
		if identity([]*column{bin}, []value{a}) == identity([]*column{bin}, []value{b}) {
			t.Fatalf("%q and %q are equal under a _bin collation", s, v)
		}
	}
}
