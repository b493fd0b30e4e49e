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

// Key is the unique key doppel iterates the copy on and replays changes by: an index of the original
// table and the ghost's index on the same columns.
type Key struct {
	Orig    *Index
	Ghost   *Index
	Columns []Pair // in the order of the original's index
}

// Names returns the original column names of the key.
func (k *Key) Names() []string { return k.Orig.ColumnNames() }

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

// ChooseKey picks the key to iterate on: the PRIMARY KEY when it qualifies, else the unique key with
// the fewest and smallest columns. A key qualifies when its columns are NOT NULL in the original,
// whole (no prefix), of a type that sorts and compares exactly, all copied to the ghost, and the ghost
// has a unique key on exactly the same columns.
func ChooseKey(orig, ghost *Table, m Mapping) (*Key, error) {
	var candidates []*Key
	var reasons []string
	for i := range orig.Indexes {
		ix := &orig.Indexes[i]
		if !ix.Unique {
			continue
		}
		k, why := sharedKey(ix, ghost, m)
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

// keyRank orders candidate keys: PRIMARY first, then fewer columns, then integer columns.
func keyRank(k *Key) int {
	if k.Orig.IsPrimary() {
		return 0
	}
	rank := 10 * len(k.Columns)
	for _, c := range k.Columns {
		if !isInteger(c.Orig.DataType) {
			rank++
		}
	}
	return rank
}

func sharedKey(ix *Index, ghost *Table, m Mapping) (*Key, string) {
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
		case p.Orig.Nullable:
			return nil, fmt.Sprintf("uses column %s, which allows NULL", ic.Name)
		case !iterable(p.Orig.DataType):
			return nil, fmt.Sprintf("uses column %s of type %s, which doppel cannot iterate on", ic.Name, p.Orig.DataType)
		case p.Ghost.Nullable:
			// The copy and the replay detect a row colliding under another unique key by assigning
			// NULL to the key (sqlbuild.Copy): the key must refuse NULL in the ghost too.
			return nil, fmt.Sprintf("uses column %s, which the altered table allows to be NULL", ic.Name)
		}
		k.Columns = append(k.Columns, *p)
	}
	for i := range ghost.Indexes {
		gix := &ghost.Indexes[i]
		if gix.Unique && !gix.Expression && sameColumns(gix, k.Columns) {
			k.Ghost = gix
			return k, ""
		}
	}
	return nil, "has no unique counterpart on the same columns in the altered table"
}

// sameColumns reports whether gix covers exactly the ghost columns of cols, whole, in any order.
func sameColumns(gix *Index, cols []Pair) bool {
	if len(gix.Columns) != len(cols) {
		return false
	}
	for _, gc := range gix.Columns {
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

func isInteger(dataType string) bool {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// iterable reports whether values of the type sort and compare exactly, the same way in ORDER BY and
// in a range condition. ENUM and SET sort by member number but compare as strings; floating point
// equality is unreliable; JSON, spatial and large object types cannot be whole-column keys anyway.
func iterable(dataType string) bool {
	switch dataType {
	case "enum", "set", "float", "double", "real", "json", "geometry", "point", "linestring", "polygon",
		"multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return false
	}
	return true
}
