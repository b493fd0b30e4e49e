package table

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/sandbox"
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
