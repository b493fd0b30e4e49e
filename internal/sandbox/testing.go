package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// RunTests is a TestMain body: it runs the package's tests with Run and exits with its code.
func RunTests(m *testing.M, opts Options, out **Sandbox) { os.Exit(Run(m, opts, out)) }

// Run starts a sandbox with opts, stores it in *out, runs the package's tests, checks that they
// leaked no goroutines, stops the sandbox and returns the exit code. A sandbox that cannot start
// fails the run: integration tests are never skipped silently. A TestMain with its own clean-up
// calls Run rather than RunTests, so that its deferred calls run before it exits.
func Run(m *testing.M, opts Options, out **Sandbox) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	sb, err := Start(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	*out = sb
	code := m.Run()
	if err := sb.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	return code
}

var nonWord = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates an empty database on the primary for one test and drops it when the test ends.
func (sb *Sandbox) NewDatabase(t testing.TB) string {
	t.Helper()
	name := nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("t%d_%s", sb.dbSeq.Add(1), name)
	db, err := sb.Primary.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		db, err := sb.Primary.DB("")
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return name
}

// NewDB is NewDatabase plus a pool on it (doppel's session settings) that the test's clean-up
// closes, with statements run in it first.
func (sb *Sandbox) NewDB(t testing.TB, statements ...string) (string, *sql.DB) {
	t.Helper()
	name := sb.NewDatabase(t)
	db, err := sb.Primary.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	MustExec(t, db, statements...)
	return name, db
}

// MustExec runs statements on db, failing the test at the first error.
func MustExec(t testing.TB, db *sql.DB, statements ...string) {
	t.Helper()
	for _, s := range statements {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Tables lists the tables of db's database, sorted, comma-separated.
func Tables(t testing.TB, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
