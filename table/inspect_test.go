package table

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

const wideTable = "CREATE TABLE `we``ird tbl` (" +
	"id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, " +
	"`select` VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_general_cs NOT NULL, " +
	"d DECIMAL(12,3) NULL, dt DATETIME(6) NULL, ts TIMESTAMP(3) NULL, " +
	"b BINARY(8) NULL, vb VARBINARY(16) NULL, e ENUM('x','y''z') NULL, s SET('r','w') NULL, " +
	"`prénom ü` TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, " +
	"g INT AS (CHAR_LENGTH(vb) + 1) VIRTUAL, gs INT AS (d * 2) STORED, " +
	"PRIMARY KEY (id), UNIQUE KEY u_sel (`select`, d DESC), KEY k_pre (`prénom ü`(10)) COMMENT 'prefix')"

// TestInspectAgreesWithTemporary proves the two ways of reading a table give the same definition, so
// checks run on the temporary probe hold for the real ghost table.
func TestInspectAgreesWithTemporary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbName := sb.NewDatabase(t)
	db, err := sb.Primary.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, wideTable); err != nil {
		t.Fatal(err)
	}
	real, err := Inspect(ctx, db, dbName, "we`ird tbl")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE `tmp probe` LIKE `we``ird tbl`"); err != nil {
		t.Fatal(err)
	}
	tmp, err := InspectTemporary(ctx, conn, dbName, "tmp probe")
	if err != nil {
		t.Fatal(err)
	}
	if len(real.Columns) != 12 || len(tmp.Columns) != len(real.Columns) {
		t.Fatalf("columns: real %d, temporary %d, want 12", len(real.Columns), len(tmp.Columns))
	}
	for i := range real.Columns {
		r, p := real.Columns[i], tmp.Columns[i]
		// information_schema reports precision and octet length for more types than the temporary
		// reading needs; compare what the checks use.
		if r.DataType != "decimal" {
			r.Precision, r.Scale = 0, 0
		}
		if r.DataType != "binary" && r.DataType != "varbinary" {
			r.OctetLen = 0
		}
		r.Default = sql.NullString{} // SHOW COLUMNS cannot tell the string 'NULL' from NULL
		if !reflect.DeepEqual(r, p) {
			t.Errorf("column %d:\n information_schema %+v\n temporary          %+v", i, r, p)
		}
	}
	if !reflect.DeepEqual(real.Indexes, tmp.Indexes) {
		t.Errorf("indexes:\n information_schema %+v\n temporary          %+v", real.Indexes, tmp.Indexes)
	}
	want := []Index{
		{Name: "PRIMARY", Kind: "BTREE", Unique: true, Columns: []IndexColumn{{Name: "id"}}},
		{Name: "k_pre", Kind: "BTREE", Comment: "prefix", Columns: []IndexColumn{{Name: "prénom ü", SubPart: 10}}},
		{Name: "u_sel", Kind: "BTREE", Unique: true, Columns: []IndexColumn{{Name: "select"}, {Name: "d", Desc: true}}},
	}
	if !reflect.DeepEqual(real.Indexes, want) {
		t.Errorf("indexes %+v, want %+v", real.Indexes, want)
	}
	c := real.Column("SELECT")
	if c == nil || c.Charset != "latin1" || c.Collation != "latin1_general_cs" || c.Nullable {
		t.Errorf("column select: %+v", c)
	}
	if g := real.Column("g"); !g.Generated || real.Column("gs").Generated != true || real.Column("id").Generated {
		t.Errorf("generated flags wrong: %+v", real.Columns)
	}
	if e := real.Column("e"); !reflect.DeepEqual(e.Elems, []string{"x", "y'z"}) {
		t.Errorf("enum members %q", e.Elems)
	}
	if !real.Column("id").Unsigned || !real.Column("id").AutoInc {
		t.Errorf("id: %+v", real.Column("id"))
	}
	if real.Column("g").Stored || !real.Column("gs").Stored || real.Column("d").Stored {
		t.Errorf("stored flags wrong: %+v", real.Columns)
	}
}

