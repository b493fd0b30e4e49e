package migration

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/metrics"
)

// operated is a migration run in the background with a control socket, held back by a throttle
// flag file until the test removes it.
type operated struct {
	t        *testing.T
	db       *sql.DB
	socket   string
	flag     string
	done     chan error
	ended    bool   // the test has received the run's result
	original string // checksum of t before the run
}

func startOperated(t *testing.T, rows int, alter string, tweak func(*Config)) *operated {
	t.Helper()
	name, db := newTable(t, rows)
	dir, err := os.MkdirTemp("", "dpl") // short: a socket path is limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := &operated{t: t, db: db, socket: filepath.Join(dir, "s.sock"), flag: filepath.Join(dir, "throttle"), done: make(chan error, 1)}
	if err := os.WriteFile(o.flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o.original = checksum(t, db, "t")
	cfg := testConfig(name, alter)
	cfg.SocketPath = o.socket
	cfg.Throttle.FlagFile = o.flag
	cfg.ChunkSize = 100
	cfg.StatusInterval = time.Second
	if tweak != nil {
		tweak(&cfg)
	}
	go func() { _, err := Run(context.Background(), cfg); o.done <- err }()
	t.Cleanup(func() {
		if !o.ended {
			_, _ = o.send("panic")
			_ = <-o.done // the panic's error, as meant
		}
	})
	o.waitStatus("throttled by the flag file", 20*time.Second, func(s string) bool { return strings.Contains(s, "Throttled: flag-file") })
	return o
}

func (o *operated) send(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return control.Send(ctx, "unix", o.socket, command)
}

func (o *operated) mustSend(command string) string {
	o.t.Helper()
	answer, err := o.send(command)
	if err != nil {
		o.t.Fatalf("%s: %v (%q)", command, err, answer)
	}
	return answer
}

// waitStatus polls status until cond holds, and returns how long that took.
func (o *operated) waitStatus(what string, limit time.Duration, cond func(string) bool) time.Duration {
	o.t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < limit {
		if s, err := o.send("status"); err == nil {
			last = s
			if cond(s) {
				return time.Since(start)
			}
		}
		select {
		case err := <-o.done:
			o.ended = true
			o.t.Fatalf("waiting for %s: the migration ended: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	o.t.Fatalf("waiting for %s: not within %s; last status:\n%s", what, limit, last)
	return 0
}

func (o *operated) wait() error {
	select {
	case err := <-o.done:
		o.ended = true
		return err
	case <-time.After(2 * time.Minute):
		o.t.Fatal("the migration did not end")
		return nil
	}
}

var copiedRe = regexp.MustCompile(`Rows copied: (\d+) of about \d+ \([0-9.]+%\) in (\d+) chunks`)

// copied reads the rows and chunks copied from a status text.
func copied(t *testing.T, status string) (rows, chunks int64) {
	t.Helper()
	m := copiedRe.FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("no copy figures in status:\n%s", status)
	}
	rows, _ = strconv.ParseInt(m[1], 10, 64)
	chunks, _ = strconv.ParseInt(m[2], 10, 64)
	return rows, chunks
}

// TestStoppedReplicaThrottles: stopping the inspected replica's SQL thread throttles within about a
// second, status says why, the ghost receives no writes meanwhile, and starting it again resumes the
// migration to the end.
func TestStoppedReplicaThrottles(t *testing.T) {
	o := startOperated(t, 20000, "ADD INDEX (n)", func(c *Config) { c.ChunkSize = 20 })
	if err := os.Remove(o.flag); err != nil {
		t.Fatal(err)
	}
	o.waitStatus("the copy under way", 20*time.Second, func(s string) bool { r, _ := copied(t, s); return r > 0 })
	replica, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	exec(t, replica, "STOP SLAVE SQL_THREAD")
	restarted := false
	defer func() {
		if !restarted {
			exec(t, replica, "START SLAVE SQL_THREAD")
		}
	}()
	took := o.waitStatus("throttled by the stopped SQL thread", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Throttled: replica") && strings.Contains(s, "SQL thread stopped")
	})
	t.Logf("throttled %s after STOP SLAVE SQL_THREAD", took.Round(time.Millisecond))
	if took > 1500*time.Millisecond {
		t.Errorf("throttled only after %s, want about a second", took)
	}
	time.Sleep(200 * time.Millisecond) // a chunk already under way may finish
	before := checksum(t, o.db, "_t_gho")
	time.Sleep(1500 * time.Millisecond)
	if after := checksum(t, o.db, "_t_gho"); after != before {
		t.Error("the ghost table changed while doppel was throttled")
	}
	exec(t, replica, "START SLAVE SQL_THREAD")
	restarted = true
	if err := o.wait(); err != nil {
		t.Fatal(err)
	}
	if got := checksum(t, o.db, "t"); got != o.original {
		t.Error("the migrated table differs from the original")
	}
}

// TestPostponeFlagFileIsCreated: as with gh-ost, a postpone flag file that does not exist is
// created at the start, so the cut-over waits until an operator removes it; the socket command that
// names another file creates that one too, and the run waits for it.
func TestPostponeFlagFileIsCreated(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "postpone"), filepath.Join(dir, "postpone-2")
	o := startOperated(t, 2000, "ADD INDEX (n)", func(c *Config) {
		c.PostponeCutOverFlagFile = first
		c.AnalyzeGhostTable = true // runs on the ghost before the swap, and must not fail it
	})
	if _, err := os.Stat(first); err != nil {
		t.Fatalf("the postpone flag file was not created: %v", err)
	}
	if err := os.Remove(o.flag); err != nil { // the throttle's: let the copy run
		t.Fatal(err)
	}
	o.waitStatus("postponed", time.Minute, func(s string) bool { return strings.Contains(s, "State: postponed") })
	o.mustSend("postpone-cut-over-flag-file=" + second)
	if _, err := os.Stat(second); err != nil {
		t.Fatalf("the socket command did not create %s: %v", second, err)
	}
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if s := o.mustSend("sup"); !strings.Contains(s, "postponed") {
		t.Fatalf("cut over while the second flag file exists: %s", s)
	}
	if err := os.Remove(second); err != nil {
		t.Fatal(err)
	}
	if err := o.wait(); err != nil {
		t.Fatal(err)
	}
	if got := tableList(o.t, o.db); got != "_t_del,_t_ghr,t" {
		t.Errorf("tables after the cut-over: %q", got)
	}
}

// TestWaitingCutOverComparesReplayedRows: while the cut-over is postponed, the rows the replay
// changes are compared at consistent points of their own as they pile up, so the keys doppel keeps
// for the comparison do not grow with the wait.
func TestWaitingCutOverComparesReplayedRows(t *testing.T) {
	defer func(n int) { waitingKeys = n }(waitingKeys)
	waitingKeys = 20
	core, logs := observer.New(zap.InfoLevel)
	postpone := filepath.Join(t.TempDir(), "postpone")
	o := startOperated(t, 2000, "ADD INDEX (n)", func(c *Config) {
		c.PostponeCutOverFlagFile = postpone
		c.Logger = zap.New(core)
	})
	if err := os.Remove(o.flag); err != nil {
		t.Fatal(err)
	}
	o.waitStatus("postponed", time.Minute, func(s string) bool { return strings.Contains(s, "State: postponed") })
	for i := 1; i <= 200; i++ {
		exec(t, o.db, fmt.Sprintf("UPDATE t SET v = 'waiting %d' WHERE id = %d", i, i*7))
	}
	for deadline := time.Now().Add(30 * time.Second); logs.FilterMessage("compared the rows replayed while the cut-over waits").Len() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the rows replayed while the cut-over waits were not compared")
		}
	}
	if err := os.Remove(postpone); err != nil {
		t.Fatal(err)
	}
	if err := o.wait(); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := o.db.QueryRow("SELECT v FROM t WHERE id = 1400").Scan(&v); err != nil || v != "waiting 200" {
		t.Errorf("a change made while the cut-over waited: %q %v", v, err)
	}
}

