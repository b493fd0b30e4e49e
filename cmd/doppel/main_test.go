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
		{"unknown flag", []string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"--table=t", "oops"}, 2, `unexpected argument "oops"`},
		{"bad log format", []string{"--log-format=xml"}, 2, "--log-format"},
		{"missing required", []string{"--host=127.0.0.1", "--port=1"}, 1, "--database is required"},
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
		})
	}
}