// TestInspectDetails checks what the pre-flight plan reads of a table besides its columns' types.
func TestInspectDetails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbName := sb.NewDatabase(t)
	db, err := sb.Primary.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(10) DEFAULT 'it''s' COMMENT 'the a',
		b INT NULL, c INT NOT NULL, s VARCHAR(5) DEFAULT 'NULL', g INT AS (id + 1) PERSISTENT)
		ROW_FORMAT=COMPACT DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci`); err != nil {
		t.Fatal(err)
	}
	tbl, err := Inspect(ctx, db, dbName, "t")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.RowFormat != "COMPACT" || tbl.Collation != "latin1_general_ci" || tbl.Engine != "InnoDB" {
		t.Errorf("table: row format %q, collation %q, engine %q", tbl.RowFormat, tbl.Collation, tbl.Engine)
	}
	null := sql.NullString{String: "NULL", Valid: true} // MariaDB's DEFAULT NULL
	for _, want := range []struct {
		name    string
		def     sql.NullString
		comment string
		stored  bool
	}{
		{"id", sql.NullString{}, "", false},
		{"a", sql.NullString{String: "'it''s'", Valid: true}, "the a", false},
		{"b", null, "", false},
		{"c", sql.NullString{}, "", false},
		{"s", sql.NullString{String: "'NULL'", Valid: true}, "", false},
		{"g", null, "", true},
	} {
		c := tbl.Column(want.name)
		if c.Default != want.def || c.Comment != want.comment || c.Stored != want.stored {
			t.Errorf("column %s: default %+v, comment %q, stored %v; want %+v, %q, %v", want.name, c.Default, c.Comment, c.Stored, want.def, want.comment, want.stored)
		}
	}
}

// TestLookups checks the one-row lookups of information_schema.TABLES, and that each says when the
// table does not exist.
func TestLookups(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbName := sb.NewDatabase(t)
	db, err := sb.Primary.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE counted (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100)) COMMENT 'doppel''s note' ENGINE=InnoDB",
		"INSERT INTO counted (v) SELECT REPEAT('x', 100) FROM seq_1_to_2000",
		"INSERT INTO counted (id, v) VALUES (3000, 'last')",
		"DELETE FROM counted WHERE id > 1990",
		"ANALYZE TABLE counted",
		"CREATE TABLE plain (id INT NOT NULL PRIMARY KEY) ENGINE=MyISAM",
		"CREATE VIEW v AS SELECT id FROM plain",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, kind, engine string }{
		{"counted", "BASE TABLE", "InnoDB"},
		{"plain", "BASE TABLE", "MyISAM"},
		{"v", "VIEW", ""},
	} {
		kind, engine, err := Kind(ctx, db, dbName, tc.name)
		if err != nil || kind != tc.kind || engine != tc.engine {
			t.Errorf("Kind(%s) = %q, %q, %v; want %q, %q", tc.name, kind, engine, err, tc.kind, tc.engine)
		}
	}
	if c, err := Comment(ctx, db, dbName, "counted"); err != nil || c != "doppel's note" {
		t.Errorf("Comment = %q, %v", c, err)
	}
	if c, err := Comment(ctx, db, dbName, "plain"); err != nil || c != "" {
		t.Errorf("Comment of a table without one = %q, %v", c, err)
	}
	size, err := SizeOf(ctx, db, dbName, "counted")
	if err != nil || size.Rows < 1500 || size.Rows > 2500 || size.DataBytes <= 0 || size.IndexBytes != 0 {
		t.Errorf("SizeOf = %+v, %v; want about 1990 rows, data, no secondary index", size, err)
	}
	if next, err := AutoIncrement(ctx, db, dbName, "counted"); err != nil || next != 3001 {
		t.Errorf("AutoIncrement = %d, %v; want 3001 (deleting rows does not lower it)", next, err)
	}
	if next, err := AutoIncrement(ctx, db, dbName, "plain"); err != nil || next != 0 {
		t.Errorf("AutoIncrement without an AUTO_INCREMENT column = %d, %v; want 0", next, err)
	}
	for what, lookup := range map[string]func() error{
		"Kind":          func() error { _, _, err := Kind(ctx, db, dbName, "nope"); return err },
		"Comment":       func() error { _, err := Comment(ctx, db, dbName, "nope"); return err },
		"SizeOf":        func() error { _, err := SizeOf(ctx, db, dbName, "nope"); return err },
		"AutoIncrement": func() error { _, err := AutoIncrement(ctx, db, dbName, "nope"); return err },
	} {
		if err := lookup(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing table: %v, want ErrNotFound", what, err)
		}
	}
}

func TestInspectMissing(t *testing.T) {
	dbName := sb.NewDatabase(t)
	db, err := sb.Primary.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Inspect(context.Background(), db, dbName, "nope"); err == nil {
		t.Fatal("no error for a missing table")
	}
}
