// Package servertest checks package alter against a real server: what ReadServer reads, and that
// the ALTER text alter runs is what the server itself runs. It is apart so that alter's own tests
// need no server.
package servertest

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

func TestReadServer(t *testing.T) {
	db, err := sb.Primary.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := alter.ReadServer(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if want := alter.VersionID(sb.Flavor.Version()); srv.Version != want || srv.MariaDB != (sb.Flavor.Name() == "mariadb") {
		t.Errorf("server %+v, want version %d of %s", srv, want, sb.Flavor.Name())
	}
	for _, cs := range []string{"cp1251", "koi8r", "latin2", "ucs2", "utf16", "utf32", "big5", "sjis"} {
		if !slices.ContainsFunc(srv.Charsets, func(c alter.Charset) bool { return c.Name == cs }) {
			t.Errorf("character set %s missing", cs)
		}
	}
	want := []string{"latin2_czech_cs", "cp1251_bin"}
	if srv.MariaDB {
		want = append(want, "utf8mb4_nopad_bin", "uca1400_ai_ci", "utf8mb4_uca1400_ai_ci")
	}
	for _, name := range want {
		if !slices.ContainsFunc(srv.Collations, func(c alter.Collation) bool { return c.Name == name }) {
			t.Errorf("collation %s missing", name)
		}
	}
}

// TestClauseAsTheServer applies each ALTER as written and the clause alter makes of it to two copies of a
// table on the real server: the two must come out the same, so doppel runs what the server would.
func TestClauseAsTheServer(t *testing.T) {
	name := sb.NewDatabase(t)
	db, err := sb.Primary.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	srv, err := alter.ReadServer(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"ADD COLUMN x INT /*M!100000 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*M!, ADD COLUMN y INT */",
		"ADD COLUMN x INT /*M!999999 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!50701 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!50699 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!100100 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!999999 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!99999 , ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!, ADD COLUMN y INT */",
		"ADD COLUMN x INT /*!40101, ADD COLUMN y INT*/ -- c\n, ADD COLUMN z INT",
		"ADD COLUMN x INT /*!99999 a /* b */ c */ , ADD COLUMN y INT",
		"ADD COLUMN x INT /*!40101 , ADD COLUMN y INT /* b */ */",
		"ADD COLUMN x INT # hash\n, ADD COLUMN y INT COMMENT 'a /* b */ -- c # d'",
		"ADD COLUMN `x/*``*/` INT /*+ hint */",
		"ADD COLUMN x INT AS (v--1)",
		"ADD COLUMN x INT AS (v-- 1\n)",
		"ADD COLUMN x VARCHAR(10) DEFAULT 'it''s' /*!40101 COMMENT \"a */ b\" */",
		"ADD COLUMN x VARCHAR(10) DEFAULT 'a\\'/*' COMMENT '*/'",
		"/*!40101 ADD COLUMN x INT */",
		"ADD/**/COLUMN/**/x/**/INT",
	} {
		a, err := alter.Parse(text, name, "t", srv)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		canon := a.Clause
		if got, want := alteredAs(t, db, "canonical", canon), alteredAs(t, db, "native", text); got != want {
			t.Errorf("%q read as %q:\n%s\nthe server:\n%s", text, canon, got, want)
		}
	}
}

// alteredAs applies alter to a fresh copy of a small table and returns its definition.
func alteredAs(t *testing.T, db *sql.DB, name, alter string) string {
	t.Helper()
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + name,
		"CREATE TABLE " + name + " (id INT PRIMARY KEY, v INT)",
		"ALTER TABLE " + name + " " + alter,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var table, create string
	if err := db.QueryRow("SHOW CREATE TABLE "+name).Scan(&table, &create); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(create, "`"+name+"`", "`t`", 1)
}