// TestSocketCommands: every command changes what it claims; user throttling stops the replay too;
// unpostpone leads to the cut-over; the socket is 0600 and removed at the end.
func TestSocketCommands(t *testing.T) {
	postpone := filepath.Join(t.TempDir(), "postpone")
	if err := os.WriteFile(postpone, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o := startOperated(t, 5000, "ADD INDEX (n)", func(c *Config) {
		c.Conn = sb.Primary.Config()
		c.AllowOnMaster = true
		c.PostponeCutOverFlagFile = postpone
	})
	if fi, err := os.Stat(o.socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v, want 0600", fi.Mode(), err)
	}
	for _, c := range []struct{ set, get, want string }{
		{"chunk-size=17", "chunk-size=?", "17"},
		{"dml-batch-size=5", "dml-batch-size=?", "5"},
		{"max-lag-millis=2500", "max-lag-millis=?", "2500"},
		{"nice-ratio=0.5", "nice-ratio=?", "0.5"},
		{"max-load=Threads_running=1000", "max-load=?", "Threads_running=1000"},
		{"critical-load=Threads_running=2000", "critical-load=?", "Threads_running=2000"},
		// The query's default database is the migrated one, as with gh-ost.
		{"throttle-query=SELECT COUNT(*) < 0 FROM t", "throttle-query=?", "SELECT COUNT(*) < 0 FROM t"},
		{"nice-ratio=0", "nice-ratio=?", "0"},
	} {
		o.mustSend(c.set)
		if got := strings.TrimSpace(o.mustSend(c.get)); got != c.want {
			t.Errorf("%s then %s: %q, want %q", c.set, c.get, got, c.want)
		}
	}
	for _, bad := range []struct{ command, answer string }{
		{"chunk-size=5", "out of range"}, {"chunk-size=abc", "not a whole number"}, {"dml-batch-size=0", "out of range"},
		{"max-load=nonsense", "want Name=N"}, {"no-such-command", ""},
		{"max-load=Thread_running=5", "no status variable Thread_running (did you mean Threads_running?"},
		{"critical-load=Threads_running=0", "a limit of 0 is always reached"},
		{"nice-ratio=1000", "out of range: use 0 to 100"},
		{"max-lag-millis=99", "out of range: use 100 to"},
		{"throttle-query=DROP TABLE t", "a DROP statement"},
		{"throttle-query=SELECT nope FROM t", "Error 1054"},
	} {
		if answer, err := o.send(bad.command); err == nil || !strings.Contains(answer+err.Error(), bad.answer) {
			t.Errorf("%s: %q, %v; want a refusal saying %q", bad.command, answer, err, bad.answer)
		}
	}
	// Refused changes leave the settings as they were.
	for get, want := range map[string]string{"max-load=?": "Threads_running=1000", "throttle-query=?": "SELECT COUNT(*) < 0 FROM t", "nice-ratio=?": "0"} {
		if got := strings.TrimSpace(o.mustSend(get)); got != want {
			t.Errorf("%s: %q after refused changes, want %q", get, got, want)
		}
	}
	if got := o.mustSend("applier"); !strings.Contains(got, sb.Primary.Config().Addr()) {
		t.Errorf("applier: %q", got)
	}

	// The operator's throttle holds everything, the replay too.
	o.mustSend("throttle")
	if err := os.Remove(o.flag); err != nil {
		t.Fatal(err)
	}
	o.waitStatus("throttled by the operator", 5*time.Second, func(s string) bool { return strings.Contains(s, "Throttled: commanded by user") })
	before := checksum(t, o.db, "_t_gho")
	exec(t, o.db, "INSERT INTO t VALUES (100001, 'new', 1)", "UPDATE t SET v = 'changed' WHERE id = 3", "DELETE FROM t WHERE id = 4")
	time.Sleep(1500 * time.Millisecond)
	if after := checksum(t, o.db, "_t_gho"); after != before {
		t.Error("the ghost table changed while the operator throttled doppel")
	}
	// Resting four times each chunk's time keeps the small copy going for seconds, long enough to
	// watch its rate.
	o.mustSend("nice-ratio=4")
	o.mustSend("no-throttle")

	// The copy goes on in chunks of 17 rows, as set.
	status := o.mustSend("status")
	o.waitStatus("the copy under way", 20*time.Second, func(s string) bool { status = s; r, _ := copied(t, s); return r > 17*5 })
	// The socket's status gives an ETA from the recent copy rate while the copy runs unthrottled.
	o.waitStatus("an ETA", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "state copying") && !strings.Contains(s, "ETA unknown") && !strings.Contains(s, "Throttled: ")
	})
	rows, chunks := copied(t, status)
	// One row of the full key range was deleted above: a chunk may hold 16.
	if (rows < 17*chunks-1 || rows > 17*chunks) && rows < 5000 {
		t.Errorf("%d rows in %d chunks: chunk-size=17 not applied", rows, chunks)
	}

	o.waitStatus("postponed", 60*time.Second, func(s string) bool { return strings.Contains(s, "State: postponed") })
	time.Sleep(time.Second)
	if s := o.mustSend("sup"); !strings.Contains(s, "postponed") {
		t.Fatalf("no longer postponed without unpostpone: %s", s)
	}
	o.mustSend("unpostpone")
	if err := o.wait(); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := o.db.QueryRow("SELECT v FROM t WHERE id = 3").Scan(&v); err != nil || v != "changed" {
		t.Errorf("the change made while throttled is lost: %q %v", v, err)
	}
	if _, err := os.Stat(o.socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestPanic(t *testing.T) {
	for _, how := range []string{"command", "flag file"} {
		t.Run(how, func(t *testing.T) {
			panicFile := filepath.Join(t.TempDir(), "panic")
			o := startOperated(t, 2000, "ADD COLUMN x INT", func(c *Config) { c.PanicFlagFile = panicFile })
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				var n int
				if o.db.QueryRow("SELECT COUNT(*) FROM _t_ghc WHERE hint = 'checkpoint'").Scan(&n) == nil && n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no checkpoint written")
				}
			}
			if how == "command" {
				o.mustSend("panic")
			} else if err := os.WriteFile(panicFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			err := o.wait()
			if err == nil || !strings.Contains(err.Error(), "panic") {
				t.Fatalf("error %v, want a panic", err)
			}
			if got := tableList(t, o.db); got != "_t_ghc,_t_gho,t" {
				t.Errorf("tables %q after panic, want the ghost and changelog kept for --resume", got)
			}
			if checksum(t, o.db, "t") != o.original {
				t.Error("the original table changed")
			}
		})
	}
}

