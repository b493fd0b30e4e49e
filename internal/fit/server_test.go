package fit

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

// conversion is one column type change and the values to try it on.
type conversion struct {
	from   string   // the original column's type, with NULL or NOT NULL
	alter  string   // the ALTER clause (on column c)
	values []string // SQL literals written into c (without strict mode, so invalid values exist too)
	bad    int      // how many of values the server refuses to store in the altered column
	// unchecked: doppel is expected to have no exact condition for this change.
	unchecked bool
}

// TestConditionsMatchTheServer checks every condition against the server, value by value: for each
// row, the copy's INSERT … SELECT into the altered table under doppel's session fails exactly when
// the condition is true for the row. The altered table is read the way validation reads the probe
// (a temporary table), and its CHECK constraints through SHOW CREATE TABLE.
func TestConditionsMatchTheServer(t *testing.T) {
	long := func(n int, s string) string { return "'" + strings.Repeat(s, n) + "'" }
	cases := map[string]conversion{
		// Integers, and numbers rounded into integers.
		"int to tinyint":                      {"INT NULL", "MODIFY c TINYINT", []string{"0", "127", "128", "-128", "-129", "NULL"}, 2, false},
		"int to tinyint unsigned":             {"INT NULL", "MODIFY c TINYINT UNSIGNED", []string{"-1", "0", "255", "256"}, 2, false},
		"int to bigint unsigned":              {"INT NOT NULL", "MODIFY c BIGINT UNSIGNED NOT NULL", []string{"-1", "0", "2147483647", "-2147483648"}, 2, false},
		"bigint unsigned to bigint":           {"BIGINT UNSIGNED NULL", "MODIFY c BIGINT", []string{"9223372036854775807", "9223372036854775808", "18446744073709551615", "0"}, 2, false},
		"bigint to int unsigned":              {"BIGINT NULL", "MODIFY c INT UNSIGNED", []string{"4294967295", "4294967296", "-1", "-9223372036854775808"}, 3, false},
		"decimal to tinyint":                  {"DECIMAL(10,3) NULL", "MODIFY c TINYINT", []string{"127.4", "127.5", "-128.5", "-128.4", "0.5"}, 2, false},
		"decimal to int unsigned":             {"DECIMAL(14,3) NULL", "MODIFY c INT UNSIGNED", []string{"-0.4", "-0.001", "0", "4294967295.4", "4294967295.5"}, 3, false},
		"double to smallint":                  {"DOUBLE NULL", "MODIFY c SMALLINT", []string{"32767.4", "32767.5", "32766.5", "-32768.5", "-32769", "-32768.6"}, 3, false},
		"double to bigint":                    {"DOUBLE NULL", "MODIFY c BIGINT", []string{"9.2233720368547748e18", "9.223372036854775807e18", "-9.223372036854775808e18", "-9.3e18", "1e300", "9.3e18"}, 3, false},
		"double to int unsigned":              {"DOUBLE NULL", "MODIFY c INT UNSIGNED", []string{"-0.4", "-0.5", "-0.6", "4294967295.4", "4294967295.6"}, 2, false},
		"bit to tinyint unsigned":             {"BIT(16) NULL", "MODIFY c TINYINT UNSIGNED", []string{"b'11111111'", "256", "0"}, 1, false},
		"year to tinyint":                     {"YEAR NULL", "MODIFY c TINYINT", []string{"2020", "0", "NULL"}, 1, false},
		"tinyint to int cannot fail":          {"TINYINT NULL", "MODIFY c INT", []string{"-128", "127"}, 0, false},
		"decimal to decimal":                  {"DECIMAL(10,3) NULL", "MODIFY c DECIMAL(5,2)", []string{"999.994", "999.995", "-999.995", "1000", "-999.994", "NULL"}, 3, false},
		"decimal to decimal unsigned":         {"DECIMAL(10,2) NULL", "MODIFY c DECIMAL(10,2) UNSIGNED", []string{"-0.01", "0", "12345678.99"}, 1, false},
		"int to decimal":                      {"INT NULL", "MODIFY c DECIMAL(5,2)", []string{"999", "1000", "-1000", "-999"}, 2, false},
		"double to decimal":                   {"DOUBLE NULL", "MODIFY c DECIMAL(5,2)", []string{"999.994", "999.996", "1e10", "-999.996"}, 3, false},
		"decimal widening cannot fail":        {"DECIMAL(5,2) NULL", "MODIFY c DECIMAL(10,4)", []string{"999.99", "-999.99"}, 0, false},
		"double to float":                     {"DOUBLE NULL", "MODIFY c FLOAT", []string{"3.4e38", "3.5e38", "-1e39", "1e-50"}, 2, false},
		"decimal to float":                    {"DECIMAL(65,0) NULL", "MODIFY c FLOAT", []string{"1" + strings.Repeat("0", 39), "1" + strings.Repeat("0", 30)}, 1, false},
		"varchar to shorter":                  {"VARCHAR(10) NULL", "MODIFY c VARCHAR(3)", []string{"'abc'", "'abcd'", "'ab   '", "'ab c'", "''", "NULL", "'abc '"}, 4, false},
		"varchar to shorter, other collation": {"VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL", "MODIFY c VARCHAR(3) COLLATE utf8mb4_bin", []string{"'abc'", "'abcd'", "'ab   '", "'abc '"}, 1, false},
		"text to varchar":                     {"TEXT NULL", "MODIFY c VARCHAR(3)", []string{"'abc   '", "'abcd'"}, 1, false},
		"varchar to char":                     {"VARCHAR(10) NULL", "MODIFY c CHAR(3)", []string{"'abc   '", "'abcd'"}, 1, false},
		"utf8mb4 to latin1":                   {"VARCHAR(10) CHARACTER SET utf8mb4 NULL", "MODIFY c VARCHAR(10) CHARACTER SET latin1", []string{"'é'", "'😀'", "'a€'", "'ő'", "'Ω'", "'plain'"}, 3, false},
		"varchar to tinytext":                 {"VARCHAR(300) CHARACTER SET utf8mb4 NULL", "MODIFY c TINYTEXT CHARACTER SET utf8mb4", []string{long(255, "a"), long(256, "a"), "CONCAT(" + long(255, "a") + ", '   ')", long(128, "é"), long(127, "é")}, 2, false},
		"latin1 text to utf8mb4":              {"TEXT CHARACTER SET latin1 NULL", "MODIFY c VARCHAR(2) CHARACTER SET utf8mb4", []string{"'éé'", "'abc'"}, 1, false},
		"varbinary to utf8mb4":                {"VARBINARY(10) NULL", "MODIFY c VARCHAR(10) CHARACTER SET utf8mb4", []string{"0xC3A9", "0xFF", "'abc'", "0x61C3"}, 2, false},
		"int to varchar":                      {"INT NULL", "MODIFY c VARCHAR(3)", []string{"999", "1000", "-99", "-100"}, 2, false},
		"zerofill to char":                    {"INT(5) ZEROFILL NULL", "MODIFY c CHAR(6)", []string{"12", "1234567"}, 1, false},
		"decimal to varchar":                  {"DECIMAL(6,2) NULL", "MODIFY c VARCHAR(5)", []string{"1.5", "123.45", "-1"}, 1, false},
		"datetime to char":                    {"DATETIME NULL", "MODIFY c CHAR(10)", []string{"'2020-01-01 00:00:00'", "NULL"}, 1, false},
		"date to varchar cannot fail":         {"DATE NULL", "MODIFY c VARCHAR(10)", []string{"'2020-01-01'"}, 0, false},
		"enum to char":                        {"ENUM('abc','de') NULL", "MODIFY c CHAR(2)", []string{"'abc'", "'de'"}, 1, false},
		"char to varchar":                     {"CHAR(5) NULL", "MODIFY c VARCHAR(3)", []string{"'ab'", "'abcd'", "'abc  '"}, 1, false},
		"varchar to varbinary":                {"VARCHAR(10) CHARACTER SET utf8mb4 NULL", "MODIFY c VARBINARY(3)", []string{"'abc'", "'é'", "'éé'", "'ab '", "'abc '"}, 2, false},
		"binary to varbinary":                 {"BINARY(4) NULL", "MODIFY c VARBINARY(3)", []string{"'ab'", "NULL"}, 1, false},
		"varbinary to binary":                 {"VARBINARY(10) NULL", "MODIFY c BINARY(3)", []string{"'ab'", "'abcd'", "0x61620000", "'abc'"}, 2, false},
		"int to varbinary":                    {"INT NULL", "MODIFY c VARBINARY(2)", []string{"99", "100", "-9", "-10"}, 2, false},
		"blob to tinyblob":                    {"BLOB NULL", "MODIFY c TINYBLOB", []string{long(255, "x"), long(256, "x")}, 1, false},
		"enum loses a member":                 {"ENUM('a','B','c') NULL", "MODIFY c ENUM('A','b')", []string{"'a'", "'B'", "'c'", "''", "NULL", "'x'"}, 1, false},
		"enum in a binary collation":          {"ENUM('a','b') NULL", "MODIFY c ENUM('A','b') CHARACTER SET latin1 COLLATE latin1_bin", []string{"'a'", "'b'"}, 1, false},
		"set loses a member":                  {"SET('a','b','c') NULL", "MODIFY c SET('A','c')", []string{"'a,c'", "'b'", "''", "'a,b'", "'c'"}, 2, false},
		"enum to set":                         {"ENUM('a','b','x') NULL", "MODIFY c SET('a','b')", []string{"'a'", "'x'", "''"}, 1, false},
		"set to enum":                         {"SET('a','b') NULL", "MODIFY c ENUM('a','b')", []string{"'a'", "'a,b'", "''"}, 2, false},
		"int to enum":                         {"INT NULL", "MODIFY c ENUM('a','b')", []string{"0", "1", "2", "3", "-1"}, 3, false},
		"datetime to timestamp":               {"DATETIME(6) NULL", "MODIFY c TIMESTAMP NULL", []string{"'1970-01-01 00:00:00.5'", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.9'", "'2038-01-19 03:14:08'", "'0000-00-00 00:00:00'", "'2020-00-05 00:00:00'", "'1969-12-31 23:59:59'", "'9999-12-31 23:59:59'", "'2020-05-00 10:00:00'"}, 6, false},
		"datetime to timestamp(3)":            {"DATETIME(6) NULL", "MODIFY c TIMESTAMP(3) NULL", []string{"'1970-01-01 00:00:00.0005'", "'1970-01-01 00:00:00.001'", "'2038-01-19 03:14:07.9999'"}, 1, false},
		"date to timestamp":                   {"DATE NULL", "MODIFY c TIMESTAMP NULL", []string{"'1970-01-01'", "'1970-01-02'", "'0000-00-00'", "'2040-01-01'", "'2020-02-00'"}, 3, false},
		"timestamp loses its fraction":        {"TIMESTAMP(1) NULL", "MODIFY c TIMESTAMP NULL", []string{"'1970-01-01 00:00:00.5'", "'1970-01-01 00:00:01.5'"}, 1, false},
		"int to year":                         {"INT NULL", "MODIFY c YEAR", []string{"0", "99", "100", "1901", "2155", "2156", "1900", "-1"}, 4, false},
		"datetime to date cannot fail":        {"DATETIME NULL", "MODIFY c DATE", []string{"'2020-01-01 10:00:00'", "'0000-00-00 00:00:00'"}, 0, false},
		"bit to narrower bit":                 {"BIT(8) NULL", "MODIFY c BIT(4)", []string{"15", "16"}, 1, false},
		"int to bit":                          {"INT NULL", "MODIFY c BIT(4)", []string{"-1", "0", "15", "16"}, 2, false},
		"not null over nulls":                 {"INT NULL", "MODIFY c INT NOT NULL", []string{"NULL", "NULL", "1"}, 2, false},
		"not null and shorter":                {"VARCHAR(5) NULL", "MODIFY c VARCHAR(3) NOT NULL", []string{"NULL", "'abcd'", "'ab'"}, 2, false},
		"a new check":                         {"INT NULL", "ADD CONSTRAINT ck CHECK (c > 0)", []string{"0", "1", "NULL", "-5"}, 2, false},
		"a new column check":                  {"INT NULL", "MODIFY c INT CHECK (c < 10)", []string{"10", "9", "NULL"}, 1, false},
		"text to json (a check)":              {"VARCHAR(20) NULL", "MODIFY c JSON", []string{`'{"a":1}'`, "'x'", "'[1,'"}, 2, false},
		"varchar to int is unchecked":         {"VARCHAR(10) NULL", "MODIFY c INT", []string{"'1'"}, 0, true},
		"varchar to datetime unchecked":       {"VARCHAR(30) NULL", "MODIFY c DATETIME", []string{"'2020-01-01'"}, 0, true},
		"varchar to enum is unchecked":        {"VARCHAR(10) NULL", "MODIFY c ENUM('a')", []string{"'a'"}, 0, true},
	}
	ctx := context.Background()
	schema, db := sb.NewDB(t)
	flavor := Flavor{TimestampEnd: TimestampEnd2038}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			src, dst := fmt.Sprintf("s%d", i), fmt.Sprintf("d%d", i)
			sandbox.MustExec(t, db, fmt.Sprintf("CREATE TABLE %s (id INT PRIMARY KEY, c %s)", src, tc.from))
			for j, v := range tc.values {
				sandbox.MustExec(t, db, fmt.Sprintf("SET STATEMENT sql_mode='' FOR INSERT INTO %s VALUES (%d, %s)", src, j+1, v))
			}
			sandbox.MustExec(t, db, "CREATE TABLE "+dst+" LIKE "+src, "ALTER TABLE "+dst+" "+tc.alter)
			orig, err := table.Inspect(ctx, db, schema, src)
			if err != nil {
				t.Fatal(err)
			}
			ghost, ghostChecks := probe(t, db, schema, src, tc.alter)
			origChecks, err := ReadChecks(ctx, db, schema, src)
			if err != nil {
				t.Fatal(err)
			}
			m := table.MapColumns(orig, ghost, nil)
			conds, unchecked := Plan(Config{Orig: orig, Ghost: ghost, Mapping: m, OrigChecks: origChecks, GhostChecks: ghostChecks, Flavor: flavor})
			if tc.unchecked {
				if len(unchecked) != 1 || len(conds) != 0 {
					t.Fatalf("conditions %v, unchecked %v: want the change reported as unchecked", conds, unchecked)
				}
				return
			}
			if len(unchecked) > 0 {
				t.Fatalf("unchecked: %v", unchecked)
			}
			refused := alterRefuses(t, db, src, tc.alter, len(tc.values))
			if len(refused) != tc.bad {
				t.Fatalf("the server's ALTER refuses rows %v, the case expects %d of them: fix the case", refused, tc.bad)
			}
			// The copy must not refuse a row the ALTER takes: doppel would fail where the native
			// ALTER succeeds, after the ghost exists.
			copyRefused := copyRefuses(t, db, src, dst, len(tc.values))
			for _, id := range copyRefused {
				if !slices.Contains(refused, id) {
					t.Errorf("the copy refuses row %d, which the native ALTER takes", id)
				}
			}
			if len(copyRefused) < len(refused) {
				// MariaDB 10.11 stores an empty value, without a warning, for a BLOB or TEXT column
				// copied by INSERT … SELECT into a shorter one: such rows must be counted first.
				t.Logf("the copy takes rows %v that the native ALTER refuses (rows %v)", diff(refused, copyRefused), refused)
			}
			if tc.bad == 0 && len(conds) > 0 {
				t.Errorf("conditions %v for a change that cannot fail", conds)
			}
			var flagged []int
			for _, c := range conds {
				flagged = append(flagged, rowsMeeting(t, db, orig, m, c)...)
			}
			slices.Sort(flagged)
			flagged = slices.Compact(flagged)
			if !slices.Equal(flagged, refused) {
				t.Errorf("the conditions flag rows %v, the server refuses rows %v; conditions: %v", flagged, refused, conds)
			}
			counts, err := Count(ctx, db, orig, m, conds)
			if err != nil {
				t.Fatal(err)
			}
			for j, c := range conds {
				if want := int64(len(rowsMeeting(t, db, orig, m, c))); counts[j] != want {
					t.Errorf("Count gives %d rows for %q, want %d", counts[j], c.SQL, want)
				}
			}
		})
	}
}

