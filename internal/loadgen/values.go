package loadgen

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/table"
)

// kind says how a value is written into SQL.
type kind uint8

const (
	kindNull     kind = iota
	kindNumber        // an unquoted numeric literal: integers, DECIMAL, FLOAT, DOUBLE, BIT, YEAR
	kindTemporal      // a quoted literal made of digits and separators: DATE, DATETIME, TIMESTAMP, TIME
	kindBytes         // a string given as its bytes: _charset X'…', or X'…' for binary strings
)

// A value is one column value, kept in a form the tests and the key set can inspect, and turned into
// an SQL literal only when a statement is built. Strings travel as hex literals with the column's own
// character set as introducer: no escaping can go wrong, the server stores exactly these bytes, and a
// comparison with a key column keeps the column's collation (so its index is used).
type value struct {
	kind    kind
	text    string // kindNumber, kindTemporal
	raw     []byte // kindBytes
	charset string // kindBytes: the introducer's character set; empty for binary strings
}

var null = value{kind: kindNull}

func number(s string) value   { return value{kind: kindNumber, text: s} }
func temporal(s string) value { return value{kind: kindTemporal, text: s} }

// sql renders v as an SQL literal.
func (v value) sql() string {
	switch v.kind {
	case kindNull:
		return "NULL"
	case kindNumber:
		return v.text
	case kindTemporal:
		return "'" + v.text + "'"
	}
	lit := "X'" + hex.EncodeToString(v.raw) + "'"
	if v.charset == "" {
		return lit
	}
	return "_" + v.charset + " " + lit
}

// column generates values for one column of the table.
type column struct {
	table.Column
	json bool
	// unique columns belong to a unique key: their values must not repeat. Text is drawn from
	// letters and digits only, so that two values the generator thinks distinct never collide under
	// a case- and accent-insensitive collation (which would make an INSERT fail as a duplicate).
	unique   bool
	maxChars int // longest string in characters; CHAR, VARCHAR and TEXT
	maxBytes int // longest string or byte string in bytes
	text     *alphabet
}

// Generated strings stay short enough to keep a test table small; lengths beyond the cap are not
// more interesting than lengths up to it, except for the occasional large BLOB/TEXT below.
const (
	lengthCap = 300
	largeLen  = 9000 // stored off-page by InnoDB
)

var lengthRE = regexp.MustCompile(`^[a-z]+\((\d+)`)

// newColumn prepares value generation for c. It refuses types it cannot generate, so a caller learns
// at once to leave such a column out of the written set.
func newColumn(c table.Column, json, unique bool) (*column, error) {
	col := &column{Column: c, json: json, unique: unique}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint",
		"decimal", "numeric", "float", "double", "real", "bit", "year",
		"date", "datetime", "timestamp", "time", "enum", "set":
	case "char", "varchar":
		n, err := declaredLength(c.ColumnType)
		if err != nil {
			return nil, err
		}
		col.maxChars, col.maxBytes = n, math.MaxInt
	case "tinytext", "text", "mediumtext", "longtext":
		col.maxChars, col.maxBytes = largeLen, blobBytes(c.DataType)
	case "binary", "varbinary":
		n, err := declaredLength(c.ColumnType)
		if err != nil {
			return nil, err
		}
		col.maxBytes = n
	case "tinyblob", "blob", "mediumblob", "longblob":
		col.maxBytes = blobBytes(c.DataType)
	case "geometry", "point", "linestring":
	default:
		return nil, fmt.Errorf("column %s has type %s, which loadgen cannot generate: leave it out of the written columns", c.Name, c.ColumnType)
	}
	if c.IsText() || c.DataType == "enum" || c.DataType == "set" {
		a, err := alphabetFor(c.Charset)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		col.text = a
	}
	return col, nil
}

func declaredLength(columnType string) (int, error) {
	m := lengthRE.FindStringSubmatch(strings.ToLower(columnType))
	if m == nil {
		return 0, fmt.Errorf("no length in column type %q", columnType)
	}
	return strconv.Atoi(m[1])
}

// blobBytes is the byte capacity of a TEXT or BLOB type.
func blobBytes(dataType string) int {
	switch dataType {
	case "tinytext", "tinyblob":
		return 255
	case "text", "blob":
		return 65535
	}
	return math.MaxInt32
}

