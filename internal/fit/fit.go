// Package fit counts the rows whose values the altered table cannot hold: NULLs in a column that
// becomes NOT NULL, values a narrower type cannot store (numbers out of range, strings too long,
// characters the new character set lacks, ENUM and SET values that are no longer members, dates
// outside TIMESTAMP's range) and rows a CHECK constraint refuses. doppel copies under a strict
// sql_mode, so each such row would stop the copy after the ghost table exists; counting them first
// lets the migration be refused before anything is created, with the count and the server's own
// reason.
//
// Each class of conversion has an exact condition: true for exactly the values the server refuses
// to store in the new column under doppel's sql_mode (STRICT_ALL_TABLES), as the tests check
// against the server, value by value. All conditions are summed in one read of the table, and only
// the columns whose definition changes in a way that can fail get one. A conversion without an exact
// condition is not guessed at: it is reported as Unchecked, and a value it cannot convert stops the
// copy (after the ghost exists, which doppel then drops).
package fit

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Flavor is what the conditions need to know of the server.
type Flavor struct {
	// RoundsFractions is true on MySQL, which rounds a fraction of a second that a smaller precision
	// cuts; MariaDB truncates it.
	RoundsFractions bool
	// TimestampEnd is the first instant (UTC) past TIMESTAMP's range: 2038-01-19 03:14:08, or on
	// 64-bit MariaDB 11.5 and later 2106-02-07 06:28:16.
	TimestampEnd string
	// TimeZone is the zone a native ALTER reads a DATE or DATETIME in when it makes it a TIMESTAMP:
	// the server's default ("" for UTC, doppel's sessions' own).
	TimeZone string
}

// TimestampEnd2038 and TimestampEnd2106 are the ends of TIMESTAMP's range.
const (
	TimestampEnd2038 = "2038-01-19 03:14:08"
	TimestampEnd2106 = "2106-02-07 06:28:16"
)

// Config is what Plan compares.
type Config struct {
	Orig, Ghost *table.Table
	Mapping     table.Mapping
	// OrigChecks and GhostChecks are the CHECK constraints of both tables (ReadChecks).
	OrigChecks, GhostChecks []Check
	Flavor                  Flavor
}

// Cond is one class of rows the altered table cannot hold.
type Cond struct {
	// Column is the ghost column; empty for a CHECK constraint.
	Column string
	// Check is the CHECK constraint's name, for a constraint.
	Check string
	// What says what the rows hold, in an operator's words.
	What string
	// SQL is true for a row that cannot be stored. It reads the columns of Source (the original's
	// values under the ghost's column names).
	SQL string
}

// Unchecked is a copied column, or a CHECK constraint, doppel has no exact condition for.
type Unchecked struct {
	Column string // or the CHECK constraint, as "CHECK name"
	Why    string
}

// Plan returns the conditions to count, and what it cannot count.
func Plan(cfg Config) ([]Cond, []Unchecked) {
	var conds []Cond
	var skipped []Unchecked
	for _, p := range cfg.Mapping.Copied {
		cs, why := columnConds(p.Orig, p.Ghost, cfg.Flavor)
		conds = append(conds, cs...)
		if why != "" {
			skipped = append(skipped, Unchecked{Column: p.Ghost.Name, Why: why})
		}
	}
	cs, sk := checkConds(cfg)
	return append(conds, cs...), append(skipped, sk...)
}

// changed reports whether the ALTER changes how p's values are stored.
func changed(p table.Pair) bool {
	o, g := p.Orig, p.Ghost
	return o.DataType != g.DataType || !strings.EqualFold(o.ColumnType, g.ColumnType) ||
		o.Charset != g.Charset || o.Collation != g.Collation
}

