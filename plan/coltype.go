package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"

	"github.com/doppel-sql/doppel/table"
)

// family groups column types whose values convert into each other without loss, given enough room.
type family int

const (
	famUnknown family = iota
	famInt
	famDecimal
	famFloat
	famBit
	famString // CHAR, VARCHAR, TEXT
	famBinary // BINARY, VARBINARY, BLOB
	famEnum
	famSet
	famDate
	famTime
	famDatetime
	famTimestamp
	famYear
	famJSON
)

// colType is a column type reduced to what the plan compares: how much it holds and how.
type colType struct {
	text     string // for messages, as information_schema or the ALTER writes it
	tp       byte   // mysql.Type*
	fam      family
	unsigned bool
	// length: characters for CHAR/VARCHAR, bytes for BINARY/VARBINARY and the TEXT/BLOB types,
	// digits for DECIMAL, fractional digits for temporal types.
	length    int
	scale     int // DECIMAL
	charset   string
	collation string
	elems     []string
}

// parseColumnType reads a COLUMN_TYPE such as "varchar(50)" or "int(10) unsigned". Types the parser
// does not know (GEOMETRY, MariaDB's UUID and INET6) come back as famUnknown: the plan then compares
// them as text.
func parseColumnType(columnType, charset, collation string) colType {
	ft := table.FieldType(columnType)
	if ft == nil {
		return colType{text: columnType}
	}
	c := fromFieldType(ft)
	c.text = columnType
	if c.fam == famString {
		c.charset, c.collation = normCharset(charset), collation
	}
	return c
}

// fromFieldType reads a parsed type. Strings get no charset here: the caller resolves it.
func fromFieldType(ft *types.FieldType) colType {
	c := colType{tp: ft.GetType(), unsigned: mysql.HasUnsignedFlag(ft.GetFlag()), length: ft.GetFlen(), scale: ft.GetDecimal(), elems: ft.GetElems()}
	c.text = strings.ToLower(ft.InfoSchemaStr())
	binary := ft.GetCharset() == "binary"
	switch c.tp {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLonglong:
		c.fam = famInt
	case mysql.TypeNewDecimal:
		c.fam = famDecimal
		if c.length < 0 {
			c.length = 10 // DECIMAL means DECIMAL(10,0)
		}
		if c.scale < 0 {
			c.scale = 0
		}
	case mysql.TypeFloat, mysql.TypeDouble:
		c.fam = famFloat
	case mysql.TypeBit:
		c.fam = famBit
	case mysql.TypeVarchar, mysql.TypeVarString, mysql.TypeString:
		c.fam = famString
		if binary {
			c.fam = famBinary
		}
	case mysql.TypeTinyBlob, mysql.TypeBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		c.fam = famString
		if binary {
			c.fam = famBinary
		}
		c.length = blobBytes(c.tp)
	case mysql.TypeEnum:
		c.fam = famEnum
	case mysql.TypeSet:
		c.fam = famSet
	case mysql.TypeDate, mysql.TypeNewDate:
		c.fam = famDate
	case mysql.TypeDuration:
		c.fam = famTime
	case mysql.TypeDatetime:
		c.fam = famDatetime
	case mysql.TypeTimestamp:
		c.fam = famTimestamp
	case mysql.TypeYear:
		c.fam = famYear
	case mysql.TypeJSON:
		c.fam = famJSON
	}
	switch c.fam {
	case famTime, famDatetime, famTimestamp:
		c.length = max(c.scale, 0) // fractional seconds
		c.scale = 0
	case famInt, famFloat:
		c.length = 0 // display width means nothing for what the column holds
	}
	return c
}

func blobBytes(tp byte) int {
	switch tp {
	case mysql.TypeTinyBlob:
		return 255
	case mysql.TypeBlob:
		return 65535
	case mysql.TypeMediumBlob:
		return 16777215
	default:
		return 4294967295
	}
}

func isTextType(tp byte) bool {
	return tp == mysql.TypeTinyBlob || tp == mysql.TypeBlob || tp == mysql.TypeMediumBlob || tp == mysql.TypeLongBlob
}

// normCharset spells utf8mb3 one way: servers show "utf8" (MySQL 5.7, MariaDB before 10.6) or "utf8mb3".
func normCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

// charsetOfCollation returns the character set a collation belongs to: collation names start with it.
func charsetOfCollation(collation string) string {
	collation = strings.ToLower(collation)
	if collation == "binary" {
		return "binary"
	}
	cs, _, _ := strings.Cut(collation, "_")
	return normCharset(cs)
}