// caseInsensitive reports whether the column's collation folds case, so that 'abc' and 'ABC' are
// the same key.
func (c *column) caseInsensitive() bool {
	return c.IsText() && strings.Contains(strings.ToLower(c.Collation), "_ci")
}

// random returns a random value for a column outside the key: NULL now and then when the column
// allows it, and values that rarely repeat for a column under a unique key.
func (c *column) random(r *rand.Rand) value {
	if c.unique {
		return c.distinct(r)
	}
	if c.Nullable && r.IntN(10) == 0 {
		return null
	}
	return c.notNull(r)
}

// key returns a random value for a column of the key rows are addressed by. Extremes are welcome:
// the key set keeps a value that is taken from being written twice.
func (c *column) key(r *rand.Rand) value { return c.notNull(r) }

// distinct returns a value drawn uniformly from the type, without the favoured extremes, for a
// column under a unique key the key set does not track: a repeated value would fail the insert.
func (c *column) distinct(r *rand.Rand) value {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return number(uniformInt(r, intBits(c.DataType), c.Unsigned))
	case "decimal", "numeric":
		intDigits := int(c.Precision - c.Scale)
		return number(formatDecimal(digits(r, intDigits), digits(r, int(c.Scale)), !c.Unsigned && r.IntN(2) == 0))
	}
	return c.notNull(r)
}

func (c *column) notNull(r *rand.Rand) value {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return number(randomInt(r, intBits(c.DataType), c.Unsigned))
	case "decimal", "numeric":
		return number(randomDecimal(r, int(c.Precision), int(c.Scale), c.Unsigned))
	case "float", "double", "real":
		return number(c.randomFloat(r))
	case "bit":
		return number(randomBits(r, int(c.Precision)))
	case "year":
		return number(randomYear(r))
	case "date":
		return temporal(randomDate(r))
	case "datetime":
		return temporal(randomDatetime(r, int(c.FSP)))
	case "timestamp":
		return temporal(randomTimestamp(r, int(c.FSP)))
	case "time":
		return temporal(randomTime(r, int(c.FSP)))
	case "enum":
		return c.text.value(c.Elems[r.IntN(len(c.Elems))])
	case "set":
		return c.text.value(randomSet(r, c.Elems))
	case "binary":
		return bytesValue(randomBytes(r, c.maxBytes, c.maxBytes))
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return bytesValue(randomBytes(r, 0, c.randomLength(r, c.maxBytes)))
	case "point":
		return bytesValue(randomGeometry(r, false))
	case "linestring":
		return bytesValue(randomGeometry(r, true))
	case "geometry":
		return bytesValue(randomGeometry(r, r.IntN(2) == 0))
	}
	// The text types.
	if c.json {
		return c.text.value(randomJSON(r))
	}
	if c.unique {
		low := min(4, c.maxChars)
		return c.text.value(randomKeyText(r, low+r.IntN(min(c.maxChars, 16)-low+1)))
	}
	// CHAR strips trailing spaces when read, so a value written with them reads back without: an
	// ALTER from CHAR to VARCHAR would then keep the spaces of rows written after the swap only.
	return c.text.value(c.text.random(r, c.randomLength(r, c.maxChars), c.maxBytes, c.DataType != "char"))
}

// randomLength picks a length up to limit: often short, sometimes empty, sometimes exactly the limit
// (when that is small enough to write), and for the large types now and then a value stored off-page.
func (c *column) randomLength(r *rand.Rand, limit int) int {
	capped := min(limit, lengthCap)
	switch n := r.IntN(20); {
	case n == 0:
		return 0
	case n == 1 && limit <= lengthCap:
		return limit
	case n == 2 && limit >= largeLen:
		return largeLen
	}
	return 1 + r.IntN(capped)
}

func bytesValue(b []byte) value { return value{kind: kindBytes, raw: b} }

func intBits(dataType string) int {
	switch dataType {
	case "tinyint":
		return 8
	case "smallint":
		return 16
	case "mediumint":
		return 24
	case "bigint":
		return 64
	}
	return 32
}

// intBounds returns the range of an integer type as decimal strings' sources.
func intBounds(bits int, unsigned bool) (lo int64, hi uint64) {
	if unsigned {
		return 0, math.MaxUint64 >> (64 - bits)
	}
	return math.MinInt64 >> (64 - bits), math.MaxInt64 >> (64 - bits)
}