// checkConds returns a condition for each CHECK constraint of the ghost that rows of the original
// may violate: one the original does not have, or one that reads a column whose type changes. Such a
// condition is evaluated on the original's values, under the ghost's column names.
func checkConds(cfg Config) ([]Cond, []Unchecked) {
	had := map[string]bool{}
	for _, c := range cfg.OrigChecks {
		had[c.Expr] = true
	}
	var conds []Cond
	var skipped []Unchecked
	for _, c := range cfg.GhostChecks {
		readsChanged, readsCopied := false, true
		for _, col := range c.Columns {
			p := cfg.Mapping.ByGhost(col)
			if p == nil {
				readsCopied = false
				continue
			}
			readsChanged = readsChanged || changed(*p)
		}
		if had[c.Expr] && !readsChanged {
			continue
		}
		if !readsCopied {
			skipped = append(skipped, Unchecked{Column: "CHECK " + c.Name,
				Why: "it reads a column the copy does not fill (added, or generated): its rows are checked as they are copied"})
			continue
		}
		conds = append(conds, Cond{Check: c.Name, What: "values that violate CHECK (" + c.Expr + ")", SQL: "NOT (" + c.Expr + ")"})
	}
	return conds, skipped
}

// columnConds returns the conditions for one copied column, and why its values are not checked when
// doppel has no exact condition for its conversion.
func columnConds(o, g *table.Column, f Flavor) ([]Cond, string) {
	ref := sqlbuild.QuoteIdent(g.Name)
	var conds []Cond
	// An AUTO_INCREMENT column numbers a NULL, as a native ALTER does.
	if o.Nullable && !g.Nullable && !g.AutoInc {
		conds = append(conds, Cond{Column: g.Name, What: "NULL, which the column no longer allows (NOT NULL)", SQL: ref + " IS NULL"})
	}
	if !changed(table.Pair{Orig: o, Ghost: g}) {
		return conds, ""
	}
	vc, why := valueConds(o, g, ref, f)
	for _, c := range vc {
		c.Column = g.Name
		conds = append(conds, c)
	}
	return conds, why
}

// noRule is the reason given for a conversion without an exact condition.
func noRule(o, g *table.Column) string {
	return fmt.Sprintf("doppel has no exact condition for %s → %s: a value that does not convert stops the copy", o.ColumnType, g.ColumnType)
}

// valueConds dispatches on the ghost's type.
func valueConds(o, g *table.Column, ref string, f Flavor) ([]Cond, string) {
	switch {
	case g.IsInteger():
		return intConds(o, g, ref)
	case g.DataType == "decimal":
		return decimalConds(o, g, ref)
	case g.IsReal():
		return floatConds(o, g, ref)
	case g.IsText():
		return textConds(o, g, ref)
	case g.IsBinaryString():
		return binaryConds(o, g, ref)
	case g.DataType == "enum" || g.DataType == "set":
		return memberConds(o, g, ref)
	case isTemporal(g):
		return temporalConds(o, g, ref, f)
	case g.DataType == "bit":
		return bitConds(o, g, ref)
	case g.DataType == "json":
		switch {
		case o.DataType == "json":
			return nil, ""
		case o.IsText():
			return []Cond{{What: "text that is not valid JSON", SQL: "NOT JSON_VALID(" + ref + ")"}}, ""
		}
	}
	return nil, noRule(o, g)
}

// within reports whether [lo, hi] lies inside [glo, ghi].
func within(lo, hi, glo, ghi *big.Int) bool { return lo.Cmp(glo) >= 0 && hi.Cmp(ghi) <= 0 }

// rangeCond is "expr < lo OR expr > hi", with only the sides that can be true (nil source bounds:
// both).
func rangeCond(expr string, lo, hi *big.Int, srcLo, srcHi *big.Int) string {
	var parts []string
	if srcLo == nil || srcLo.Cmp(lo) < 0 {
		parts = append(parts, fmt.Sprintf("%s < %s", expr, lo))
	}
	if srcHi == nil || srcHi.Cmp(hi) > 0 {
		parts = append(parts, fmt.Sprintf("%s > %s", expr, hi))
	}
	return strings.Join(parts, " OR ")
}

