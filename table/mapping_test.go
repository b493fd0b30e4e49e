package table

import (
	"reflect"
	"strings"
	"testing"
)

// col builds a column for tests: "name type" plus flags "null", "gen", and for text "cs=..".
func col(spec string) Column {
	f := strings.Fields(spec)
	c := Column{Name: f[0], DataType: f[1], ColumnType: f[1]}
	for _, flag := range f[2:] {
		switch {
		case flag == "null":
			c.Nullable = true
		case flag == "gen":
			c.Generated = true
		case flag == "unsigned":
			c.Unsigned = true
			c.ColumnType += " unsigned"
		case strings.HasPrefix(flag, "coll="):
			c.Collation = strings.TrimPrefix(flag, "coll=")
			c.Charset = strings.SplitN(c.Collation, "_", 2)[0]
		case strings.HasPrefix(flag, "type="):
			c.ColumnType = strings.TrimPrefix(flag, "type=")
		case strings.HasPrefix(flag, "elems="):
			c.Elems = strings.Split(strings.TrimPrefix(flag, "elems="), "|")
			c.ColumnType = "enum('" + strings.Join(c.Elems, "','") + "')"
		}
	}
	return c
}

func tbl(name string, cols []string, idx ...Index) *Table {
	t := &Table{Schema: "db", Name: name, Indexes: idx}
	for _, c := range cols {
		t.Columns = append(t.Columns, col(c))
	}
	return t
}

func uk(name string, cols ...string) Index {
	ix := Index{Name: name, Unique: true}
	for _, c := range cols {
		ic := IndexColumn{Name: c}
		if n, p, ok := strings.Cut(c, "("); ok {
			ic.Name = n
			ic.SubPart = int(p[0] - '0')
		}
		ix.Columns = append(ix.Columns, ic)
	}
	return ix
}

// plain is a non-unique index.
func plain(name string, cols ...string) Index {
	ix := uk(name, cols...)
	ix.Unique = false
	return ix
}

func TestMapColumns(t *testing.T) {
	orig := tbl("t", []string{"id int", "a int null", "b varchar coll=utf8mb4_bin", "g int gen", "old int"})
	ghost := tbl("_t_gho", []string{"id bigint", "b varchar coll=utf8mb4_bin", "g int gen", "new int", "extra int null", "A int null"})
	m := MapColumns(orig, ghost, map[string]string{"old": "new"})
	var copied []string
	for _, p := range m.Copied {
		copied = append(copied, p.Orig.Name+">"+p.Ghost.Name)
	}
	if want := []string{"id>id", "a>A", "b>b", "old>new"}; !reflect.DeepEqual(copied, want) {
		t.Errorf("copied %v, want %v", copied, want)
	}
	if want := []string(nil); !reflect.DeepEqual(m.Dropped, want) {
		t.Errorf("dropped %v, want %v", m.Dropped, want)
	}
	if want := []string{"extra"}; !reflect.DeepEqual(m.Added, want) {
		t.Errorf("added %v, want %v", m.Added, want)
	}
	m = MapColumns(orig, ghost, nil)
	if want := []string{"old"}; !reflect.DeepEqual(m.Dropped, want) {
		t.Errorf("without renames: dropped %v, want %v", m.Dropped, want)
	}
}

