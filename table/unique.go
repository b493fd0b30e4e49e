package table

import (
	"fmt"
	"slices"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// UniqueChange is a unique key of the altered table that the original does not already enforce: a
// new UNIQUE key, or one whose columns change type, collation or prefix. Copying rows into such a key
// would drop or merge rows that collide under it, silently.
type UniqueChange struct {
	Ghost *Index
	Why   string
}

// UniqueChanges lists the ghost's unique keys that no unique key of the original already guarantees.
// A ghost key is guaranteed when some original unique key uses a subset of its columns, each one
// keeping its values distinct (see keepsDistinct) and no shorter prefix, or when one of its columns
// is an AUTO_INCREMENT column the ALTER adds: the ghost numbers the rows as they arrive, so no two
// rows share a number.
func UniqueChanges(orig, ghost *Table, m Mapping) []UniqueChange {
	var out []UniqueChange
	for i := range ghost.Indexes {
		gix := &ghost.Indexes[i]
		if !gix.Unique {
			continue
		}
		if why := notGuaranteed(gix, orig, ghost, m); why != "" {
			out = append(out, UniqueChange{Ghost: gix, Why: why})
		}
	}
	return out
}

func notGuaranteed(gix *Index, orig, ghost *Table, m Mapping) string {
	if gix.Expression {
		return "it has a functional key part"
	}
	for _, gc := range gix.Columns {
		if c := ghost.Column(gc.Name); c != nil && c.AutoInc && gc.SubPart == 0 && m.ByGhost(gc.Name) == nil {
			return ""
		}
	}
	for i := range orig.Indexes {
		oix := &orig.Indexes[i]
		if oix.Unique && !oix.Expression && covers(oix, gix, m) {
			return ""
		}
	}
	if orig.Index(gix.Name) != nil && orig.Index(gix.Name).Unique {
		return "its columns change in a way that can make distinct values equal"
	}
	return "it is a new unique key"
}

// covers reports whether uniqueness under oix implies uniqueness under gix.
func covers(oix, gix *Index, m Mapping) bool {
	for _, oc := range oix.Columns {
		p := m.ByOrig(oc.Name)
		if p == nil {
			return false
		}
		found := false
		for _, gc := range gix.Columns {
			if !strings.EqualFold(gc.Name, p.Ghost.Name) {
				continue
			}
			prefixOK := gc.SubPart == 0 || (oc.SubPart > 0 && gc.SubPart >= oc.SubPart)
			found = prefixOK && keepsDistinct(p)
		}
		if !found {
			return false
		}
	}
	return true
}

// keepsDistinct reports whether two different values of p.Orig stay different in p.Ghost. Integers
// of any width and sign do: a value the ghost's type cannot hold (a negative one in an UNSIGNED
// column, one past a narrower type's range) refuses the migration before anything is created
// (package fit counts them), and every other value is stored as it is. Text keeps its values
// distinct under the same collation, or an equivalent one (SameCollation).
func keepsDistinct(p *Pair) bool {
	o, g := p.Orig, p.Ghost
	if o.IsText() || g.IsText() {
		return o.IsText() && g.IsText() && SameCollation(o.Collation, g.Collation)
	}
	if strings.EqualFold(o.ColumnType, g.ColumnType) {
		return true
	}
	switch {
	case isInteger(o.DataType) && isInteger(g.DataType):
		return true
	case o.DataType == "enum" && g.DataType == "enum":
		// Members keep their text: every member of the original is one of the ghost's.
		for _, e := range o.Elems {
			if !slices.Contains(g.Elems, e) {
				return false
			}
		}
		return true
	case o.DataType == "decimal" && g.DataType == "decimal":
		return g.Scale >= o.Scale && g.Precision-g.Scale >= o.Precision-o.Scale
	case (o.DataType == "varbinary" || o.DataType == "binary") && o.DataType == g.DataType:
		return g.OctetLen >= o.OctetLen
	case isTemporal(o.DataType) && o.DataType == g.DataType:
		return g.FSP >= o.FSP
	}
	return false
}

// SameCollation reports whether text of collation o, converted to g's character set, compares and
// sorts under g exactly as it did under o: the same collation, or the rules of the same name in
// utf8mb4 for a utf8mb3 collation (utf8mb3_general_ci → utf8mb4_general_ci, utf8_bin →
// utf8mb4_bin): utf8mb3 holds the Basic Multilingual Plane only, where both give every character the
// same place.
func SameCollation(o, g string) bool {
	o, g = strings.ToLower(o), strings.ToLower(g)
	if o == g {
		return true
	}
	rules, ok := strings.CutPrefix(o, "utf8mb3_")
	if !ok {
		rules, ok = strings.CutPrefix(o, "utf8_")
	}
	return ok && g == "utf8mb4_"+rules
}

func isTemporal(t string) bool {
	return t == "datetime" || t == "timestamp" || t == "time"
}

// DuplicatesQuery builds a query that returns a row when the original table holds two rows that would
// collide under the ghost's unique key gix (rows with a NULL in the key never collide). It evaluates
// each key column as the ghost will store it: converted to the ghost's character set and collation,
// cut to the key's prefix. It returns an error when a column's new type cannot be evaluated that way.
func DuplicatesQuery(orig *Table, gix *Index, m Mapping) (string, error) {
	var exprs, notNull []string
	for _, gc := range gix.Columns {
		p := m.ByGhost(gc.Name)
		if p == nil {
			return "", fmt.Errorf("the unique key %s uses column %s, which the original table does not have: every existing row would get the same default", gix.Name, gc.Name)
		}
		col := sqlbuild.QuoteIdent(p.Orig.Name)
		notNull = append(notNull, col+" IS NOT NULL")
		var expr string
		switch {
		case p.Ghost.IsText():
			if !sqlbuild.IsWord(p.Ghost.Charset) || !sqlbuild.IsWord(p.Ghost.Collation) {
				return "", fmt.Errorf("unexpected character set %q or collation %q", p.Ghost.Charset, p.Ghost.Collation)
			}
			expr = fmt.Sprintf("CONVERT(%s USING %s) COLLATE %s", col, p.Ghost.Charset, p.Ghost.Collation)
		case keepsDistinct(p):
			expr = col
		default:
			return "", fmt.Errorf("the unique key %s uses column %s, whose type changes from %s to %s: doppel cannot check the existing rows for duplicates under the new type. Change the column's type first, then add the key in a second migration", gix.Name, gc.Name, p.Orig.ColumnType, p.Ghost.ColumnType)
		}
		if gc.SubPart > 0 {
			expr = fmt.Sprintf("LEFT(%s, %d)", expr, gc.SubPart)
		}
		exprs = append(exprs, expr)
	}
	return fmt.Sprintf("SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING COUNT(*) > 1 LIMIT 1",
		sqlbuild.QualifiedName(orig.Schema, orig.Name), strings.Join(notNull, " AND "), strings.Join(exprs, ", ")), nil
}
