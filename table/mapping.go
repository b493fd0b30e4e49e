package table

import (
	"fmt"
	"sort"
	"strings"
)

// Pair is one column as it is in the original table and in the ghost table.
type Pair struct {
	Orig  *Column
	Ghost *Column
}

// Mapping says how the columns of the original table correspond to those of the ghost table.
type Mapping struct {
	// Copied lists, in the original's column order, the columns whose values are written into the
	// ghost: present in both tables and not generated in the ghost (the server computes those).
	Copied []Pair
	// Dropped are original columns with no ghost counterpart.
	Dropped []string
	// Added are ghost columns with no original counterpart; they get their default.
	Added []string
	// TimeZone is the time zone a native ALTER would convert TIMESTAMPs to and from other types in:
	// the server's default (dbconn.DefaultTimeZone); "" for UTC, doppel's sessions' own.
	TimeZone string
}

// MapColumns pairs the columns of orig and ghost by name, following renames (original name → ghost
// name, as the ALTER renames them). An original column named in gone (dropped by the ALTER, or renamed
// with --skip-renamed-columns) is never paired: a ghost column of the same name is another column,
// added again or renamed into the name, and must not receive the gone column's values.
func MapColumns(orig, ghost *Table, renames map[string]string, gone ...string) Mapping {
	ghostNameOf := func(origName string) string {
		for from, to := range renames {
			if strings.EqualFold(from, origName) {
				return to
			}
		}
		return origName
	}
	isGone := map[string]bool{}
	for _, name := range gone {
		isGone[strings.ToLower(name)] = true
	}
	var m Mapping
	used := map[string]bool{}
	for i := range orig.Columns {
		oc := &orig.Columns[i]
		var gc *Column
		if !isGone[strings.ToLower(oc.Name)] {
			gc = ghost.Column(ghostNameOf(oc.Name))
		}
		if gc == nil {
			m.Dropped = append(m.Dropped, oc.Name)
			continue
		}
		used[strings.ToLower(gc.Name)] = true
		if !gc.Generated {
			m.Copied = append(m.Copied, Pair{Orig: oc, Ghost: gc})
		}
	}
	for i := range ghost.Columns {
		if gc := &ghost.Columns[i]; !used[strings.ToLower(gc.Name)] {
			m.Added = append(m.Added, gc.Name)
		}
	}
	return m
}

// ByOrig returns the pair of the original column named name, or nil when it is not copied.
func (m Mapping) ByOrig(name string) *Pair {
	for i := range m.Copied {
		if strings.EqualFold(m.Copied[i].Orig.Name, name) {
			return &m.Copied[i]
		}
	}
	return nil
}

// ByGhost returns the pair of the ghost column named name, or nil when it is not copied.
func (m Mapping) ByGhost(name string) *Pair {
	for i := range m.Copied {
		if strings.EqualFold(m.Copied[i].Ghost.Name, name) {
			return &m.Copied[i]
		}
	}
	return nil
}

// Key is the unique key doppel iterates the copy on and replays changes by: a unique index of the
// original table, and the ghost's index that finds rows by the same columns.
type Key struct {
	Orig *Index
	// Ghost is the ghost's index whose leading columns are the key's: a unique key on exactly them
	// (Enforced), or a longer unique key or a plain index starting with them.
	Ghost   *Index
	Columns []Pair // in the order of the original's index
	// Enforced says the ghost has a unique key on exactly the key's columns, so a row written under
	// a key the ghost holds replaces it. Otherwise the key's values are unique in the ghost only
	// because every ghost row is a copy of an original row: the replay deletes a row by its key
	// before writing it again (a changed column of a longer ghost key would else leave two rows).
	Enforced bool
	// Trip is a NOT NULL column of the ghost that sqlbuild.Copy assigns NULL to when a written row
	// collides with another row under some other unique key: the key's first NOT NULL column, or
	// another NOT NULL column when every key column allows NULL in the ghost.
	Trip string
	// TripBySubquery says the ghost has no NOT NULL column: a collision is signalled by a subquery
	// returning two rows instead (sqlbuild.Copy.TripBySubquery).
	TripBySubquery bool
	// Nullable lists the key's columns that allow NULL in the original (ChooseKeyOptions.
	// AllowNullable): the migration checks they hold none before it starts, and a NULL written to
	// them during the migration stops it.
	Nullable []string
}

// Names returns the original column names of the key.
func (k *Key) Names() []string { return k.Orig.ColumnNames() }