// TestMapColumnsGone covers renames into the name of a column the ALTER drops, swaps, and renames
// skipped with --skip-renamed-columns (their sources gone, their targets added).
func TestMapColumnsGone(t *testing.T) {
	orig := tbl("t", []string{"id int", "a int", "b int", "c int"})
	for _, tc := range []struct {
		name    string
		ghost   []string
		renames map[string]string
		gone    []string
		copied  []string
		dropped []string
		added   []string
	}{
		{
			name: "approved: DROP a, CHANGE b a", ghost: []string{"id int", "a int", "c int"},
			renames: map[string]string{"b": "a"}, gone: []string{"a"},
			copied: []string{"id>id", "b>a", "c>c"}, dropped: []string{"a"},
		},
		{
			name: "skipped: DROP a, CHANGE b a", ghost: []string{"id int", "a int", "c int"},
			gone:   []string{"a", "b"},
			copied: []string{"id>id", "c>c"}, dropped: []string{"a", "b"}, added: []string{"a"},
		},
		{
			name: "approved swap", ghost: []string{"id int", "b int", "a int", "c int"},
			renames: map[string]string{"a": "b", "b": "a"},
			copied:  []string{"id>id", "a>b", "b>a", "c>c"},
		},
		{
			name: "skipped swap", ghost: []string{"id int", "b int", "a int", "c int"},
			gone:   []string{"a", "b"},
			copied: []string{"id>id", "c>c"}, dropped: []string{"a", "b"}, added: []string{"b", "a"},
		},
		{
			name: "dropped and added again", ghost: []string{"id int", "a int", "b int", "c bigint"},
			gone:   []string{"A"},
			copied: []string{"id>id", "b>b", "c>c"}, dropped: []string{"a"}, added: []string{"a"},
		},
		{
			name: "CHANGE a a", ghost: []string{"id int", "a bigint", "b int", "c int"},
			copied: []string{"id>id", "a>a", "b>b", "c>c"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := MapColumns(orig, tbl("_t_gho", tc.ghost), tc.renames, tc.gone...)
			var copied []string
			for _, p := range m.Copied {
				copied = append(copied, p.Orig.Name+">"+p.Ghost.Name)
			}
			if !reflect.DeepEqual(copied, tc.copied) {
				t.Errorf("copied %v, want %v", copied, tc.copied)
			}
			if !reflect.DeepEqual(m.Dropped, tc.dropped) {
				t.Errorf("dropped %v, want %v", m.Dropped, tc.dropped)
			}
			if !reflect.DeepEqual(m.Added, tc.added) {
				t.Errorf("added %v, want %v", m.Added, tc.added)
			}
		})
	}
}