func outOfRange(g *table.Column, sql string) []Cond {
	if sql == "" {
		return nil
	}
	return []Cond{{What: "values outside the range of " + strings.ToUpper(g.ColumnType), SQL: sql}}
}

// intConds: integers are stored if they are in range; DECIMAL and FLOAT values are rounded first
// (DECIMAL half away from zero, as ROUND does; FLOAT to even, as ROUND does for a FLOAT), but a
// negative DECIMAL is refused by an UNSIGNED column even when it rounds to 0.
func intConds(o, g *table.Column, ref string) ([]Cond, string) {
	lo, hi := numericBounds(g)
	switch {
	case o.IsInteger(), o.DataType == "year":
		slo, shi := numericBounds(o)
		return outOfRange(g, rangeCond(ref, lo, hi, slo, shi)), ""
	case o.DataType == "bit":
		slo, shi := numericBounds(o)
		return outOfRange(g, rangeCond("CAST("+ref+" AS UNSIGNED)", lo, hi, slo, shi)), ""
	case o.DataType == "decimal":
		slo, shi := numericBounds(o)
		if within(slo, shi, lo, hi) {
			return nil, ""
		}
		var parts []string
		if g.Unsigned && !o.Unsigned {
			parts = append(parts, ref+" < 0")
		}
		if !g.Unsigned && slo.Cmp(lo) < 0 {
			parts = append(parts, fmt.Sprintf("ROUND(%s) < %s", ref, lo))
		}
		if shi.Cmp(hi) > 0 {
			parts = append(parts, fmt.Sprintf("ROUND(%s) > %s", ref, hi))
		}
		return outOfRange(g, strings.Join(parts, " OR ")), ""
	case o.IsReal():
		// The bounds are compared as FLOATs, as the server compares them: 2^63-1 is 2^63, which
		// BIGINT takes (as its largest value).
		return outOfRange(g, rangeCond("ROUND("+ref+")", lo, hi, nil, nil)), ""
	}
	return nil, noRule(o, g)
}

// decimalConds: a value is rounded to the scale, then must have fewer integer digits than the
// precision allows; an UNSIGNED DECIMAL refuses every negative value.
func decimalConds(o, g *table.Column, ref string) ([]Cond, string) {
	limit := pow10(g.Precision - g.Scale)
	negLimit := new(big.Int).Neg(limit)
	var expr string
	var slo, shi *big.Int
	switch {
	case o.IsInteger(), o.DataType == "year":
		expr = ref
		slo, shi = numericBounds(o)
	case o.DataType == "bit":
		expr = "CAST(" + ref + " AS UNSIGNED)"
		slo, shi = numericBounds(o)
	case o.DataType == "decimal":
		expr = fmt.Sprintf("ROUND(%s, %d)", ref, g.Scale)
		// Without rounding (no scale lost) the largest value stays below its power of ten.
		if o.Scale <= g.Scale {
			shi = new(big.Int).Sub(pow10(o.Precision-o.Scale), big.NewInt(1))
			slo = new(big.Int).Neg(shi)
			if o.Unsigned {
				slo = big.NewInt(0)
			}
		} else {
			slo, shi = numericBounds(o)
		}
	case o.IsReal():
		expr = fmt.Sprintf("ROUND(%s, %d)", ref, g.Scale)
	default:
		return nil, noRule(o, g)
	}
	var parts []string
	if g.Unsigned && (slo == nil || slo.Sign() < 0) {
		parts = append(parts, ref+" < 0")
	}
	if !g.Unsigned && (slo == nil || slo.Cmp(negLimit) <= 0) {
		parts = append(parts, fmt.Sprintf("%s <= %s", expr, negLimit))
	}
	if shi == nil || shi.Cmp(limit) >= 0 {
		parts = append(parts, fmt.Sprintf("%s >= %s", expr, limit))
	}
	return outOfRange(g, strings.Join(parts, " OR ")), ""
}

// floatMax is the largest FLOAT.
const floatMax = "3.4028234663852886e38"