// probe applies alter to a temporary copy of table src, and reads it as validation does.
func probe(t *testing.T, db *sql.DB, schema, src, alter string) (*table.Table, []Check) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE TEMPORARY TABLE p LIKE " + src, "ALTER TABLE p " + alter} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer func() { _, _ = conn.ExecContext(ctx, "DROP TEMPORARY TABLE p") }()
	ghost, err := table.InspectTemporary(ctx, conn, schema, "p")
	if err != nil {
		t.Fatal(err)
	}
	checks, err := ReadChecks(ctx, conn, schema, "p")
	if err != nil {
		t.Fatal(err)
	}
	return ghost, checks
}

// alterRefuses returns the rows of src that the native ALTER refuses: each row is copied alone into
// a temporary copy of src, in a doppel session, and the ALTER run there.
func alterRefuses(t *testing.T, db *sql.DB, src, alter string, rows int) []int {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []int
	for id := 1; id <= rows; id++ {
		for _, q := range []string{"CREATE TEMPORARY TABLE r LIKE " + src, fmt.Sprintf("INSERT INTO r SELECT * FROM %s WHERE id = %d", src, id)} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "ALTER TABLE r "+alter); err != nil {
			out = append(out, id)
		}
		if _, err := conn.ExecContext(ctx, "DROP TEMPORARY TABLE r"); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func diff(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// copyRefuses returns the rows of src that the copy's INSERT … SELECT cannot write into dst.
func copyRefuses(t *testing.T, db *sql.DB, src, dst string, rows int) []int {
	t.Helper()
	var out []int
	for id := 1; id <= rows; id++ {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(fmt.Sprintf("INSERT INTO %s (id, c) SELECT id, c FROM %s WHERE id = %d", dst, src, id)); err != nil {
			out = append(out, id)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// rowsMeeting returns the ids of the rows meeting c.
func rowsMeeting(t *testing.T, db *sql.DB, orig *table.Table, m table.Mapping, c Cond) []int {
	t.Helper()
	rows, err := db.Query("SELECT " + sqlbuild.QuoteIdent("id") + " FROM " + newSource(orig, m).from + " WHERE " + c.SQL)
	if err != nil {
		t.Fatalf("%s: %v", c.SQL, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTrialQuotesTheServer runs the ALTER natively on one offending row and quotes the server.
func TestTrialQuotesTheServer(t *testing.T) {
	ctx := context.Background()
	schema, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, n INT NULL, v VARCHAR(10) NULL)",
		"INSERT INTO t VALUES (1, NULL, 'abcdef'), (2, 5, 'ab'), (3, 1, '😀')")
	orig, err := table.Inspect(ctx, db, schema, "t")
	if err != nil {
		t.Fatal(err)
	}
	m := table.MapColumns(orig, orig, nil)
	cases := []struct {
		name, alter, cond string
		others            []Cond
		reason            string
		accepted, found   bool
	}{
		{"NOT NULL", "MODIFY n INT NOT NULL", "`n` IS NULL", nil, "Data truncated for column 'n' at row 1", false, true},
		{"a CHECK, named after the original", "ADD CONSTRAINT ck CHECK (n > 6)", "NOT (`n` > 6)", nil, "CONSTRAINT `ck` failed for `" + schema + "`.`t`", false, true},
		{"a FULLTEXT key the temporary table cannot have", "ADD FULLTEXT KEY ft (v), MODIFY v VARCHAR(3)", "CHAR_LENGTH(`v`) > 3", nil, "Data truncated for column 'v' at row 1", false, true},
		{"a row failing on its own column only", "MODIFY n INT NOT NULL, MODIFY v VARCHAR(1)", "CHAR_LENGTH(`v`) > 1", []Cond{{SQL: "`n` IS NULL"}}, "Data truncated for column 'v' at row 1", false, true},
		{"a character the new character set lacks (a warning the copy of the row must not make an error)", "MODIFY v VARCHAR(10) CHARACTER SET latin1",
			"CAST(CONVERT(CONVERT(`v` USING latin1) USING utf8mb4) AS BINARY) <> CAST(`v` AS BINARY)", nil,
			"Incorrect string value: '…' for column `" + schema + "`.`t`.`v` at row 1", false, true},
		{"the server takes the row", "MODIFY n BIGINT", "`n` = 5", nil, "", true, true},
		{"no row any more", "MODIFY n INT NOT NULL", "`n` = 99", nil, "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason, accepted, found, err := Trial(ctx, db, orig, m, tc.alter, Cond{SQL: tc.cond}, tc.others)
			if err != nil {
				t.Fatal(err)
			}
			if reason != tc.reason || accepted != tc.accepted || found != tc.found {
				t.Errorf("reason %q, accepted %v, found %v; want %q, %v, %v", reason, accepted, found, tc.reason, tc.accepted, tc.found)
			}
		})
	}
	if got := sandbox.Tables(t, db); got != "t" {
		t.Errorf("tables %q after the trials", got)
	}
}
