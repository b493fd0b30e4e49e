package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMigrateCommand(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		command string
		n       int
		err     string
	}{
		{[]string{"up"}, "up", 0, ""},
		{[]string{"up", "2"}, "up", 2, ""},
		{[]string{"down", "1"}, "down", 1, ""},
		{[]string{"plan", "3"}, "plan", 3, ""},
		{[]string{"status"}, "status", 0, ""},
		{[]string{"status", "2"}, "", 0, "takes no count"},
		{[]string{"up", "0"}, "", 0, "1 or more"},
		{[]string{"up", "x"}, "", 0, "1 or more"},
		{[]string{"up", "1", "2"}, "", 0, "unexpected"},
		{[]string{"upp"}, "", 0, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, n, err := migrateCommand(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || c != tc.command || n != tc.n {
				t.Errorf("%s %d %v, want %s %d", c, n, err, tc.command, tc.n)
			}
		})
	}
}

func TestMigrateCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"help", []string{"migrate", "--help"}, 0, "Commands:"},
		{"no command", []string{"migrate", "--dir=x"}, 2, "Usage:"},
		{"unknown command", []string{"migrate", "--dir=x", "upp"}, 2, `unknown command "upp"`},
		{"one ALTER's flags", []string{"migrate", "--dir=x", "--table=t", "up"}, 2, "--table and --alter are for one ALTER"},
		{"bad threshold", []string{"migrate", "--dir=x", "--online-threshold=lots", "up"}, 2, "--online-threshold"},
		{"unknown flag", []string{"migrate", "--dirr=x", "up"}, 2, "unknown flag --dirr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
				t.Errorf("exit %d, want %d; output lacks %q?\n%s%s", code, tc.code, tc.out, stdout.String(), stderr.String())
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"32MiB", 32 << 20, false},
		{"32M", 32 << 20, false},
		{"1GiB", 1 << 30, false},
		{"512KiB", 512 << 10, false},
		{"1000", 1000, false},
		{"0", 0, false},
		{"10TB", 0, true},
		{"-1", 0, true},
		{"MiB", 0, true},
	} {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// TestMigrateEndToEnd runs doppel migrate as a user does: the plan as a CI gate (JSON, exit code),
// up without and with --execute (an online step through package migration), status, validate and
// test on a throwaway sandbox.
func TestMigrateEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dbName, db := newDatabase(ctx, t,
		"CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL DEFAULT '', note TEXT)",
		"INSERT INTO orders (id, name) SELECT seq, CONCAT('n', seq) FROM seq_1_to_3000",
	)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"V1__add_c.sql":      "ALTER TABLE orders ADD COLUMN c INT NULL;",
		"U1__add_c.sql":      "ALTER TABLE orders DROP COLUMN c;",
		"V2__index_name.sql": "ALTER TABLE orders ADD INDEX name (name);",
		"U2__index_name.sql": "ALTER TABLE orders DROP INDEX name;",
		"V3__drop_note.sql":  "ALTER TABLE orders DROP COLUMN note;",
		"U3__drop_note.sql":  "ALTER TABLE orders ADD COLUMN note TEXT AFTER name;",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := sb.Primary.Config()
	migrate := func(args ...string) (int, string, string) {
		all := append([]string{"migrate", "--host=" + p.Host, fmt.Sprintf("--port=%d", p.Port), "--user=root", "--database=" + dbName, "--dir=" + dir,
			"--throttle-additional-flag-file=", "--cut-over-lock-timeout-seconds=2"}, args...)
		var stdout, stderr bytes.Buffer
		code := run(ctx, all, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	gate := func(args ...string) (int, string) {
		code, out, errOut := migrate(append([]string{"plan", "--output=json"}, args...)...)
		var report struct {
			Verdict string `json:"verdict"`
		}
		if err := json.Unmarshal([]byte(out), &report); err != nil {
			t.Fatalf("plan --output=json: %v\n%s%s", err, out, errOut)
		}
		return code, report.Verdict
	}
	if code, verdict := gate(); code != 2 || verdict != "refused" {
		t.Errorf("the plan of all three: exit %d, %s; want 2, refused (V3 drops a column)", code, verdict)
	}
	if code, verdict := gate("--allow-data-loss"); code == 2 || verdict == "refused" {
		t.Errorf("with --allow-data-loss: exit %d, %s", code, verdict)
	}
	if code, verdict := gate("2"); code != 0 || verdict != "safe" {
		t.Errorf("the plan of the first two: exit %d, %s; want 0, safe", code, verdict)
	}
	code, out, errOut := migrate("up", "2")
	if code != 0 || !strings.Contains(out, "without --execute nothing ran") {
		t.Fatalf("up 2 without --execute: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = migrate("up", "2", "--execute", "--online-threshold=0")
	if code != 0 || !strings.Contains(out, "V2__index_name.sql statement 1 (line 1): online") {
		t.Fatalf("up 2 --execute: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = migrate("status")
	if code != 0 || !strings.Contains(out, "applied") || !strings.Contains(out, "pending") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	if code, out, errOut := migrate("validate"); code != 0 {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
	var indexes int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders' AND INDEX_NAME = 'name'", dbName).Scan(&indexes); err != nil || indexes != 1 {
		t.Errorf("the online step did not add the index (%v)", err)
	}
	code, out, errOut = migrate("test")
	if code != 0 || !strings.Contains(out, "V3__drop_note.sql: up, down, up: the down restores the schema exactly") {
		t.Errorf("test: exit %d\n%s%s", code, out, errOut)
	}
}