// floatConds: a FLOAT holds up to about 3.4e38, a DOUBLE any number. FLOAT(M,D) and DOUBLE(M,D)
// round to D decimals and limit the digits: no condition is known for those.
func floatConds(o, g *table.Column, ref string) ([]Cond, string) {
	if _, hasDecimals := typeLength(g); hasDecimals {
		return nil, noRule(o, g)
	}
	isFloat32 := g.DataType == "float"
	switch {
	case o.IsInteger(), o.DataType == "year", o.DataType == "bit":
		return nil, ""
	case o.DataType == "decimal":
		if !isFloat32 || o.Precision-o.Scale <= 38 {
			return nil, ""
		}
	case o.IsReal():
		if !isFloat32 || o.DataType == "float" {
			return nil, ""
		}
	default:
		return nil, noRule(o, g)
	}
	return outOfRange(g, fmt.Sprintf("%s > %s OR %s < -%s", ref, floatMax, ref, floatMax)), ""
}

// asText returns the expression whose characters are what a value of o becomes as text, and
// whether its characters can be outside the ghost's character set.
func asText(o, g *table.Column, ref string) (expr string, ok bool) {
	switch {
	case o.IsText(), o.DataType == "enum", o.DataType == "set":
		return ref, true
	case o.IsBinaryString():
		return fmt.Sprintf("CONVERT(%s USING %s)", ref, g.Charset), true
	case o.IsInteger(), o.DataType == "decimal", o.DataType == "date", o.DataType == "datetime",
		o.DataType == "timestamp", o.DataType == "time", o.DataType == "year":
		return ref, true
	}
	return "", false
}

// textConds: the characters must exist in the ghost's character set (a character that does not
// converts to '?', so a round trip changes the value), and fit its length: characters for CHAR and
// VARCHAR, bytes for the TEXT types. A number or a date becomes the text the server prints for it
// (a ZEROFILL integer with its zeros, as the native ALTER writes it).
func textConds(o, g *table.Column, ref string) ([]Cond, string) {
	if !sqlbuild.IsWord(g.Charset) || o.Charset != "" && !sqlbuild.IsWord(o.Charset) {
		return nil, noRule(o, g)
	}
	expr, ok := asText(o, g, ref)
	if !ok {
		return nil, noRule(o, g)
	}
	var conds []Cond
	lacks := Cond{What: "characters that " + g.Charset + " cannot store"}
	switch {
	case o.IsBinaryString():
		lacks.What = "bytes that are not valid " + g.Charset + " text"
		lacks.SQL = fmt.Sprintf("CAST(%s AS BINARY) <> %s", expr, ref)
	case o.Charset != "" && !holdsAll(g.Charset, o.Charset):
		lacks.SQL = fmt.Sprintf("CAST(CONVERT(CONVERT(%s USING %s) USING %s) AS BINARY) <> CAST(%s AS BINARY)", ref, g.Charset, o.Charset, ref)
	}
	if lacks.SQL != "" {
		conds = append(conds, lacks)
	}
	// Spaces past the length are cut with a note, except by a native ALTER from a VARCHAR to a
	// VARCHAR of the same collation, which copies the bytes and refuses any it cuts.
	trimmed := "TRIM(TRAILING ' ' FROM " + expr + ")"
	if o.DataType == "varchar" && g.DataType == "varchar" && o.Collation == g.Collation {
		trimmed = expr
	}
	if isCharText(g) {
		n, _ := typeLength(g)
		if src := maxChars(o); src == 0 || src > int64(n) {
			conds = append(conds, Cond{What: fmt.Sprintf("values longer than %d characters", n), SQL: fmt.Sprintf("CHAR_LENGTH(%s) > %d", trimmed, n)})
		}
		return conds, ""
	}
	limit := byteLimit(g)
	var src int64
	switch {
	case o.IsText() && strings.EqualFold(o.Charset, g.Charset):
		src = byteLimit(o)
	default:
		src = maxChars(o) * maxBytesPerChar(g.Charset)
	}
	if src == 0 || src > limit {
		conv := trimmed
		if o.Charset == "" || !strings.EqualFold(o.Charset, g.Charset) {
			conv = fmt.Sprintf("TRIM(TRAILING ' ' FROM CONVERT(%s USING %s))", expr, g.Charset)
		}
		conds = append(conds, Cond{What: fmt.Sprintf("values longer than %d bytes", limit), SQL: fmt.Sprintf("OCTET_LENGTH(%s) > %d", conv, limit)})
	}
	return conds, ""
}