// maxBytesPerChar is the widest character of a charset; unknown charsets count as 4 so that length
// limits are judged pessimistically.
func maxBytesPerChar(charset string) int {
	switch normCharset(charset) {
	case "binary", "latin1", "latin2", "latin5", "latin7", "ascii", "cp1250", "cp1251", "cp1256", "cp1257", "cp850", "cp852", "cp866", "koi8r", "koi8u", "greek", "hebrew", "armscii8", "geostd8", "swe7", "tis620", "macce", "macroman", "keybcs2", "dec8", "hp8":
		return 1
	case "ucs2", "gbk", "big5", "sjis", "cp932", "euckr", "gb2312":
		return 2
	case "utf8mb3", "ujis", "eucjpms":
		return 3
	default:
		return 4
	}
}

var (
	unicodeFull = []string{"utf8mb4", "utf16", "utf16le", "utf32", "gb18030"}
	unicodeBMP  = []string{"utf8mb3", "ucs2"}
)

// charsetHolds reports whether every character of from can be stored in to.
func charsetHolds(to, from string) bool {
	to, from = normCharset(to), normCharset(from)
	switch {
	case to == from:
		return true
	case from == "binary":
		return false // arbitrary bytes need not be valid text in any charset
	case slices.Contains(unicodeFull, to):
		return true
	case slices.Contains(unicodeBMP, to):
		return !slices.Contains(unicodeFull, from)
	case to == "latin1":
		return from == "ascii"
	}
	return false
}

// maxChars is how many characters a string column holds in the worst case.
func (c colType) maxChars() int {
	if isTextType(c.tp) {
		return c.length / maxBytesPerChar(c.charset)
	}
	return c.length
}

// maxBytes is the most bytes a string or binary column's value takes.
func (c colType) maxBytes() int {
	if c.fam == famBinary || isTextType(c.tp) {
		return c.length
	}
	return c.length * maxBytesPerChar(c.charset)
}

func intBytes(tp byte) int {
	switch tp {
	case mysql.TypeTiny:
		return 1
	case mysql.TypeShort:
		return 2
	case mysql.TypeInt24:
		return 3
	case mysql.TypeLong:
		return 4
	default:
		return 8
	}
}

// intDigits is how many decimal digits the integer type needs at most.
func intDigits(tp byte) int {
	return [...]int{1: 3, 2: 5, 3: 8, 4: 10, 8: 20}[intBytes(tp)]
}

// intHolds reports whether integer type to holds every value of from.
func intHolds(to, from colType) bool {
	tb, fb := intBytes(to.tp), intBytes(from.tp)
	switch {
	case to.unsigned == from.unsigned:
		return tb >= fb
	case from.unsigned: // unsigned into signed needs one more byte's worth of room
		return tb > fb
	default: // signed into unsigned loses the negatives
		return false
	}
}

// enumBytes is the storage size of an ENUM or SET with n members.
func enumBytes(fam family, n int) int {
	if fam == famEnum {
		if n > 255 {
			return 2
		}
		return 1
	}
	b := (n + 7) / 8
	if b > 4 {
		return 8
	}
	if b == 0 {
		return 1
	}
	return b
}

// typeChange is what changing a column from one type to another means.
type typeChange struct {
	ops    []op
	risk   Risk
	reason string
	// incompatible changes need expand-contract: the application reads and writes the values differently.
	incompatible bool
}

