package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"version", []string{"--version"}, 0, "doppel dev"},
		{"help", []string{"--help"}, 0, "--alter"},
		{"unknown flag", []string{"--no-such-flag"}, 2, "doppel: unknown flag --no-such-flag (doppel --help lists every flag)"},
		{"typo", []string{"--chunk-sise=10"}, 2, "unknown flag --chunk-sise; did you mean --chunk-size?"},
		{"underscores", []string{"--max_lag_millis=10"}, 2, "did you mean --max-lag-millis?"},
		{"bad value", []string{"--port=x"}, 2, `invalid value "x" for flag --port`},
		{"check-flag", []string{"--check-flag", "--skip-metadata-lock-check", "--gtid", "--chunk-size=10"}, 0, ""},
		{"check-flag unknown", []string{"--check-flag", "--no-such-flag"}, 2, "unknown flag --no-such-flag"},
		{"help lists the subcommands", []string{"--help"}, 0, "doppel plan --host"},
		{"stray argument", []string{"--table=t", "oops"}, 2, `unexpected argument "oops"`},
		{"bad log format", []string{"--log-format=xml"}, 2, "--log-format"},
		{"missing required", []string{"--host=127.0.0.1", "--port=1"}, 1, "--database is required"},
		{"out of range", []string{"--database=d", "--table=t", "--alter=ADD COLUMN x INT", "--replica-server-id=4294967297"}, 2, "--replica-server-id 4294967297 is out of range"},
		{"chunk size out of range", []string{"--database=d", "--table=t", "--alter=ADD COLUMN x INT", "--chunk-size=5"}, 2, "--chunk-size 5 is out of range"},
		{"out of range and missing", []string{"--port=0"}, 2, "--database is required"},
		{"bad throttle query", []string{"--host=127.0.0.1", "--port=1", "--database=d", "--table=t", "--alter=ADD COLUMN x INT", "--throttle-query=DROP TABLE t"}, 1, "--throttle-query: a DROP statement"},
		// The ALTER is read as the server reads it, so only once connected (localtests check its refusals).
		{"alter read after connecting", []string{"--host=127.0.0.1", "--port=1", "--database=d", "--table=t", "--alter=RENAME TO u"}, 1, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tc.code, stderr.String())
			}
			if all := stdout.String() + stderr.String(); !strings.Contains(all, tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, all)
			}
			if strings.Contains(tc.out, "flag --") && strings.Count(stderr.String(), "\n") > 1 {
				t.Errorf("a bad command line gave more than one line:\n%s", stderr.String())
			}
		})
	}
}
