package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPlanCommand runs `doppel plan` against the sandbox: its exit code is the verdict, the ALTER is
// read as the server reads it (executable comments, its character sets, MariaDB syntax), and what it
// cannot plan is exit code 3.
func TestPlanCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbName, _ := newDatabase(ctx, t,
		"CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL DEFAULT '', note TEXT) DEFAULT CHARSET=utf8mb4",
		"INSERT INTO orders (id, name) SELECT seq, CONCAT('n', seq) FROM seq_1_to_100",
	)
	p := sb.Primary.Config()
	plan := func(alter string, extra ...string) (int, string, string) {
		args := append([]string{"plan", "--host=" + p.Host, fmt.Sprintf("--port=%d", p.Port), "--user=root",
			"--database=" + dbName, "--table=orders", "--alter=" + alter}, extra...)
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	for _, tc := range []struct {
		name, alter string
		code        int
		out         string
		flags       []string
	}{
		{"safe", "ADD COLUMN c INT", 0, "safe (exit 0)", nil},
		{"needs care", "ADD UNIQUE KEY uk (name)", 1, "needs care (exit 1)", []string{"--allow-unique-key-change"}},
		// A migration without --allow-unique-key-change refuses it: so does the plan, in its words.
		{"refused as a migration refuses it", "ADD UNIQUE KEY uk (name)", 2, "a migration refuses this change: the ALTER adds unique key `uk`", nil},
		{"refused", "DROP COLUMN note", 2, "refused (exit 2)", nil},
		{"what a migration refuses is planned", "ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES x (id)", 2, "doppel does not carry foreign keys", nil},
		{"MariaDB executable comment", "ADD COLUMN c INT /*M!100000 , ADD COLUMN d INT */", 0, "ADD COLUMN `d` INT", nil},
		{"the server's character sets", "MODIFY note TEXT CHARACTER SET cp1251", 2, "cp1251", nil},
		{"MariaDB syntax", "ADD COLUMN ip INET6 NULL", 1, "MariaDB syntax", nil},
		{"whole statement", "ALTER TABLE orders ADD COLUMN c INT;", 0, "ALTER: ADD COLUMN c INT\n", nil},
		// Nothing to plan, but a migration refuses them before anything starts: refused, in its words.
		{"missing table", "ADD COLUMN c INT", 2, "does not exist", []string{"--table=nope"}},
		{"unreadable ALTER", "ADD COLUMNN c INT", 2, "cannot parse --alter", nil},
		{"system versioning", "ADD SYSTEM VERSIONING", 2, "SYSTEM VERSIONING", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := plan(tc.alter, tc.flags...)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("exit %d, want %d; output lacks %q?\n%s%s", code, tc.code, tc.out, out, errOut)
			}
		})
	}

	code, out, errOut := plan("ADD COLUMN c INT", "--output=json")
	var report struct {
		Verdict string `json:"verdict"`
		Alter   string `json:"alter"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != 0 || report.Verdict != "safe" || report.Alter != "ADD COLUMN c INT" {
		t.Errorf("--output=json: exit %d, %+v, %v\n%s%s", code, report, err, out, errOut)
	}

}
