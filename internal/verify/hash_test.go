package verify

import (
	"reflect"
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

func col(name, dataType, columnType string, opts ...func(*table.Column)) *table.Column {
	c := &table.Column{Name: name, DataType: dataType, ColumnType: columnType}
	for _, o := range opts {
		o(c)
	}
	return c
}

func charset(cs, coll string) func(*table.Column) {
	return func(c *table.Column) { c.Charset, c.Collation = cs, coll }
}

func decimal(p, s int64) func(*table.Column) {
	return func(c *table.Column) { c.Precision, c.Scale = p, s }
}

func fsp(n int64) func(*table.Column) { return func(c *table.Column) { c.FSP = n } }

func octets(n int64) func(*table.Column) { return func(c *table.Column) { c.OctetLen = n } }

func elems(e ...string) func(*table.Column) { return func(c *table.Column) { c.Elems = e } }

func TestConvert(t *testing.T) {
	latin1 := charset("latin1", "latin1_swedish_ci")
	utf8 := charset("utf8mb4", "utf8mb4_general_ci")
	for _, tc := range []struct {
		name        string
		o, g        *table.Column
		orig, ghost string // "" with why: left out
		why         string
	}{
		{"same", col("a", "int", "int(11)"), col("a", "int", "int(11)"), "`a`", "`a`", ""},
		{"renamed", col("a`x", "varchar", "varchar(5)", utf8), col("b", "varchar", "varchar(5)", utf8), "`a``x`", "`b`", ""},
		{"int widening", col("a", "int", "int(11)"), col("a", "bigint", "bigint(20) unsigned"),
			"CAST(`a` AS DECIMAL(20,0))", "CAST(`a` AS DECIMAL(20,0))", ""},
		{"bit widening", col("a", "bit", "bit(5)"), col("a", "bit", "bit(10)"), "CAST(`a` AS UNSIGNED)", "CAST(`a` AS UNSIGNED)", ""},
		{"decimal scale", col("d", "decimal", "decimal(10,4)", decimal(10, 4)), col("d", "decimal", "decimal(12,2)", decimal(12, 2)),
			"CAST(`d` AS DECIMAL(12,2))", "CAST(`d` AS DECIMAL(12,2))", ""},
		{"int to decimal", col("d", "int", "int(11)"), col("d", "decimal", "decimal(12,2)", decimal(12, 2)),
			"CAST(`d` AS DECIMAL(12,2))", "CAST(`d` AS DECIMAL(12,2))", ""},
		{"datetime fsp", col("t", "datetime", "datetime(6)", fsp(6)), col("t", "datetime", "datetime(2)", fsp(2)),
			"CAST(`t` AS DATETIME(2))", "`t`", ""},
		{"date to timestamp", col("t", "date", "date"), col("t", "timestamp", "timestamp(3)", fsp(3)),
			"CAST(`t` AS DATETIME(3))", "`t`", ""},
		{"time fsp", col("t", "time", "time(6)", fsp(6)), col("t", "time", "time", fsp(0)), "CAST(`t` AS TIME(0))", "`t`", ""},
		{"charset", col("s", "varchar", "varchar(5)", latin1), col("s", "varchar", "varchar(5)", utf8), "CONVERT(`s` USING utf8mb4)", "`s`", ""},
		{"collation only", col("s", "varchar", "varchar(5)", latin1), col("s", "text", "text", charset("latin1", "latin1_bin")), "`s`", "`s`", ""},
		{"varchar to char", col("s", "varchar", "varchar(5)", utf8), col("s", "char", "char(5)", utf8), "TRIM(TRAILING ' ' FROM `s`)", "`s`", ""},
		{"enum reorder", col("e", "enum", "enum('a','b')", latin1, elems("a", "b")), col("e", "enum", "enum('b','a')", utf8, elems("b", "a")),
			"CONVERT(`e` USING utf8mb4)", "`e`", ""},
		{"enum to varchar", col("e", "enum", "enum('a','b')", utf8, elems("a", "b")), col("e", "varchar", "varchar(3)", utf8), "`e`", "`e`", ""},
		{"set member added", col("s", "set", "set('a','b')", utf8, elems("a", "b")), col("s", "set", "set('a','x','b')", utf8, elems("a", "x", "b")),
			"`s`", "`s`", ""},
		{"set reordered", col("s", "set", "set('a','b')", utf8, elems("a", "b")), col("s", "set", "set('b','a')", utf8, elems("b", "a")),
			"", "", "set('a','b') to set('b','a')"},
		{"text to binary(n)", col("s", "varchar", "varchar(5)", latin1), col("s", "binary", "binary(8)", octets(8)), "CAST(`s` AS BINARY(8))", "`s`", ""},
		{"binary to varbinary", col("s", "binary", "binary(4)", octets(4)), col("s", "varbinary", "varbinary(8)", octets(8)), "`s`", "`s`", ""},
		{"varbinary to text", col("s", "varbinary", "varbinary(4)"), col("s", "varchar", "varchar(4)", utf8), "`s`", "`s`", ""},
		{"float to double", col("f", "float", "float"), col("f", "double", "double"), "", "", "float to double"},
		{"int to varchar", col("n", "int", "int(11)"), col("n", "varchar", "varchar(20)", utf8), "", "", "int(11) to varchar(20)"},
		{"varchar to enum", col("n", "varchar", "varchar(2)", utf8), col("n", "enum", "enum('a')", utf8, elems("a")), "", "", "varchar(2) to enum('a')"},
		{"odd charset name", col("s", "varchar", "varchar(5)", latin1), col("s", "varchar", "varchar(5)", charset("utf8mb4;", "x")),
			"", "", "varchar(5) to varchar(5)"},
		{"json", col("j", "json", "json"), col("j", "json", "json"), "CONVERT(`j` USING utf8mb4)", "CONVERT(`j` USING utf8mb4)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, g, why := convert(tc.o, tc.g)
			if o != tc.orig || g != tc.ghost || why != tc.why {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", o, g, why, tc.orig, tc.ghost, tc.why)
			}
		})
	}
}