// binaryConds: a binary string keeps the bytes of the value (text in its own character set), and
// every byte past the length is refused, trailing spaces and zero bytes included.
func binaryConds(o, g *table.Column, ref string) ([]Cond, string) {
	var expr string
	var src int64
	switch {
	case o.IsBinaryString(), o.IsText():
		expr, src = ref, byteLimit(o)
	default:
		e, ok := asText(o, g, ref)
		if !ok || o.DataType == "enum" || o.DataType == "set" {
			return nil, noRule(o, g)
		}
		expr, src = e, maxChars(o)
	}
	limit := byteLimit(g)
	if src != 0 && src <= limit {
		return nil, ""
	}
	return []Cond{{What: fmt.Sprintf("values longer than %d bytes", limit), SQL: fmt.Sprintf("OCTET_LENGTH(%s) > %d", expr, limit)}}, ""
}

// memberConds: ENUM and SET values are assigned by name, compared in the ghost's collation; an
// integer assigned to an ENUM is a member's position.
func memberConds(o, g *table.Column, ref string) ([]Cond, string) {
	if !sqlbuild.IsWord(g.Charset) || !sqlbuild.IsWord(g.Collation) {
		return nil, noRule(o, g)
	}
	list := make([]string, len(g.Elems))
	for i, e := range g.Elems {
		list[i] = sqlbuild.QuoteString(e)
	}
	notMember := func(expr string) string {
		return fmt.Sprintf("CONVERT(%s USING %s) COLLATE %s NOT IN (%s)", expr, g.Charset, g.Collation, strings.Join(list, ", "))
	}
	what := "values that are not members of " + g.ColumnType
	switch {
	case g.DataType == "enum" && o.DataType == "enum":
		// The empty string of an invalid ENUM value (number 0) is copied as it is.
		return []Cond{{What: what, SQL: fmt.Sprintf("%s + 0 <> 0 AND %s", ref, notMember(ref))}}, ""
	case g.DataType == "enum" && o.DataType == "set":
		return []Cond{{What: what, SQL: notMember(ref)}}, ""
	case g.DataType == "enum" && o.IsInteger():
		return []Cond{{What: what, SQL: fmt.Sprintf("%s < 1 OR %s > %d", ref, ref, len(g.Elems))}}, ""
	case g.DataType == "set" && o.DataType == "enum":
		return []Cond{{What: what, SQL: fmt.Sprintf("%s <> '' AND %s", ref, notMember(ref))}}, ""
	case g.DataType == "set" && o.DataType == "set":
		// A member present as it is needs no test; the others are tested by the server in the
		// ghost's collation, once per member (a constant), against the value's bit.
		var parts []string
		for i, e := range o.Elems {
			if slices.Contains(g.Elems, e) {
				continue
			}
			parts = append(parts, fmt.Sprintf("(%s + 0) & %d <> 0 AND %s", ref, uint64(1)<<i, notMember(sqlbuild.QuoteString(e))))
		}
		if len(parts) == 0 {
			return nil, ""
		}
		return []Cond{{What: what, SQL: "(" + strings.Join(parts, ") OR (") + ")"}}, ""
	}
	return nil, noRule(o, g)
}

