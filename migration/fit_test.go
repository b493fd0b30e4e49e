package migration

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

// TestRefusesRowsThatDoNotFit: rows the altered table cannot hold are counted before anything is
// created, and the refusal gives, per column and per CHECK constraint, the count and the server's
// own error for one of them.
func TestRefusesRowsThatDoNotFit(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, n INT NULL, v VARCHAR(10) NULL, d DATETIME NULL, u INT NULL)",
		"INSERT INTO t VALUES (1, NULL, 'ab', NULL, 1000), (2, NULL, 'ab', NULL, 1), (3, 7, 'abcdef', NULL, 1), (4, 8, 'x', '2040-01-01', 1), "+
			"(5, NULL, 'abcdefg', NULL, 1), (150, 9, 'x', NULL, 1)")
	waitReplica(t)
	cfg := testConfig(name, "MODIFY n INT NOT NULL, MODIFY v VARCHAR(3), MODIFY d TIMESTAMP NULL, MODIFY u TINYINT, ADD CONSTRAINT ck CHECK (id < 100)")
	err := refusedWith(t, cfg, db)
	for _, want := range []string{
		"`" + name + "`.`t` holds rows that the altered table cannot hold",
		"column `n`: 3 rows with NULL, which the column no longer allows (NOT NULL) (the server's ALTER on one of them: \"Data truncated for column 'n' at row 1\")",
		"column `v`: 2 rows with values longer than 3 characters (the server's ALTER on one of them: \"Data truncated for column 'v' at row 1\")",
		"column `d`: 1 row with dates outside TIMESTAMP's range",
		"Incorrect datetime value: '…' for column `" + name + "`.`t`.`d` at row 1",
		"column `u`: 1 row with values outside the range of TINYINT(4) (each also holds a value another column cannot take; the server's ALTER on one of them: \"Data truncated for column 'n' at row 1\")",
		"CHECK constraint `ck`: 1 row with values that violate CHECK (`id` < 100) (the server's ALTER on one of them: \"CONSTRAINT `ck` failed for `" + name + "`.`t`\")",
		"nothing was created",
	} {
		if !strings.Contains(err, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, err)
		}
	}
	if strings.Contains(err, "2040") {
		t.Errorf("the refusal shows a row's value:\n%s", err)
	}
	if strings.Contains(err, "not strict") {
		t.Errorf("the sandbox's sql_mode is strict:\n%s", err)
	}
}

// TestUncheckedConversionIsTried: a conversion doppel has no exact condition for is tried by the
// server on every value before anything is created: the migration goes on when the values convert,
// and is refused with the server's own reason when one does not.
func TestUncheckedConversionIsTried(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10) NULL)", "INSERT INTO t SELECT seq, seq * 3 FROM seq_1_to_25000", "INSERT INTO t VALUES (0, NULL)")
	waitReplica(t)
	cfg := testConfig(name, "MODIFY s INT NULL")
	cfg.Execute = false
	core, logs := observer.New(zap.InfoLevel)
	cfg.Logger = zap.New(core)
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("trying the conversion of every value with the server").Len() != 1 {
		t.Errorf("the conversion was not tried: %v", logs.All())
	}
	// A value past the first chunk that a native ALTER refuses ('0.5' is no integer to it, though an
	// INSERT … SELECT would store 1).
	exec(t, db, "UPDATE t SET s = '0.5' WHERE id = 24000")
	waitReplica(t)
	err := refusedWith(t, testConfig(name, "MODIFY s INT NULL"), db)
	if !strings.Contains(err, "column `s`: a value that does not convert to its new type") || !strings.Contains(err, "Truncated incorrect INTEGER value") {
		t.Errorf("refusal without the server's reason:\n%s", err)
	}
	if strings.Contains(err, "0.5") {
		t.Errorf("the refusal shows a row's value:\n%s", err)
	}
}