func TestRowHashStagesUnknownConversions(t *testing.T) {
	pairs := []table.Pair{
		{Orig: col("id", "int", "int(11)"), Ghost: col("id", "int", "int(11)")},
		{Orig: col("f", "float", "float"), Ghost: col("f", "double", "double")},
	}
	h := newRowHash(pairs)
	if want := []string{"f (float to double)"}; !reflect.DeepEqual(h.staged, want) {
		t.Errorf("staged %q, want %q", h.staged, want)
	}
	// The ghost hashes every column; the original's side is then computed after conversion.
	want := "(CRC32(CONCAT_WS(',', IFNULL(CRC32(`id`), 'N'), IFNULL(CRC32(`f`), 'N'))) * 4294967296 + CRC32(REVERSE(CONCAT_WS(',', IFNULL(CRC32(`id`), 'N'), IFNULL(CRC32(`f`), 'N')))))"
	if h.ghost != want {
		t.Errorf("hash\n got %s\nwant %s", h.ghost, want)
	}
}

func TestSameOrder(t *testing.T) {
	ci := charset("utf8mb4", "utf8mb4_general_ci")
	for _, tc := range []struct {
		name string
		o, g *table.Column
		want bool
	}{
		{"int widening", col("k", "int", "int(11)"), col("k", "bigint", "bigint(20)"), true},
		{"same collation, longer", col("k", "varchar", "varchar(5)", ci), col("k", "varchar", "varchar(50)", ci), true},
		{"char to varchar", col("k", "char", "char(5)", ci), col("k", "varchar", "varchar(5)", ci), true},
		{"varchar to char", col("k", "varchar", "varchar(5)", ci), col("k", "char", "char(5)", ci), false},
		{"collation change", col("k", "varchar", "varchar(5)", ci), col("k", "varchar", "varchar(5)", charset("utf8mb4", "utf8mb4_bin")), false},
		{"decimal wider", col("k", "decimal", "decimal(5,2)", decimal(5, 2)), col("k", "decimal", "decimal(8,3)", decimal(8, 3)), true},
		{"decimal rounds", col("k", "decimal", "decimal(5,2)", decimal(5, 2)), col("k", "decimal", "decimal(5,1)", decimal(5, 1)), false},
		{"datetime finer", col("k", "datetime", "datetime", fsp(0)), col("k", "datetime", "datetime(3)", fsp(3)), true},
		{"datetime coarser", col("k", "datetime", "datetime(3)", fsp(3)), col("k", "datetime", "datetime", fsp(0)), false},
		{"binary padded", col("k", "binary", "binary(4)", octets(4)), col("k", "binary", "binary(8)", octets(8)), false},
		{"int to varchar", col("k", "int", "int(11)"), col("k", "varchar", "varchar(5)", ci), false},
	} {
		if got := sameOrder(tc.o, tc.g); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	k := &table.Key{
		Orig:    &table.Index{Name: "PRIMARY", Columns: []table.IndexColumn{{Name: "a"}, {Name: "b"}}},
		Ghost:   &table.Index{Name: "PRIMARY", Columns: []table.IndexColumn{{Name: "b"}, {Name: "a"}}},
		Columns: []table.Pair{{Orig: col("a", "int", "int"), Ghost: col("a", "int", "int")}, {Orig: col("b", "int", "int"), Ghost: col("b", "int", "int")}},
	}
	if why := sortsAlike(k); !strings.Contains(why, "another order") {
		t.Errorf("a reordered key: %q", why)
	}
}

func TestChunkSQL(t *testing.T) {
	s := side{name: "`d`.`t`", index: "PRIMARY", hash: "H", key: []sqlbuild.KeyCol{{Name: "a", Bind: "?"}, {Name: "b`c", Bind: "CONVERT(? USING latin1) COLLATE latin1_bin"}}}
	for _, tc := range []struct {
		name string
		c    chunk
		sql  string
		args []any
	}{
		{"whole", chunk{}, "SELECT COUNT(*), COALESCE(SUM(H), 0) FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE TRUE", nil},
		{"first", chunk{upper: []any{int64(5), "x"}},
			"SELECT COUNT(*), COALESCE(SUM(H), 0) FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE (`a` <= ? AND (`a` < ? OR (`a` = ? AND `b``c` <= CONVERT(? USING latin1) COLLATE latin1_bin)))",
			[]any{int64(5), int64(5), int64(5), "x"}},
		{"last", chunk{lower: []any{int64(5), "x"}},
			"SELECT COUNT(*), COALESCE(SUM(H), 0) FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE (`a` >= ? AND (`a` > ? OR (`a` = ? AND `b``c` > CONVERT(? USING latin1) COLLATE latin1_bin)))",
			[]any{int64(5), int64(5), int64(5), "x"}},
		{"middle", chunk{lower: []any{int64(1), "a"}, upper: []any{int64(2), "b"}},
			"SELECT COUNT(*), COALESCE(SUM(H), 0) FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE (`a` >= ? AND (`a` > ? OR (`a` = ? AND `b``c` > CONVERT(? USING latin1) COLLATE latin1_bin))) AND (`a` <= ? AND (`a` < ? OR (`a` = ? AND `b``c` <= CONVERT(? USING latin1) COLLATE latin1_bin)))",
			[]any{int64(1), int64(1), int64(1), "a", int64(2), int64(2), int64(2), "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sql, args := s.checksumSQL(tc.c)
			if sql != tc.sql {
				t.Errorf("sql\n got %s\nwant %s", sql, tc.sql)
			}
			if !reflect.DeepEqual(args, tc.args) {
				t.Errorf("args %v, want %v", args, tc.args)
			}
		})
	}
}

func TestMismatchErrorNamesRanges(t *testing.T) {
	e := &MismatchError{Table: "`d`.`t`", Key: []string{"a", "b"}, Repaired: true, Ranges: []Range{
		{Lower: []any{int64(1), []byte("x\"y")}, Upper: []any{uint64(2), "2024-01-01"}, OrigRows: 10, GhostRows: 9},
		{Upper: []any{int64(1), []byte("a")}, OrigRows: 3, GhostRows: 3},
	}}
	want := "the ghost table does not hold the same data as `d`.`t` in 2 key range(s), even after copying them again: " +
		"(`a`, `b`) > (1, \"x\\\"y\") and <= (2, \"2024-01-01\") (10 rows in the original, 9 in the ghost); " +
		"(`a`, `b`) <= (1, \"a\") (3 rows in the original, 3 in the ghost). doppel does not cut over; the original table is untouched"
	if e.Error() != want {
		t.Errorf("error\n got %s\nwant %s", e.Error(), want)
	}
	whole := (&MismatchError{Table: "`d`.`t`", Key: []string{"k"}, Ranges: []Range{{OrigRows: 1}}, Reason: "why"}).Error()
	if !strings.Contains(whole, "the whole key (1 rows in the original, 0 in the ghost). Not copied again: why.") {
		t.Errorf("error %s", whole)
	}
}

func TestKeepsOrder(t *testing.T) {
	for _, tc := range []struct {
		o, g []string
		want bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b"}, []string{"x", "a", "y", "B"}, true},
		{[]string{"a", "b"}, []string{"b", "a"}, false},
		{[]string{"a", "b"}, []string{"a"}, false},
		{nil, []string{"a"}, true},
	} {
		if got := keepsOrder(tc.o, tc.g); got != tc.want {
			t.Errorf("keepsOrder(%q, %q) = %v", tc.o, tc.g, got)
		}
	}
}