// TestChooseKey covers each shape of key change (docs/how-it-works.md, "The iteration key"): the
// key chosen, whether the ghost enforces it, the ghost index rows are found along, and the refusals.
func TestChooseKey(t *testing.T) {
	cols := []string{"id int", "email varchar coll=utf8mb4_general_ci", "n int null", "e enum elems=a|b", "f double", "a int", "b int", "created datetime", "s set"}
	for _, tc := range []struct {
		name     string
		orig     []Index
		ghost    []Index
		drop     string            // a column the ghost lacks
		ghostCol map[string]string // ghost columns that differ from the original's
		nullable bool              // --allow-nullable-unique-key
		want     string            // chosen key, or "error: ..." substring
		along    string            // the ghost's index rows are found along (default: want)
		loose    bool              // the ghost does not enforce the key (a longer key or a plain index)
		trip     string            // the collision column (default: the key's first column)
	}{
		{name: "primary", orig: []Index{uk("PRIMARY", "id"), uk("u", "email")}, ghost: []Index{uk("PRIMARY", "id"), uk("u", "email")}, want: "PRIMARY"},
		{name: "primary dropped in ghost, unique kept", orig: []Index{uk("PRIMARY", "id"), uk("u", "email")}, ghost: []Index{uk("u", "email")}, want: "u"},
		{name: "composite in other order on ghost", orig: []Index{uk("PRIMARY", "a", "b")}, ghost: []Index{uk("PRIMARY", "b", "a")}, want: "PRIMARY"},
		{name: "prefer integer key", orig: []Index{uk("u1", "email"), uk("u2", "a")}, ghost: []Index{uk("u1", "email"), uk("u2", "a")}, want: "u2"},
		// Primary-key changes.
		{name: "primary replaced by an existing unique key", orig: []Index{uk("PRIMARY", "id"), uk("u", "a")}, ghost: []Index{uk("PRIMARY", "a")}, want: "u", along: "PRIMARY"},
		{name: "primary and unique swap", orig: []Index{uk("PRIMARY", "id"), uk("u", "a")}, ghost: []Index{uk("PRIMARY", "a"), uk("u_id", "id")}, want: "PRIMARY", along: "u_id"},
		{name: "primary extended", orig: []Index{uk("PRIMARY", "id")}, ghost: []Index{uk("PRIMARY", "id", "created")}, want: "PRIMARY", loose: true},
		{name: "primary extended in front", orig: []Index{uk("PRIMARY", "id")}, ghost: []Index{uk("PRIMARY", "created", "id")}, want: "error: no counterpart"},
		{name: "primary extended, an enforced unique key kept", orig: []Index{uk("PRIMARY", "id"), uk("u", "a")}, ghost: []Index{uk("PRIMARY", "id", "created"), uk("u", "a")}, want: "PRIMARY", loose: true},
		{name: "primary moved to a new key, old one indexed", orig: []Index{uk("PRIMARY", "id")}, ghost: []Index{uk("PRIMARY", "b"), plain("i_id", "id", "a")}, want: "PRIMARY", along: "i_id", loose: true},
		{name: "primary added over a unique key", orig: []Index{uk("u", "a", "b")}, ghost: []Index{uk("PRIMARY", "a", "b")}, want: "u", along: "PRIMARY"},
		{name: "primary added over a unique key, kept", orig: []Index{uk("u", "a")}, ghost: []Index{uk("PRIMARY", "id"), uk("u", "a")}, want: "u"},
		{name: "primary type widened", orig: []Index{uk("PRIMARY", "id")}, ghost: []Index{uk("PRIMARY", "id")}, ghostCol: map[string]string{"id": "id bigint"}, want: "PRIMARY"},
		{name: "unique dropped, primary kept", orig: []Index{uk("PRIMARY", "id"), uk("u", "email")}, ghost: []Index{uk("PRIMARY", "id")}, want: "PRIMARY"},
		{name: "primary dropped", orig: []Index{uk("PRIMARY", "id")}, ghost: nil, want: "error: no counterpart"},
		{name: "longer key, collation change", orig: []Index{uk("u", "email")}, ghost: []Index{uk("u", "email", "a")}, ghostCol: map[string]string{"email": "email varchar coll=utf8mb4_bin"}, want: "error: can make distinct values equal"},
		{name: "ghost key differs", orig: []Index{uk("PRIMARY", "a", "b")}, ghost: []Index{uk("PRIMARY", "a")}, want: "error: no counterpart"},
		// ENUM keys.
		{name: "enum key", orig: []Index{uk("PRIMARY", "e", "id")}, ghost: []Index{uk("PRIMARY", "e", "id")}, want: "PRIMARY", trip: "e"},
		{name: "enum key, member added at the end", orig: []Index{uk("PRIMARY", "e", "id")}, ghost: []Index{uk("PRIMARY", "e", "id")}, ghostCol: map[string]string{"e": "e enum elems=a|b|c"}, want: "PRIMARY", trip: "e"},
		{name: "enum key, members reordered", orig: []Index{uk("PRIMARY", "e", "id")}, ghost: []Index{uk("PRIMARY", "e", "id")}, ghostCol: map[string]string{"e": "e enum elems=b|a"}, want: "error: change their numbers"},
		{name: "enum key to varchar", orig: []Index{uk("PRIMARY", "e", "id")}, ghost: []Index{uk("PRIMARY", "e", "id")}, ghostCol: map[string]string{"e": "e varchar coll=utf8mb4_bin"}, want: "error: change their numbers"},
		{name: "set key", orig: []Index{uk("u", "s")}, ghost: []Index{uk("u", "s")}, want: "error: type set"},
		{name: "float key", orig: []Index{uk("u", "f")}, ghost: []Index{uk("u", "f")}, want: "error: type double"},
		// Nullable keys.
		{name: "nullable only", orig: []Index{uk("u", "n")}, ghost: []Index{uk("u", "n")}, want: "error: allows NULL"},
		{name: "nullable allowed", orig: []Index{uk("u", "n")}, ghost: []Index{uk("u", "n")}, nullable: true, want: "u", trip: "id"},
		{name: "nullable allowed, NOT NULL key preferred", orig: []Index{uk("u", "n"), uk("u2", "email")}, ghost: []Index{uk("u", "n"), uk("u2", "email")}, nullable: true, want: "u2"},
		{name: "nullable in ghost only", orig: []Index{uk("u", "a")}, ghost: []Index{uk("u", "a")}, ghostCol: map[string]string{"a": "a int null"}, want: "u", trip: "id"},
		// Refusals that stay.
		{name: "prefix only", orig: []Index{uk("u", "email(5)")}, ghost: []Index{uk("u", "email(5)")}, want: "error: prefix"},
		{name: "key column dropped", orig: []Index{uk("PRIMARY", "a")}, ghost: []Index{uk("PRIMARY", "id")}, drop: "a", want: "error: drops"},
		{name: "no keys", want: "error: has no PRIMARY KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := tbl("t", cols, tc.orig...)
			var gcols []string
			for _, c := range cols {
				name := strings.Fields(c)[0]
				if tc.drop == name {
					continue
				}
				if g, ok := tc.ghostCol[name]; ok {
					c = g
				}
				gcols = append(gcols, c)
			}
			ghost := tbl("_t_gho", gcols, tc.ghost...)
			k, err := ChooseKey(orig, ghost, MapColumns(orig, ghost, nil), KeyOptions{AllowNullable: tc.nullable})
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v, want an error containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			along, trip := tc.along, tc.trip
			if along == "" {
				along = tc.want
			}
			if trip == "" {
				trip = k.Columns[0].Ghost.Name
			}
			if k.Orig.Name != tc.want || k.Ghost.Name != along || k.Enforced == tc.loose || k.Trip != trip {
				t.Errorf("chose %s along %s (enforced %v, trip %s), want %s along %s (enforced %v, trip %s); why: %s",
					k.Orig.Name, k.Ghost.Name, k.Enforced, k.Trip, tc.want, along, !tc.loose, trip, k.Why())
			}
		})
	}
}