// compareTypes says what changing column type old into new does. indexed tells whether some index uses
// the column, rowFormat is the table's.
func compareTypes(old, new colType, indexed bool, rowFormat string) typeChange {
	if old.fam == famUnknown || new.fam == famUnknown {
		if strings.EqualFold(old.text, new.text) {
			return typeChange{}
		}
		return typeChange{ops: []op{opChangeType}, risk: NeedsCare, incompatible: true,
			reason: fmt.Sprintf("changes type %s to %s, which the plan cannot compare", old.text, new.text)}
	}
	if sameType(old, new) {
		if old.fam == famString && (old.charset != new.charset || !strings.EqualFold(old.collation, new.collation)) {
			return charsetChange(old, new, indexed)
		}
		return typeChange{}
	}
	change := func(r Risk, incompatible bool, format string, args ...any) typeChange {
		return typeChange{ops: []op{opChangeType}, risk: r, incompatible: incompatible, reason: fmt.Sprintf(format, args...)}
	}
	widens := fmt.Sprintf("widens %s to %s", old.text, new.text)
	switch {
	case old.fam == famInt && new.fam == famInt:
		if intHolds(new, old) {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "narrows %s to %s: values out of the new range are lost", old.text, new.text)
	case old.fam == famDecimal && new.fam == famDecimal:
		if new.scale >= old.scale && new.length-new.scale >= old.length-old.scale && (!new.unsigned || old.unsigned) {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "narrows %s to %s: digits or signs that do not fit are lost", old.text, new.text)
	case old.fam == famInt && new.fam == famDecimal:
		if new.length-new.scale >= intDigits(old.tp) && (!new.unsigned || old.unsigned) {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "changes %s to %s: large values do not fit", old.text, new.text)
	case old.fam == famFloat && new.fam == famFloat:
		if new.tp == mysql.TypeDouble || old.tp == mysql.TypeFloat {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "narrows %s to %s: values are rounded", old.text, new.text)
	case (old.fam == famInt || old.fam == famDecimal) && new.fam == famFloat:
		if old.fam == famInt && intBytes(old.tp) <= 4 && new.tp == mysql.TypeDouble {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "changes %s to %s: floating point rounds some values", old.text, new.text)
	case (old.fam == famInt || old.fam == famDecimal || old.fam == famFloat) && new.fam == famString:
		need := 24 // a DOUBLE's longest text
		if old.fam == famInt {
			need = intDigits(old.tp) + 1
		} else if old.fam == famDecimal {
			need = old.length + 2
		}
		if new.maxChars() >= need {
			return change(NeedsCare, true, "changes %s to %s: numbers become text, so sorting and comparisons change", old.text, new.text)
		}
		return change(DataLoss, true, "changes %s to %s: long numbers do not fit", old.text, new.text)
	case old.fam == famString && new.fam == famString:
		return stringChange(old, new, indexed, rowFormat)
	case old.fam == famBinary && new.fam == famBinary:
		return binaryChange(old, new, rowFormat)
	case (old.fam == famEnum || old.fam == famSet) && old.fam == new.fam:
		return enumChange(old, new)
	case old.fam == famEnum && new.fam == famString:
		longest := 0
		for _, e := range old.elems {
			longest = max(longest, len([]rune(e)))
		}
		if new.maxChars() >= longest {
			return change(NeedsCare, true, "changes %s to %s: the values stay, the constraint on them goes", old.text, new.text)
		}
		return change(DataLoss, true, "changes %s to %s: long members do not fit", old.text, new.text)
	case old.fam == famDate && (new.fam == famDatetime):
		return change(Safe, false, "%s", widens)
	case (old.fam == famDatetime || old.fam == famTimestamp || old.fam == famTime) && old.fam == new.fam:
		if new.length >= old.length {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "narrows %s to %s: fractional seconds are rounded", old.text, new.text)
	case old.fam == famTimestamp && new.fam == famDatetime:
		if new.length >= old.length {
			return change(NeedsCare, true, "changes %s to %s: values stop following the session time zone", old.text, new.text)
		}
		return change(DataLoss, true, "changes %s to %s: fractional seconds are rounded", old.text, new.text)
	case old.fam == famDatetime && new.fam == famTimestamp:
		return change(DataLoss, true, "changes %s to %s: TIMESTAMP holds only 1970 to 2038", old.text, new.text)
	case old.fam == famJSON && new.fam == famString && isTextType(new.tp) && new.length >= blobBytes(mysql.TypeLongBlob):
		return change(NeedsCare, true, "changes %s to %s: documents become plain text", old.text, new.text)
	case old.fam == famBit && new.fam == famBit:
		if new.length >= old.length {
			return change(Safe, false, "%s", widens)
		}
		return change(DataLoss, true, "narrows %s to %s: high bits are lost", old.text, new.text)
	}
	return change(DataLoss, true, "changes type incompatibly from %s to %s: values that do not convert are lost", old.text, new.text)
}

func sameType(a, b colType) bool {
	return a.fam == b.fam && a.tp == b.tp && a.unsigned == b.unsigned && a.length == b.length && a.scale == b.scale && slices.Equal(a.elems, b.elems)
}

// charsetChange is a change of charset or collation alone.
func charsetChange(old, new colType, indexed bool) typeChange {
	cheap := opCharsetNoIndex
	if indexed {
		cheap = opCharsetIndexed
	}
	switch {
	case old.charset == new.charset:
		return typeChange{ops: []op{cheap}, risk: NeedsCare,
			reason: fmt.Sprintf("changes collation %s to %s: comparisons, sorting and uniqueness change", old.collation, new.collation)}
	case old.charset == "utf8mb3" && new.charset == "utf8mb4":
		return typeChange{ops: []op{cheap}, risk: Safe, reason: "converts utf8mb3 to utf8mb4, which holds every value"}
	case charsetHolds(new.charset, old.charset):
		return typeChange{ops: []op{opChangeType}, risk: Safe, reason: fmt.Sprintf("converts %s to %s, which holds every value", old.charset, new.charset)}
	}
	return typeChange{ops: []op{opChangeType}, risk: DataLoss, incompatible: true,
		reason: fmt.Sprintf("converts %s to %s: characters %s cannot store are lost", old.charset, new.charset, new.charset)}
}

