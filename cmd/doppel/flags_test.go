package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/migration"
)

func parse(t *testing.T, args ...string) (*flag.FlagSet, *options) {
	t.Helper()
	fs, o := newFlagSet(io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs, o
}

func TestFlagForms(t *testing.T) {
	for _, args := range [][]string{
		{"--host=db1", "--port=3307", "--database=d", "--table=t", "--alter=ADD COLUMN x INT", "--execute", "--chunk-size=500"},
		{"-host", "db1", "-port", "3307", "-database", "d", "-table", "t", "-alter", "ADD COLUMN x INT", "-execute", "-chunk-size", "500"},
		{"--host", "db1", "--port", "3307", "--database", "d", "--table", "t", "--alter", "ADD COLUMN x INT", "--execute", "--chunk-size", "500"},
	} {
		fs, o := parse(t, args...)
		c, err := o.config(fs)
		if err != nil {
			t.Fatal(err)
		}
		if c.Conn.Host != "db1" || c.Conn.Port != 3307 || c.Database != "d" || c.Table != "t" || c.Alter != "ADD COLUMN x INT" || !c.Execute || c.ChunkSize != 500 {
			t.Errorf("%q parsed as %+v", args, c)
		}
	}
}

func TestConfAndPasswordPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.cnf")
	if err := os.WriteFile(path, []byte("[client]\nuser=confuser\npassword=confpw\nhost=confhost\nport=3310\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, o := parse(t, "--conf="+path, "--user=flaguser")
	c, err := o.config(fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Conn.User != "flaguser" || c.Conn.Password != "confpw" || c.Conn.Host != "confhost" || c.Conn.Port != 3310 {
		t.Errorf("conf merge: %+v", c.Conn)
	}
	t.Setenv("MYSQL_PWD", "envpw")
	fs, o = parse(t, "--user=u")
	if c, _ = o.config(fs); c.Conn.Password != "envpw" {
		t.Errorf("MYSQL_PWD not used: %q", c.Conn.Password)
	}
	fs, o = parse(t, "--password=flagpw")
	if c, _ = o.config(fs); c.Conn.Password != "flagpw" {
		t.Errorf("--password must win over MYSQL_PWD: %q", c.Conn.Password)
	}
}

func TestGhostCompatibleDefaults(t *testing.T) {
	fs, o := parse(t)
	c, err := o.config(fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.ChunkSize != 20000 || c.ChunkTarget != 100*time.Millisecond || !c.DeferSecondaryIndexes || c.CutOverLockTimeout != 3*time.Second || c.DefaultRetries != 60 || c.ServerID != 99999 || c.Execute {
		t.Errorf("defaults %+v", c)
	}
	if fs.Lookup("ssl-ca") == nil || fs.Lookup("initially-drop-ghost-table") == nil {
		t.Error("gh-ost flag missing")
	}
}

// TestEveryFlagIsDocumented keeps docs/flags.md in step with the flags.
func TestEveryFlagIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/flags.md")
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newFlagSet(io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(string(doc), "`--"+f.Name+"`") {
			t.Errorf("flag --%s is not in docs/flags.md", f.Name)
		}
	})
}

// TestGhostRunbookFlags: flags that gh-ost runbooks commonly carry are accepted, and do what doppel
// can honestly do with them.
func TestGhostRunbookFlags(t *testing.T) {
	for _, c := range []struct {
		args    []string
		check   func(o *options, c migration.Config) bool
		wantErr string
	}{
		{[]string{"--exact-rowcount"}, func(_ *options, c migration.Config) bool { return c.ExactRowCount && c.ConcurrentRowCount }, ""},
		{[]string{"--exact-rowcount", "--concurrent-rowcount=false"}, func(_ *options, c migration.Config) bool { return c.ExactRowCount && !c.ConcurrentRowCount }, ""},
		{[]string{"--timestamp-old-table"}, func(_ *options, c migration.Config) bool { return c.TimestampOldTable }, ""},
		{[]string{"--allow-master-master"}, func(_ *options, c migration.Config) bool { return c.AllowMasterMaster }, ""},
		// Accepted and changing nothing: doppel never changes binlog_format.
		{[]string{"--assume-rbr", "--switch-to-rbr"}, func(o *options, _ migration.Config) bool { return o.assumeRBR && o.switchRBR }, ""},
		{[]string{"--cut-over=atomic"}, func(*options, migration.Config) bool { return true }, ""},
		{[]string{"--cut-over=default"}, func(*options, migration.Config) bool { return true }, ""},
		{[]string{"--cut-over=two-step"}, nil, "always the atomic one"},
	} {
		fs, o := parse(t, c.args...)
		cfg, err := o.config(fs)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want one saying %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !c.check(o, cfg) {
			t.Errorf("%q parsed as %+v", c.args, cfg)
		}
	}
}