// Why says in a few words how the key was chosen, for the plan.
func (k *Key) Why() string {
	var b strings.Builder
	if k.Orig.IsPrimary() {
		b.WriteString("the PRIMARY KEY")
	} else {
		b.WriteString("a unique key of NOT NULL columns")
		if len(k.Nullable) > 0 {
			b.Reset()
			b.WriteString("a unique key whose columns hold no NULL (--allow-nullable-unique-key)")
		}
	}
	switch {
	case k.Enforced && strings.EqualFold(k.Ghost.Name, k.Orig.Name):
		b.WriteString(", kept by the ALTER")
	case k.Enforced:
		fmt.Fprintf(&b, ", which is %s in the altered table", indexLabel(k.Ghost))
	case k.Ghost.Unique:
		fmt.Fprintf(&b, "; the altered table finds its rows along %s, which starts with its columns", indexLabel(k.Ghost))
	default:
		fmt.Fprintf(&b, "; the altered table finds its rows along index %s", k.Ghost.Name)
	}
	return b.String()
}

func indexLabel(ix *Index) string {
	if ix.IsPrimary() {
		return "the PRIMARY KEY"
	}
	return "unique key " + ix.Name
}

// ErrNoSharedKey explains a table without a usable key.
type ErrNoSharedKey struct {
	Table   string
	Reasons []string // why each unique key of the original was passed over
}

func (e *ErrNoSharedKey) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "doppel needs a unique key on NOT NULL columns that both %s and the altered table have: it copies rows in ranges of that key and replays every change by it. ", e.Table)
	if len(e.Reasons) == 0 {
		b.WriteString("The table has no PRIMARY KEY or UNIQUE key.")
	} else {
		b.WriteString("None qualifies: " + strings.Join(e.Reasons, "; ") + ".")
	}
	b.WriteString(" Add a PRIMARY KEY (or a UNIQUE key on NOT NULL columns) to the table first, and keep it in the ALTER.")
	return b.String()
}

// KeyOptions relaxes ChooseKey's rules.
type KeyOptions struct {
	// AllowNullable lets a unique key with columns that allow NULL be iterated (gh-ost's
	// --allow-nullable-unique-key), for a key no NOT NULL one can replace. The caller must check
	// that the key holds no NULL.
	AllowNullable bool
}

// ChooseKey picks the key to iterate on. The rules (docs/how-it-works.md, "The iteration key"):
//
//  1. Candidates are the original's unique keys whose parts are whole columns (no prefix, no
//     expression), each copied to the ghost, NOT NULL in the original (or, with AllowNullable,
//     nullable), and of a type that sorts and compares exactly: not SET, FLOAT, DOUBLE, JSON or a
//     spatial type. An ENUM part qualifies when the ghost's column is an ENUM whose members start
//     with the original's, in the same order: keys are read and compared by member number, which
//     must mean the same value in both tables.
//  2. The ghost must find rows by the candidate's columns: a unique key on exactly them (in any
//     order), else a unique key or a plain index that starts with them, each whole, provided every
//     such column keeps its values distinct in the ghost (the same collation for text); there the
//     key is unique only because the ghost holds copies of the original's rows, and the replay
//     deletes by key before it writes.
//  3. A row colliding with another under some other unique key of the ghost is signalled by
//     writing NULL into a NOT NULL column of the ghost (Key.Trip), or, when it has none, by a
//     subquery returning two rows (Key.TripBySubquery).
//  4. Among the candidates: the PRIMARY KEY, then a key the ghost enforces, then fewer columns,
//     then integer columns, then a NOT NULL key before a nullable one.
func ChooseKey(orig, ghost *Table, m Mapping, opts ...KeyOptions) (*Key, error) {
	var opt KeyOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	var candidates []*Key
	var reasons []string
	for i := range orig.Indexes {
		ix := &orig.Indexes[i]
		if !ix.Unique {
			continue
		}
		k, why := sharedKey(ix, ghost, m, opt)
		if why != "" {
			reasons = append(reasons, fmt.Sprintf("key %s %s", ix.Name, why))
			continue
		}
		candidates = append(candidates, k)
	}
	if len(candidates) == 0 {
		return nil, &ErrNoSharedKey{Table: orig.Schema + "." + orig.Name, Reasons: reasons}
	}
	sort.SliceStable(candidates, func(i, j int) bool { return keyRank(candidates[i]) < keyRank(candidates[j]) })
	return candidates[0], nil
}

// keyRank orders candidate keys as ChooseKey's rule 4 says.
func keyRank(k *Key) int {
	rank := 0
	if !k.Orig.IsPrimary() {
		rank += 10000
	}
	if len(k.Nullable) > 0 {
		rank += 1000 // after the NOT NULL keys, but for the PRIMARY KEY
	}
	if !k.Enforced {
		rank += 500
	}
	rank += 10 * len(k.Columns)
	for _, c := range k.Columns {
		if !isInteger(c.Orig.DataType) {
			rank++
		}
	}
	return rank
}

