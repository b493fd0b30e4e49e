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
	if c.ChunkSize != 20000 || c.ChunkTarget != 100*time.Millisecond || c.DeferIndexes != migration.DeferWithoutReplicas || c.CutOverLockTimeout != 3*time.Second || c.DefaultRetries != 60 || c.ServerID != 99999 || c.Execute {
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

// TestEveryGhostFlagIsKnown feeds every flag of gh-ost's command line (testdata/gh-ost-flags.txt)
// to doppel: none is unknown, so a gh-ost command line never stops on Go's usage dump.
func TestEveryGhostFlagIsKnown(t *testing.T) {
	text, err := os.ReadFile("testdata/gh-ost-flags.txt")
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newFlagSet(io.Discard)
	n := 0
	for _, name := range strings.Split(string(text), "\n") {
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		n++
		if fs.Lookup(name) == nil {
			t.Errorf("gh-ost's --%s is unknown to doppel", name)
		}
	}
	if n < 100 {
		t.Errorf("only %d gh-ost flags listed", n)
	}
}

// TestEveryFlagHasAGroup: doppel --help shows every flag, once, in its group.
func TestEveryFlagHasAGroup(t *testing.T) {
	fs, _ := newFlagSet(io.Discard)
	seen := map[string]int{}
	for _, g := range flagGroups {
		for _, name := range g.names {
			seen[name]++
			if fs.Lookup(name) == nil {
				t.Errorf("group %s names --%s, which does not exist", g.title, name)
			}
		}
	}
	for _, g := range ghostFlags {
		seen[g.name]++
	}
	fs.VisitAll(func(f *flag.Flag) {
		if seen[f.Name] != 1 {
			t.Errorf("--%s is in %d groups of the help, want 1", f.Name, seen[f.Name])
		}
	})
}

// TestOscConf: gh-ost's [osc] section of --conf sets chunk_size, max_load and max_lag_millis unless
// the command line gives them.
func TestOscConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gh-ost.cnf")
	if err := os.WriteFile(path, []byte("[client]\nuser=${DOPPEL_TEST_USER}\n[osc]\nchunk_size=500\nmax_load=Threads_running=30\nmax_lag_millis=2500\nreplication_lag_query=SELECT 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOPPEL_TEST_USER", "from-env")
	fs, o := parse(t, "--conf="+path, "--max-lag-millis=1000")
	c, err := o.config(fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Conn.User != "from-env" || c.ChunkSize != 500 || c.Throttle.MaxLoad != "Threads_running=30" || c.Throttle.MaxLag != time.Second {
		t.Errorf("user %q, chunk size %d, max load %q, max lag %s", c.Conn.User, c.ChunkSize, c.Throttle.MaxLoad, c.Throttle.MaxLag)
	}
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
		{[]string{"--revert", "--old-table=_t_del"}, func(_ *options, c migration.Config) bool { return c.Revert && c.OldTable == "_t_del" }, ""},
		{[]string{"--revert-window=30m"}, func(_ *options, c migration.Config) bool { return c.RevertWindow == 30*time.Minute }, ""},
		// Accepted and changing nothing: doppel never changes binlog_format.
		{[]string{"--assume-rbr", "--switch-to-rbr"}, func(o *options, _ migration.Config) bool { return o.assumeRBR && o.switchRBR }, ""},
		{[]string{"--cut-over=atomic"}, func(*options, migration.Config) bool { return true }, ""},
		{[]string{"--cut-over=default"}, func(*options, migration.Config) bool { return true }, ""},
		{[]string{"--cut-over=two-step"}, nil, "always the atomic one"},
		{[]string{"--checkpoint-seconds=300"}, func(_ *options, c migration.Config) bool { return c.CheckpointInterval == 300*time.Second }, ""},
		{[]string{"--cut-over-exponential-backoff", "--exponential-backoff-max-interval=30"}, func(_ *options, c migration.Config) bool {
			return c.CutOverExponentialBackoff && c.ExponentialBackoffMaxInterval == 30*time.Second
		}, ""},
		{[]string{"--force-named-cut-over", "--force-named-panic", "--initially-drop-socket-file"}, func(_ *options, c migration.Config) bool {
			return c.ForceNamedCutOver && c.ForceNamedPanic && c.InitiallyDropSocketFile
		}, ""},
		{[]string{"--hooks-status-interval=5", "--hooks-timeout=10m"}, func(_ *options, c migration.Config) bool {
			return c.HooksStatusInterval == 5*time.Second && c.HooksTimeout == 10*time.Minute
		}, ""},
		{[]string{}, func(_ *options, c migration.Config) bool {
			return c.HooksStatusInterval == time.Minute && c.HooksTimeout == 0
		}, ""},
		{[]string{"--ignore-http-errors"}, func(_ *options, c migration.Config) bool { return c.Throttle.IgnoreHTTPErrors }, ""},
		{[]string{"--master-user=m", "--master-password=mp"}, func(_ *options, c migration.Config) bool { return c.MasterUser == "m" && c.MasterPassword == "mp" }, ""},
		{[]string{"--mysql-timeout=2.5"}, func(_ *options, c migration.Config) bool { return c.Conn.ConnectTimeout == 2500*time.Millisecond }, ""},
		{[]string{"--mysql-timeout=-1"}, nil, "--mysql-timeout -1 is out of range"},
		{[]string{"--analyze-ghost-table-before-cutover"}, func(_ *options, c migration.Config) bool { return c.AnalyzeGhostTable }, ""},
		{[]string{"--storage-engine=InnoDB"}, func(*options, migration.Config) bool { return true }, ""},
		{[]string{"--storage-engine=rocksdb"}, nil, "InnoDB tables only"},
		{[]string{"--resume", "--initially-drop-ghost-table"}, func(o *options, c migration.Config) bool {
			return c.Resume && len(o.notes) == 1 && strings.Contains(o.notes[0], "ignored with --resume")
		}, ""},
		// gh-ost flags accepted without effect say so in the log; refused ones say why and what to do.
		{[]string{"--skip-metadata-lock-check", "--aliyun-rds", "--charset=utf8mb4,utf8,latin1"}, func(o *options, _ migration.Config) bool {
			return len(o.notes) == 3 && strings.Contains(o.notes[0], "--aliyun-rds is accepted")
		}, ""},
		{[]string{"--statsd-addr=127.0.0.1:8125"}, nil, "--statsd-addr (a gh-ost flag): doppel exports Prometheus metrics, not StatsD: use --metrics-address"},
		{[]string{"--skip-strict-mode"}, nil, "--skip-strict-mode (a gh-ost flag): doppel writes in strict mode"},
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

// TestNumericFlagRanges: every numeric and duration flag is checked against its range, in its own
// unit and before anything is converted, so no value wraps, overflows or is silently replaced.
func TestNumericFlagRanges(t *testing.T) {
	required := []string{"--database=d", "--table=t", "--alter=ADD COLUMN x INT"}
	for _, tc := range []struct {
		args []string
		want string // "" when the values are accepted
	}{
		{[]string{"--port=1", "--port=65535"}, ""},
		{[]string{"--port=0"}, "--port 0 is out of range: use 1 to 65535"},
		{[]string{"--port=65536"}, "--port 65536 is out of range: use 1 to 65535"},
		{[]string{"--replica-server-id=1"}, ""},
		{[]string{"--replica-server-id=4294967295"}, ""},
		{[]string{"--replica-server-id=0"}, "--replica-server-id 0 is out of range: use 1 to 4294967295"},
		{[]string{"--replica-server-id=4294967296"}, "--replica-server-id 4294967296 is out of range: use 1 to 4294967295"},
		{[]string{"--replica-server-id=4294967297"}, "--replica-server-id 4294967297 is out of range"},
		{[]string{"--replica-server-id=18446744073709551615"}, "--replica-server-id 18446744073709551615 is out of range"},
		{[]string{"--cut-over-lock-timeout-seconds=1", "--cut-over-lock-timeout-seconds=10512000"}, ""},
		{[]string{"--cut-over-lock-timeout-seconds=0"}, "--cut-over-lock-timeout-seconds 0 is out of range: use 1 to 10512000"},
		{[]string{"--cut-over-lock-timeout-seconds=10512001"}, "--cut-over-lock-timeout-seconds 10512001 is out of range"},
		{[]string{"--cut-over-lock-timeout-seconds=9223372036854775807"}, "--cut-over-lock-timeout-seconds 9223372036854775807 is out of range"},
		{[]string{"--chunk-size=10", "--chunk-size=100000"}, ""},
		{[]string{"--chunk-size=9"}, "--chunk-size 9 is out of range: use 10 to 100000"},
		{[]string{"--chunk-size=100001"}, "--chunk-size 100001 is out of range"},
		{[]string{"--dml-batch-size=1", "--dml-batch-size=10000"}, ""},
		{[]string{"--dml-batch-size=0"}, "--dml-batch-size 0 is out of range: use 1 to 10000"},
		{[]string{"--dml-batch-size=10001"}, "--dml-batch-size 10001 is out of range"},
		{[]string{"--chunk-target-ms=0", "--chunk-target-ms=10000"}, ""},
		{[]string{"--chunk-target-ms=-1"}, "--chunk-target-ms -1 is out of range: use 0 to 10000 (0: always --chunk-size rows)"},
		{[]string{"--chunk-target-ms=10001"}, "--chunk-target-ms 10001 is out of range"},
		{[]string{"--copy-workers=0", "--copy-workers=64"}, ""},
		{[]string{"--copy-workers=-1"}, "--copy-workers -1 is out of range: use 0 to 64 (0: sized to the server)"},
		{[]string{"--copy-workers=65"}, "--copy-workers 65 is out of range"},
		{[]string{"--default-retries=1", "--default-retries=10000"}, ""},
		{[]string{"--default-retries=0"}, "--default-retries 0 is out of range: use 1 to 10000"},
		{[]string{"--default-retries=-5"}, "--default-retries -5 is out of range"},
		{[]string{"--max-lag-millis=100", "--max-lag-millis=31536000000"}, ""},
		{[]string{"--max-lag-millis=99"}, "--max-lag-millis 99 is out of range: use 100 to 31536000000"},
		{[]string{"--max-lag-millis=9223372036854775807"}, "--max-lag-millis 9223372036854775807 is out of range"},
		{[]string{"--heartbeat-interval-millis=10", "--heartbeat-interval-millis=1000"}, ""},
		{[]string{"--heartbeat-interval-millis=9"}, "--heartbeat-interval-millis 9 is out of range: use 10 to 1000"},
		{[]string{"--heartbeat-interval-millis=1001"}, "--heartbeat-interval-millis 1001 is out of range"},
		{[]string{"--critical-load-interval-millis=0", "--critical-load-interval-millis=3600000"}, ""},
		{[]string{"--critical-load-interval-millis=-1"}, "--critical-load-interval-millis -1 is out of range: use 0 to 3600000 (0: act at once)"},
		{[]string{"--critical-load-hibernate-seconds=0", "--critical-load-hibernate-seconds=86400"}, ""},
		{[]string{"--critical-load-hibernate-seconds=-1"}, "--critical-load-hibernate-seconds -1 is out of range: use 0 to 86400 (0: stop instead)"},
		{[]string{"--critical-load-hibernate-seconds=9223372036854775807"}, "--critical-load-hibernate-seconds 9223372036854775807 is out of range"},
		{[]string{"--throttle-http-interval-millis=10", "--throttle-http-interval-millis=3600000"}, ""},
		{[]string{"--throttle-http-interval-millis=0"}, "--throttle-http-interval-millis 0 is out of range: use 10 to 3600000"},
		{[]string{"--throttle-http-timeout-millis=1", "--throttle-http-timeout-millis=60000"}, ""},
		{[]string{"--throttle-http-timeout-millis=0"}, "--throttle-http-timeout-millis 0 is out of range: use 1 to 60000"},
		{[]string{"--throttle-http-timeout-millis=60001"}, "--throttle-http-timeout-millis 60001 is out of range"},
		{[]string{"--nice-ratio=0", "--nice-ratio=100"}, ""},
		{[]string{"--nice-ratio=-0.1"}, "--nice-ratio -0.1 is out of range: use 0 to 100"},
		{[]string{"--nice-ratio=100.5"}, "--nice-ratio 100.5 is out of range"},
		{[]string{"--nice-ratio=NaN"}, "--nice-ratio NaN is out of range"},
		{[]string{"--serve-tcp-port=0", "--serve-tcp-port=65535"}, ""},
		{[]string{"--serve-tcp-port=-1"}, "--serve-tcp-port -1 is out of range: use 0 to 65535 (0: none)"},
		{[]string{"--serve-tcp-port=65536"}, "--serve-tcp-port 65536 is out of range"},
		{[]string{"--status-interval=1s", "--status-interval=24h"}, ""},
		{[]string{"--status-interval=0s"}, "--status-interval 0s is out of range: use 1s to 24h0m0s"},
		{[]string{"--status-interval=-5s"}, "--status-interval -5s is out of range"},
		{[]string{"--status-interval=25h"}, "--status-interval 25h0m0s is out of range"},
		{[]string{"--max-load=Threads_running=0"}, `--max-load: "Threads_running=0": a limit of 0 is always reached`},
		{[]string{"--critical-load=Threads_running=-3"}, `--critical-load: "Threads_running=-3": "-3" is not a whole number >= 1`},
		{[]string{"--assume-master-host=db1:70000"}, `--assume-master-host "db1:70000": port 70000 is out of range`},
	} {
		fs, o := parse(t, append(append([]string{}, required...), tc.args...)...)
		c, err := o.config(fs)
		if err == nil {
			// Only --max-load's and --assume-master-host's syntax are left to the Config's check
			// (a refusal, exit code 1): numbers out of range are a bad command line.
			err = c.Check()
			if err != nil && !strings.Contains(tc.args[0], "load") && !strings.Contains(tc.args[0], "assume-master-host") {
				t.Errorf("%q: out of range, but only the Config's check says so (exit code 1, not 2)", tc.args)
			}
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.args, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one saying %q", tc.args, err, tc.want)
			continue
		}
		if n := len(strings.Split(err.Error(), "\n")); n != 1 {
			t.Errorf("%q: %d errors for one bad flag:\n%v", tc.args, n, err)
		}
	}
}

// TestBadFlagsReportedTogether: every bad flag is named in one go, whether the problem is found
// while converting the flags or by the Config's own check.
func TestBadFlagsReportedTogether(t *testing.T) {
	fs, o := parse(t, "--replica-server-id=4294967297", "--cut-over-lock-timeout-seconds=99999999999", "--chunk-size=5",
		"--nice-ratio=-1", "--max-load=Threads_running", "--throttle-query=DROP TABLE t")
	_, err := o.config(fs)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"--replica-server-id 4294967297", "--cut-over-lock-timeout-seconds 99999999999", "--chunk-size 5",
		"--nice-ratio -1", "--max-load: ", "--throttle-query: a DROP statement", "--database is required", "--table is required", "--alter is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the errors lack %q:\n%v", want, err)
		}
	}
}

func TestConfPortRange(t *testing.T) {
	for _, port := range []string{"0", "65536", "x"} {
		path := filepath.Join(t.TempDir(), "my.cnf")
		if err := os.WriteFile(path, []byte("[client]\nport="+port+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fs, o := parse(t, "--conf="+path)
		if _, err := o.config(fs); err == nil || !strings.Contains(err.Error(), "is not a port: use 1 to 65535") {
			t.Errorf("port=%s in --conf: %v", port, err)
		}
	}
}