// TestZeroDateDefaultUnderTheServersMode: with a strict server sql_mode that has NO_ZERO_DATE, an
// ALTER giving a column a zero-date default is refused before anything is created, as the native
// ALTER is (and the application's INSERTs leaving the column out would be after the swap);
// --allow-zero-in-date lets it run, as in gh-ost.
func TestZeroDateDefaultUnderTheServersMode(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT NULL)", "INSERT INTO t VALUES (1, 1), (2, 2)")
	waitReplica(t)
	setGlobalSQLMode(t, db, "STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")
	alter := "ADD COLUMN d DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00'"
	err := refusedWith(t, testConfig(name, alter), db)
	for _, want := range []string{"the ALTER fails on a copy of t", "Invalid default value for 'd'", "refuses zero dates", "--allow-zero-in-date"} {
		if !strings.Contains(err, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, err)
		}
	}
	cfg := testConfig(name, alter)
	cfg.AllowZeroInDate = true
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if ddl := showCreate(t, db, "t"); !strings.Contains(ddl, "`d` datetime NOT NULL DEFAULT '0000-00-00 00:00:00'") {
		t.Errorf("the migrated table:\n%s", ddl)
	}
	// The table now has a zero-date default: under this mode even an unrelated ALTER of it is refused,
	// natively and by doppel, unless zero dates are allowed.
	exec(t, db, "DROP TABLE _t_del")
	err = refusedWith(t, testConfig(name, "ADD COLUMN w INT NULL"), db)
	if !strings.Contains(err, "t cannot be altered under the server's sql_mode") || !strings.Contains(err, "--allow-zero-in-date") {
		t.Errorf("an ALTER of a table with a zero-date default: %s", err)
	}
	cfg = testConfig(name, "ADD COLUMN w INT NULL")
	cfg.AllowZeroInDate = true
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestNotStrictServerModeIsNamed: under a server sql_mode that is not strict a native ALTER would
// change the values instead of failing; the refusal says so.
func TestNotStrictServerModeIsNamed(t *testing.T) {
	name, db := sb.NewDB(t, "CREATE TABLE t (id INT PRIMARY KEY, n INT NULL)", "INSERT INTO t VALUES (1, NULL)")
	waitReplica(t)
	setGlobalSQLMode(t, db, "NO_ENGINE_SUBSTITUTION")
	err := refusedWith(t, testConfig(name, "MODIFY n INT NOT NULL"), db)
	if !strings.Contains(err, "column `n`: 1 row with NULL") || !strings.Contains(err, "(NO_ENGINE_SUBSTITUTION), which is not strict") {
		t.Errorf("the refusal: %s", err)
	}
}

// refusedWith runs cfg, checks that it is refused before anything was created, and returns the message.
func refusedWith(t *testing.T, cfg Config, db *sql.DB) string {
	t.Helper()
	before := tableList(t, db)
	var out bytes.Buffer
	cfg.Out = &out
	_, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatalf("not refused; output:\n%s", out.String())
	}
	if !IsRefusal(err) {
		t.Fatalf("not a refusal: %v", err)
	}
	if after := tableList(t, db); after != before {
		t.Fatalf("tables changed from %q to %q", before, after)
	}
	return err.Error()
}

// setGlobalSQLMode sets the primary's global sql_mode for the test. doppel's own sessions set
// theirs, and this package's tests run one at a time.
func setGlobalSQLMode(t *testing.T, db *sql.DB, mode string) {
	t.Helper()
	var old string
	if err := db.QueryRow("SELECT @@GLOBAL.sql_mode").Scan(&old); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "SET GLOBAL sql_mode = '"+mode+"'")
	t.Cleanup(func() { sandbox.MustExec(t, db, "SET GLOBAL sql_mode = '"+old+"'") })
}

func TestSQLModeHelpers(t *testing.T) {
	const mysqlDefault = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
	if got, want := withoutModes(mysqlDefault, zeroDateModes...), "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"; got != want {
		t.Errorf("withoutModes = %q, want %q", got, want)
	}
	if got := withoutModes("", zeroDateModes...); got != "" {
		t.Errorf("withoutModes of the empty mode = %q", got)
	}
	for _, tc := range []struct {
		mode   string
		strict bool
	}{
		{mysqlDefault, true},
		{"STRICT_ALL_TABLES", true},
		{"NO_ENGINE_SUBSTITUTION", false},
		{"", false},
		{"NO_STRICT_TRANS_TABLESX", false},
	} {
		if got := isStrict(tc.mode); got != tc.strict {
			t.Errorf("isStrict(%q) = %v", tc.mode, got)
		}
	}
	invalidDefault := &mysql.MySQLError{Number: 1067, Message: "Invalid default value for 'd'"}
	if hint := zeroDateHint(mysqlDefault, invalidDefault); !strings.Contains(hint, "--allow-zero-in-date") {
		t.Errorf("no hint under NO_ZERO_DATE: %q", hint)
	}
	if hint := zeroDateHint("STRICT_TRANS_TABLES", invalidDefault); hint != "" {
		t.Errorf("a hint without the zero date modes: %q", hint)
	}
	if hint := zeroDateHint(mysqlDefault, &mysql.MySQLError{Number: 1064}); hint != "" {
		t.Errorf("a hint for a syntax error: %q", hint)
	}
}