func TestUniqueChanges(t *testing.T) {
	for _, tc := range []struct {
		name        string
		orig, ghost []string
		origIdx     []Index
		ghostIdx    []Index
		want        []string // names of flagged ghost keys
	}{
		{name: "same keys", orig: []string{"id int", "e varchar coll=utf8mb4_bin"}, ghost: []string{"id int", "e varchar coll=utf8mb4_bin"},
			origIdx: []Index{uk("PRIMARY", "id"), uk("u", "e")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "e")}},
		{name: "new unique key", orig: []string{"id int", "e int"}, ghost: []string{"id int", "e int"},
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "e")}, want: []string{"u"}},
		{name: "superset of an existing key", orig: []string{"id int", "e int"}, ghost: []string{"id int", "e int"},
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "e", "id")}},
		{name: "int widening", orig: []string{"id int"}, ghost: []string{"id bigint"},
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id")}},
		{name: "signedness change", orig: []string{"id int"}, ghost: []string{"id int unsigned"},
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id")}},
		{name: "case-insensitive collation", orig: []string{"id int", "e varchar coll=utf8mb4_bin"}, ghost: []string{"id int", "e varchar coll=utf8mb4_general_ci"},
			origIdx: []Index{uk("PRIMARY", "id"), uk("u", "e")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "e")}, want: []string{"u"}},
		{name: "shorter prefix", orig: []string{"id int", "e varchar coll=utf8mb4_bin"}, ghost: []string{"id int", "e varchar coll=utf8mb4_bin"},
			origIdx: []Index{uk("PRIMARY", "id"), uk("u", "e(8)")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "e(4)")}, want: []string{"u"}},
		{name: "longer prefix", orig: []string{"id int", "e varchar coll=utf8mb4_bin"}, ghost: []string{"id int", "e varchar coll=utf8mb4_bin"},
			origIdx: []Index{uk("PRIMARY", "id"), uk("u", "e(4)")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "e(8)")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, ghost := tbl("t", tc.orig, tc.origIdx...), tbl("g", tc.ghost, tc.ghostIdx...)
			var got []string
			for _, c := range UniqueChanges(orig, ghost, MapColumns(orig, ghost, nil)) {
				got = append(got, c.Ghost.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("flagged %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDuplicatesQuery(t *testing.T) {
	orig := tbl("t", []string{"id int", "e varchar coll=latin1_bin", "n int null", "d decimal type=decimal(10,2)"})
	ghost := tbl("g", []string{"id int", "e varchar coll=utf8mb4_general_ci", "n int null", "d decimal type=decimal(10,0)"})
	orig.Column("d").Precision, orig.Column("d").Scale = 10, 2
	ghost.Column("d").Precision = 10
	m := MapColumns(orig, ghost, nil)
	q, err := DuplicatesQuery(orig, &Index{Name: "u", Unique: true, Columns: []IndexColumn{{Name: "e", SubPart: 3}, {Name: "n"}}}, m)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 1 FROM `db`.`t` WHERE `e` IS NOT NULL AND `n` IS NOT NULL GROUP BY LEFT(CONVERT(`e` USING utf8mb4) COLLATE utf8mb4_general_ci, 3), `n` HAVING COUNT(*) > 1 LIMIT 1"
	if q != want {
		t.Errorf("got  %s\nwant %s", q, want)
	}
	if _, err := DuplicatesQuery(orig, &Index{Name: "u", Unique: true, Columns: []IndexColumn{{Name: "d"}}}, m); err == nil || !strings.Contains(err.Error(), "type changes") {
		t.Errorf("decimal narrowing: got %v, want a refusal", err)
	}
}