// randomInt returns an integer of the type, with the extremes and values around zero more often than
// chance would pick them: they are where conversions go wrong.
func randomInt(r *rand.Rand, bits int, unsigned bool) string {
	lo, hi := intBounds(bits, unsigned)
	switch r.IntN(10) {
	case 0:
		return strconv.FormatInt(lo, 10)
	case 1:
		return strconv.FormatUint(hi, 10)
	case 2:
		if unsigned {
			return strconv.Itoa(r.IntN(3))
		}
		return strconv.Itoa(r.IntN(5) - 2)
	}
	return uniformInt(r, bits, unsigned)
}

func uniformInt(r *rand.Rand, bits int, unsigned bool) string {
	u := r.Uint64() >> (64 - bits)
	if unsigned {
		return strconv.FormatUint(u, 10)
	}
	lo, _ := intBounds(bits, unsigned)
	return strconv.FormatInt(lo+int64(u), 10)
}

// randomDecimal returns a DECIMAL(precision, scale) literal in the server's canonical form: no
// leading zeros, exactly scale fraction digits, no negative zero.
func randomDecimal(r *rand.Rand, precision, scale int, unsigned bool) string {
	intDigits := precision - scale
	var whole, frac string
	switch r.IntN(10) {
	case 0: // the largest magnitude
		whole, frac = strings.Repeat("9", intDigits), strings.Repeat("9", scale)
	case 1:
		whole, frac = "", strings.Repeat("0", scale)
	default:
		whole, frac = digits(r, r.IntN(intDigits+1)), digits(r, scale)
	}
	return formatDecimal(whole, frac, !unsigned && r.IntN(3) == 0)
}