func sharedKey(ix *Index, ghost *Table, m Mapping, opt KeyOptions) (*Key, string) {
	if ix.Expression {
		return nil, "has a functional key part"
	}
	k := &Key{Orig: ix}
	for _, ic := range ix.Columns {
		p := m.ByOrig(ic.Name)
		switch {
		case ic.SubPart > 0:
			return nil, fmt.Sprintf("indexes only a prefix of column %s", ic.Name)
		case p == nil:
			return nil, fmt.Sprintf("uses column %s, which the ALTER drops or makes generated", ic.Name)
		case p.Orig.Nullable && !opt.AllowNullable:
			return nil, fmt.Sprintf("uses column %s, which allows NULL (--allow-nullable-unique-key lets doppel use it once it has checked that it holds no NULL)", ic.Name)
		case !iterable(p.Orig.DataType):
			return nil, fmt.Sprintf("uses column %s of type %s, which doppel cannot iterate on: its values do not sort and compare exactly", ic.Name, p.Orig.DataType)
		case p.Orig.DataType == "enum" && !keepsMembers(p):
			return nil, fmt.Sprintf("uses ENUM column %s, whose members change their numbers (%s to %s): doppel reads and compares the key by member number, so members may only be added at the end", ic.Name, p.Orig.ColumnType, p.Ghost.ColumnType)
		}
		if p.Orig.Nullable {
			k.Nullable = append(k.Nullable, p.Orig.Name)
		}
		if k.Trip == "" && !p.Ghost.Nullable {
			k.Trip = p.Ghost.Name
		}
		k.Columns = append(k.Columns, *p)
	}
	if k.Trip == "" {
		for i := range ghost.Columns {
			if c := &ghost.Columns[i]; !c.Nullable && !c.Generated {
				k.Trip = c.Name
				break
			}
		}
		k.TripBySubquery = k.Trip == ""
	}
	// A unique key on exactly the columns, else one starting with them, else a plain index.
	var longer, plain *Index
	for i := range ghost.Indexes {
		gix := &ghost.Indexes[i]
		if gix.Expression || gix.Kind == "FULLTEXT" || gix.Kind == "SPATIAL" || !startsWith(gix, k.Columns) {
			continue
		}
		switch {
		case gix.Unique && len(gix.Columns) == len(k.Columns):
			k.Ghost, k.Enforced = gix, true
			return k, ""
		case gix.Unique && longer == nil:
			longer = gix
		case !gix.Unique && plain == nil:
			plain = gix
		}
	}
	if longer == nil && plain == nil {
		return nil, "has no counterpart in the altered table: no unique key or index there starts with its columns"
	}
	for _, p := range k.Columns {
		if !keepsDistinct(&p) {
			return nil, fmt.Sprintf("is not unique in the altered table, and its column %s changes from %s to %s, which can make distinct values equal", p.Orig.Name, p.Orig.ColumnType, p.Ghost.ColumnType)
		}
	}
	k.Ghost = longer
	if k.Ghost == nil {
		k.Ghost = plain
	}
	return k, ""
}

// startsWith reports whether gix's first len(cols) parts are the ghost columns of cols, whole, in
// any order.
func startsWith(gix *Index, cols []Pair) bool {
	if len(gix.Columns) < len(cols) {
		return false
	}
	for _, gc := range gix.Columns[:len(cols)] {
		if gc.SubPart > 0 {
			return false
		}
		found := false
		for _, p := range cols {
			if strings.EqualFold(p.Ghost.Name, gc.Name) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// keepsMembers reports whether the ghost's ENUM column numbers the original's members as the
// original does: its members start with them, in the same order.
func keepsMembers(p *Pair) bool {
	if p.Ghost.DataType != "enum" || len(p.Ghost.Elems) < len(p.Orig.Elems) {
		return false
	}
	for i, e := range p.Orig.Elems {
		if p.Ghost.Elems[i] != e {
			return false
		}
	}
	return true
}

func isInteger(dataType string) bool {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// iterable reports whether values of the type sort and compare exactly, the same way in ORDER BY and
// in a range condition. An ENUM sorts by member number and compares by it too when the value is a
// number, as doppel binds it (ReadExpr, ValueFromText; the binlog gives the number); SET could be
// handled alike but is not yet; floating point equality is unreliable; JSON, spatial and large
// object types cannot be whole-column keys anyway.
func iterable(dataType string) bool {
	switch dataType {
	case "set", "float", "double", "real", "json", "geometry", "point", "linestring", "polygon",
		"multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return false
	}
	return true
}