// temporalConds: DATE, DATETIME and TIME values convert among themselves without an error (a lost
// time or fraction is a note); a TIMESTAMP refuses what falls outside its range once its fraction
// is cut (MariaDB) or rounded (MySQL), and a zero month or day, but keeps the zero date (doppel's
// sql_mode allows it). Sessions run at time zone +00:00, so the range is compared in UTC. YEAR
// takes integers 0-99 and 1901-2155.
func temporalConds(o, g *table.Column, ref string, f Flavor) ([]Cond, string) {
	switch g.DataType {
	case "timestamp":
		if o.DataType != "date" && o.DataType != "datetime" && o.DataType != "timestamp" {
			return nil, noRule(o, g)
		}
		return []Cond{{What: "dates outside TIMESTAMP's range (after 1970-01-01 00:00:00, before " + f.TimestampEnd + " UTC) or with a zero month or day",
			SQL: timestampCond(o, g, ref, f)}}, ""
	case "date", "datetime", "time":
		if isTemporal(o) && o.DataType != "year" {
			return nil, ""
		}
	case "year":
		switch {
		case o.DataType == "year":
			return nil, ""
		case o.IsInteger():
			return outOfRange(g, fmt.Sprintf("NOT (%s BETWEEN 0 AND 99 OR %s BETWEEN 1901 AND 2155)", ref, ref)), ""
		}
	}
	return nil, noRule(o, g)
}

// timestampCond is the condition for a DATE, DATETIME or TIMESTAMP value assigned to a TIMESTAMP.
func timestampCond(o, g *table.Column, ref string, f Flavor) string {
	first, end := "1970-01-01 00:00:01", f.TimestampEnd
	switch {
	case f.RoundsFractions && o.FSP > g.FSP:
		// The values that round to the first and to the end.
		half := "." + strings.Repeat("9", int(g.FSP)) + "5"
		first, end = "1970-01-01 00:00:00"+half, timeBefore(end)+half
	case !f.RoundsFractions && g.FSP > 0:
		// After 00:00:00, by at least the smallest fraction the column keeps.
		first = "1970-01-01 00:00:00." + strings.Repeat("0", int(g.FSP)-1) + "1"
	}
	zero := "0000-00-00 00:00:00"
	if o.DataType == "date" {
		zero = "0000-00-00"
	}
	// The range is TIMESTAMP's in UTC; a DATE or DATETIME is a time in the session's zone.
	utc := ref
	if f.TimeZone != "" && o.DataType != "timestamp" {
		utc = fmt.Sprintf("CONVERT_TZ(%s, %s, '+00:00')", ref, sqlbuild.QuoteString(f.TimeZone))
	}
	return fmt.Sprintf("%s <> '%s' AND (%s < '%s' OR %s >= '%s' OR MONTH(%s) = 0 OR DAYOFMONTH(%s) = 0)",
		ref, zero, utc, first, utc, end, ref, ref)
}

// timeBefore returns the second before t ("2038-01-19 03:14:08" → "2038-01-19 03:14:07"), for
// the ends of TIMESTAMP's range, which never fall on a minute.
func timeBefore(t string) string {
	sec := t[len(t)-2:]
	n := int(sec[0]-'0')*10 + int(sec[1]-'0') - 1
	return fmt.Sprintf("%s%02d", t[:len(t)-2], n)
}

// bitConds: a BIT(m) holds m bits; a negative integer is all ones in 64 bits.
func bitConds(o, g *table.Column, ref string) ([]Cond, string) {
	m, _ := typeLength(g)
	if m <= 0 || m >= 64 {
		if o.IsInteger() || o.DataType == "bit" {
			return nil, ""
		}
		return nil, noRule(o, g)
	}
	limit := new(big.Int).Lsh(big.NewInt(1), uint(m))
	hi := new(big.Int).Sub(limit, big.NewInt(1))
	switch {
	case o.DataType == "bit":
		_, shi := numericBounds(o)
		if shi.Cmp(hi) <= 0 {
			return nil, ""
		}
		return outOfRange(g, fmt.Sprintf("CAST(%s AS UNSIGNED) > %s", ref, hi)), ""
	case o.IsInteger():
		slo, shi := numericBounds(o)
		return outOfRange(g, rangeCond(ref, big.NewInt(0), hi, slo, shi)), ""
	}
	return nil, noRule(o, g)
}