// formatDecimal writes a DECIMAL in the server's canonical form: no leading zeros, the fraction as
// given, no negative zero.
func formatDecimal(whole, frac string, negative bool) string {
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if negative && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// randomFloat returns a FLOAT or DOUBLE literal: for FLOAT(M,D)/DOUBLE(M,D) a value that fits M and
// D, else values across the type's range, including its largest and smallest normal magnitudes.
func (c *column) randomFloat(r *rand.Rand) string {
	if _, err := declaredLength(c.ColumnType); err == nil && c.Precision > 1 {
		// One digit less than declared, so the binary rounding of the stored value cannot overflow M.
		return randomDecimal(r, int(c.Precision)-1, min(int(c.Scale), int(c.Precision)-2), c.Unsigned)
	}
	single := c.DataType == "float"
	extremes := []float64{math.MaxFloat64, 2.2250738585072014e-308, 1e-300, 0.1, 1}
	maxExp := 300
	if single {
		extremes = []float64{math.MaxFloat32, 1.1754943508222875e-38, 1e-30, 0.1, 1}
		maxExp = 30
	}
	var f float64
	if r.IntN(5) == 0 {
		f = extremes[r.IntN(len(extremes))]
	} else {
		f = (r.Float64()*2 - 1) * math.Pow(10, float64(r.IntN(2*maxExp+1)-maxExp))
	}
	if c.Unsigned {
		f = math.Abs(f)
	} else if r.IntN(3) == 0 {
		f = -math.Abs(f)
	}
	if single {
		f = float64(float32(f))
	}
	// The exact double, even for FLOAT: the server parses the literal as a double before storing
	// it, and the shortest single-precision form of the largest FLOAT parses as a double above it.
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func randomBits(r *rand.Rand, width int) string {
	if width <= 0 {
		width = 1
	}
	mask := uint64(math.MaxUint64) >> (64 - width)
	switch r.IntN(8) {
	case 0:
		return "0"
	case 1:
		return strconv.FormatUint(mask, 10)
	}
	return strconv.FormatUint(r.Uint64()&mask, 10)
}

func randomYear(r *rand.Rand) string {
	if r.IntN(20) == 0 {
		return "0"
	}
	return strconv.Itoa(1901 + r.IntN(2155-1901+1))
}

// Zero dates are written now and then: doppel's sql_mode promises to copy them as they are.
const zeroDate = "0000-00-00"

var (
	minDate = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	// TIMESTAMP covers 1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC; a year of margin on each side
	// keeps every value in range whatever the session's time zone.
	minTimestamp = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
)

func randomDay(r *rand.Rand, from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours() / 24)
	return from.AddDate(0, 0, r.IntN(days+1))
}

func randomDate(r *rand.Rand) string {
	if r.IntN(50) == 0 {
		return zeroDate
	}
	return randomDay(r, minDate, maxDate).Format("2006-01-02")
}

func randomDatetime(r *rand.Rand, fsp int) string {
	if r.IntN(50) == 0 {
		return zeroDate + " 00:00:00" + fraction(r, fsp, true)
	}
	return randomDay(r, minDate, maxDate).Format("2006-01-02") + " " + clock(r, 24) + fraction(r, fsp, false)
}

func randomTimestamp(r *rand.Rand, fsp int) string {
	if r.IntN(50) == 0 {
		return zeroDate + " 00:00:00" + fraction(r, fsp, true)
	}
	return randomDay(r, minTimestamp, maxTimestamp).Format("2006-01-02") + " " + clock(r, 24) + fraction(r, fsp, false)
}

// randomTime returns a TIME within -838:59:59 … 838:59:59, extremes included.
func randomTime(r *rand.Rand, fsp int) string {
	switch r.IntN(10) {
	case 0:
		return "838:59:59" + fraction(r, fsp, true)
	case 1:
		return "-838:59:59" + fraction(r, fsp, true)
	}
	s := clock(r, 838) + fraction(r, fsp, false)
	if r.IntN(3) == 0 && strings.Trim(s, "0:.") != "" {
		s = "-" + s
	}
	return s
}

// clock returns hh:mm:ss with hours below maxHour.
func clock(r *rand.Rand, maxHour int) string {
	return fmt.Sprintf("%02d:%02d:%02d", r.IntN(maxHour), r.IntN(60), r.IntN(60))
}

// fraction returns the fractional seconds of a temporal literal with fsp digits (none for fsp 0).
func fraction(r *rand.Rand, fsp int, zero bool) string {
	if fsp == 0 {
		return ""
	}
	if zero {
		return "." + strings.Repeat("0", fsp)
	}
	return "." + digits(r, fsp)
}

func randomSet(r *rand.Rand, members []string) string {
	var chosen []string
	for _, m := range members {
		if r.IntN(2) == 0 {
			chosen = append(chosen, m)
		}
	}
	return strings.Join(chosen, ",")
}

// randomBytes returns between minLen and maxLen arbitrary bytes; zero bytes inside and at the end
// are made likely on purpose (BINARY pads with them, and code that treats bytes as C strings cuts at
// them).
func randomBytes(r *rand.Rand, minLen, maxLen int) []byte {
	n := minLen
	if maxLen > minLen {
		n += r.IntN(maxLen - minLen + 1)
	}
	b := make([]byte, n)
	for i := range b {
		if r.IntN(8) == 0 {
			continue // 0x00
		}
		b[i] = byte(r.UintN(256))
	}
	if n > 0 && r.IntN(3) == 0 {
		tail := 1 + r.IntN((n+1)/2)
		clear(b[n-tail:])
	}
	return b
}

const keyLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomKeyText(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = keyLetters[r.IntN(len(keyLetters))]
	}
	return string(b)
}

// caseVariant flips the case of some ASCII letters of s (at least one when s has any), giving a
// string that a case-insensitive collation holds equal to s.
func caseVariant(r *rand.Rand, s []byte) []byte {
	out := append([]byte(nil), s...)
	var letters []int
	for i, c := range out {
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			letters = append(letters, i)
		}
	}
	if len(letters) == 0 {
		return out
	}
	first := letters[r.IntN(len(letters))]
	for _, i := range letters {
		if i == first || r.IntN(3) == 0 {
			out[i] ^= 0x20 // ASCII upper and lower case differ in this bit only
		}
	}
	return out
}

// randomGeometry returns a POINT, or a LINESTRING of two to five points, in the server's own
// storage format, which it takes as a binary string: a 4-byte SRID (0), then the WKB (little
// endian, the type, the coordinates as doubles). Coordinates are whole or halves, so they compare
// exactly.
func randomGeometry(r *rand.Rand, line bool) []byte {
	coord := func() float64 { return float64(r.IntN(4001)-2000) / 2 }
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = append(b, 1) // little endian
	if !line {
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(coord()))
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(coord()))
	}
	n := 2 + r.IntN(4)
	b = binary.LittleEndian.AppendUint32(b, 2)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for range 2 * n {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(coord()))
	}
	return b
}