func stringChange(old, new colType, indexed bool, rowFormat string) typeChange {
	var tc typeChange
	if old.charset != new.charset || !strings.EqualFold(old.collation, new.collation) {
		tc = charsetChange(old, new, indexed)
		// The length changes too, so the conversion is a full type change whatever the charset.
		tc.ops = []op{opChangeType}
	}
	switch {
	case new.maxChars() < old.maxChars():
		return worse(tc, typeChange{ops: []op{opChangeType}, risk: DataLoss, incompatible: true,
			reason: fmt.Sprintf("narrows %s to %s: longer values do not fit", old.text, new.text)})
	case old.tp == mysql.TypeVarchar && new.tp == mysql.TypeString:
		return worse(tc, typeChange{ops: []op{opChangeType}, risk: NeedsCare, incompatible: true,
			reason: fmt.Sprintf("changes %s to %s: CHAR drops trailing spaces", old.text, new.text)})
	case old.tp == mysql.TypeVarchar && new.tp == mysql.TypeVarchar && tc.ops == nil:
		return typeChange{ops: []op{varcharExtension(old.maxBytes(), new.maxBytes(), rowFormat)}, risk: Safe,
			reason: fmt.Sprintf("widens %s to %s", old.text, new.text)}
	}
	return worse(tc, typeChange{ops: []op{opChangeType}, risk: Safe, reason: fmt.Sprintf("widens %s to %s", old.text, new.text)})
}

func binaryChange(old, new colType, rowFormat string) typeChange {
	switch {
	case new.maxBytes() < old.maxBytes():
		return typeChange{ops: []op{opChangeType}, risk: DataLoss, incompatible: true,
			reason: fmt.Sprintf("narrows %s to %s: longer values do not fit", old.text, new.text)}
	case old.tp == mysql.TypeVarchar && new.tp == mysql.TypeString:
		return typeChange{ops: []op{opChangeType}, risk: NeedsCare, incompatible: true,
			reason: fmt.Sprintf("changes %s to %s: BINARY pads values with zero bytes", old.text, new.text)}
	case old.tp == mysql.TypeVarchar && new.tp == mysql.TypeVarchar:
		return typeChange{ops: []op{varcharExtension(old.maxBytes(), new.maxBytes(), rowFormat)}, risk: Safe,
			reason: fmt.Sprintf("widens %s to %s", old.text, new.text)}
	}
	return typeChange{ops: []op{opChangeType}, risk: Safe, reason: fmt.Sprintf("widens %s to %s", old.text, new.text)}
}

// varcharExtension picks the op for making a VARCHAR longer. InnoDB stores the length of values in one
// byte up to 255 bytes and in two beyond, so staying on one side is cheap everywhere; crossing is cheap
// only on MariaDB 10.4.3+ and only from at most 127 bytes or in ROW_FORMAT=REDUNDANT.
func varcharExtension(oldBytes, newBytes int, rowFormat string) op {
	if (oldBytes <= 255) == (newBytes <= 255) {
		return opExtendVarchar
	}
	if oldBytes <= 127 || strings.EqualFold(rowFormat, "REDUNDANT") {
		return opExtendVarcharShort
	}
	return opChangeType
}

func enumChange(old, new colType) typeChange {
	kind := "ENUM"
	if old.fam == famSet {
		kind = "SET"
	}
	for _, e := range old.elems {
		if !slices.ContainsFunc(new.elems, func(n string) bool { return strings.EqualFold(n, e) }) {
			return typeChange{ops: []op{opChangeType}, risk: DataLoss, incompatible: true,
				reason: fmt.Sprintf("removes %s member '%s': rows holding it lose the value", kind, e)}
		}
	}
	if len(new.elems) >= len(old.elems) && slices.Equal(new.elems[:len(old.elems)], old.elems) {
		o := opEnumAppend
		if enumBytes(old.fam, len(old.elems)) != enumBytes(new.fam, len(new.elems)) {
			o = opChangeType
		}
		return typeChange{ops: []op{o}, risk: Safe, reason: fmt.Sprintf("appends %s members", kind)}
	}
	return typeChange{ops: []op{opChangeType}, risk: NeedsCare, incompatible: true,
		reason: fmt.Sprintf("reorders %s members: sorting and numeric comparisons change", kind)}
}

// worse combines two findings about one change, keeping the riskier reason first.
func worse(a, b typeChange) typeChange {
	if a.ops == nil {
		return b
	}
	if b.risk > a.risk {
		a, b = b, a
	}
	a.reason += "; " + b.reason
	a.incompatible = a.incompatible || b.incompatible
	return a
}