// TestHooks: every hook runs, in order, with gh-ost's variables; a failing on-before-cut-over hook
// prevents the swap; a failing on-startup hook stops the run before anything is created.
func TestHooks(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "hooks.log")
	for _, event := range []string{"startup", "validated", "rowcount-complete", "before-row-copy", "row-copy-complete", "before-cut-over", "success", "failure"} {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $GH_OST_DATABASE_NAME.$GH_OST_TABLE_NAME ghost=$GH_OST_GHOST_TABLE_NAME copied=$GH_OST_COPIED_ROWS doppel=$DOPPEL_TABLE_NAME\" >> %s\n", event, log)
		if err := os.WriteFile(filepath.Join(dir, "gh-ost-on-"+event), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	name, db := newTable(t, 500)
	cfg := testConfig(name, "ADD INDEX (n)")
	cfg.HooksPath = dir
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, log)
	var events []string
	for _, l := range lines {
		events = append(events, strings.Fields(l)[0])
	}
	want := "startup validated rowcount-complete before-row-copy row-copy-complete before-cut-over success"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("hooks ran as %q, want %q", got, want)
	}
	for _, l := range lines {
		if !strings.Contains(l, name+".t ghost=_t_gho") || !strings.HasSuffix(l, "doppel=t") {
			t.Errorf("hook variables missing: %q", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "copied=500") {
		t.Errorf("on-success saw %q, want copied=500", last)
	}

	// A failing before-cut-over hook: no swap, the original stays, doppel cleans up.
	if err := os.WriteFile(filepath.Join(dir, "gh-ost-on-before-cut-over"), []byte("#!/bin/sh\necho refusing\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "DROP TABLE _t_del")
	before := checksum(t, db, "t")
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "before-cut-over") {
		t.Fatalf("error %v, want the failing hook named", err)
	}
	// _t_ghr holds the record of the first run's swap (its old table dropped since).
	if got := tableList(t, db); got != "_t_ghc,_t_gho,_t_ghr,t" || checksum(t, db, "t") != before {
		t.Errorf("tables %q after a refused cut-over, or the original changed", got)
	}
	if lines := readLines(t, log); !strings.HasPrefix(lines[len(lines)-1], "failure ") {
		t.Errorf("on-failure did not run last: %q", lines)
	}

	// A failing on-startup hook stops the migration before anything is created (docs/hooks.md).
	exec(t, db, "DROP TABLE _t_ghc, _t_gho")
	if err := os.WriteFile(filepath.Join(dir, "gh-ost-on-startup"), []byte("#!/bin/sh\nexit 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "startup") {
		t.Fatalf("error %v, want the failing on-startup hook named", err)
	}
	if got := tableList(t, db); got != "_t_ghr,t" || checksum(t, db, "t") != before {
		t.Errorf("tables %q after a failing on-startup hook, or the original changed", got)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestMetricsDuringMigration scrapes /metrics during a real migration: rows copied grow, the state
// moves through the phases, throttling is reported with its reason, and the cut-over is counted.
func TestMetricsDuringMigration(t *testing.T) {
	reg := metrics.NewRegistry()
	var dbName string
	o := startOperated(t, 5000, "ADD INDEX (n)", func(c *Config) {
		dbName = c.Database
		c.ChunkTarget = 0 // always --chunk-size rows: a slow machine must not shrink the chunks counted below
		m, err := metrics.New(reg, c.Database, c.Table)
		if err != nil {
			t.Fatal(err)
		}
		c.Metrics = m
	})
	srv, err := metrics.Listen("127.0.0.1:0", reg, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); _ = <-served }()
	url := "http://" + srv.Addr().String() + "/metrics"
	// The exposition format sorts labels by name.
	labels := fmt.Sprintf(`database="%s",table="t"`, dbName)
	with := func(name, value string) string {
		return fmt.Sprintf(`database="%s",%s="%s",table="t"`, dbName, name, value)
	}
	value := func(text, series string) float64 {
		for _, l := range strings.Split(text, "\n") {
			if name, v, ok := strings.Cut(l, " "); ok && name == series {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return -1
	}
	// The metrics are fed once a second: the first scrape may come before the first feed.
	eventually := func(series string) float64 {
		v := value(scrape(t, url), series)
		for deadline := time.Now().Add(5 * time.Second); v != 1 && time.Now().Before(deadline); v = value(scrape(t, url), series) {
			time.Sleep(50 * time.Millisecond)
		}
		return v
	}
	if v := eventually(`doppel_throttled{` + with("reason", "flag-file") + `}`); v != 1 {
		t.Errorf("doppel_throttled{reason=flag-file} = %v while throttled by the flag file", v)
	}
	if v := eventually(`doppel_state{` + with("state", "copying") + `}`); v != 1 {
		t.Errorf("state copying = %v", v)
	}
	o.mustSend("chunk-size=50")
	// A stopped replica is reported as the reason once the flag file is gone.
	replica, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	exec(t, replica, "STOP SLAVE SQL_THREAD")
	if err := os.Remove(o.flag); err != nil {
		t.Fatal(err)
	}
	lagReported := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !lagReported; time.Sleep(20 * time.Millisecond) {
		text := scrape(t, url)
		lagReported = value(text, `doppel_throttled{`+with("reason", "replica-lag")+`}`) == 1 &&
			value(text, `doppel_throttled{`+with("reason", "flag-file")+`}`) == 0
	}
	exec(t, replica, "START SLAVE SQL_THREAD")
	if !lagReported {
		t.Error("a stopped replica was not reported as doppel_throttled{reason=\"replica-lag\"}")
	}
	var rowsSeen []float64
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		text := scrape(t, url)
		rowsSeen = append(rowsSeen, value(text, `doppel_copy_rows_total{`+labels+`}`))
		if value(text, `doppel_state{`+with("state", "done")+`}`) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := o.wait(); err != nil {
		t.Fatal(err)
	}
	final := scrape(t, url)
	grew := 0
	for i := 1; i < len(rowsSeen); i++ {
		if rowsSeen[i] > rowsSeen[i-1] {
			grew++
		}
	}
	if grew < 2 || value(final, `doppel_copy_rows_total{`+labels+`}`) != 5000 {
		t.Errorf("rows copied seen growing %d times, final %v: %v", grew, value(final, `doppel_copy_rows_total{`+labels+`}`), rowsSeen)
	}
	for series, want := range map[string]float64{
		`doppel_state{` + with("state", "done") + `}`:                1,
		`doppel_state{` + with("state", "copying") + `}`:             0,
		`doppel_throttled{` + with("reason", "flag-file") + `}`:      0,
		`doppel_cutover_attempts_total{` + labels + `}`:              1,
		`doppel_cutover_lock_duration_seconds_count{` + labels + `}`: 1,
		`doppel_copy_estimated_rows{` + labels + `}`:                 5000,
		`doppel_copy_chunk_size_rows{` + labels + `}`:                50,
		`doppel_copy_chunk_duration_seconds_count{` + labels + `}`:   100,
	} {
		if got := value(final, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if value(final, `doppel_throttled_seconds_total{`+labels+`}`) <= 0 {
		t.Error("no time counted as throttled")
	}
}

// TestHealthz: /healthz answers 200 while the run is healthy (throttled included: that is doppel
// doing its job), and 503 with the reason while it hibernates on critical load.
func TestHealthz(t *testing.T) {
	health := &Health{}
	o := startOperated(t, 2000, "ADD INDEX (n)", func(c *Config) {
		c.Health = health
		c.Throttle.CriticalLoadHibernate = 2 * time.Second
	})
	srv, err := metrics.Listen("127.0.0.1:0", metrics.NewRegistry(), health.Check)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); _ = <-served }()
	url := "http://" + srv.Addr().String() + "/healthz"
	get := func() (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitFor := func(what string, want int, says string) {
		t.Helper()
		var code int
		var body string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if code, body = get(); code == want && strings.Contains(body, says) {
				return
			}
		}
		t.Fatalf("%s: /healthz answered %d %q, want %d saying %q", what, code, body, want, says)
	}
	waitFor("throttled by the flag file", http.StatusOK, "ok")
	o.mustSend("critical-load=Threads_connected=1") // always reached: doppel hibernates
	waitFor("hibernating", http.StatusServiceUnavailable, "hibernating on critical load")
	o.mustSend("critical-load=")
	waitFor("after the hibernation", http.StatusOK, "ok")
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
