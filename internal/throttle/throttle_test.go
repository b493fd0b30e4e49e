package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/changelog"
)

type fixture struct {
	primary   *sql.DB
	replica   *sql.DB
	changelog changelog.Table
}

// newFixture gives the test its own database with a changelog table, present on the replica too.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	name := sb.NewDatabase(t)
	f := &fixture{changelog: changelog.New(name, "_t_ghc")}
	var err error
	if f.primary, err = sb.Primary.DB(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.primary.Close() })
	if f.replica, err = sb.Replica.DB(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.replica.Close() })
	if err := f.changelog.Create(context.Background(), f.primary); err != nil {
		t.Fatal(err)
	}
	waitReplica(t)
	return f
}

func waitReplica(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
}

// config checks the sandbox's replica, as a migration through it does; no flag files.
func (f *fixture) config() Config {
	c := DefaultConfig()
	c.AdditionalFlagFile = ""
	c.Primary, c.Changelog, c.Flavor = f.primary, f.changelog, sb.Flavor
	rc := sb.Replica.Config()
	c.Inspected, c.ReplicaConn = &rc, rc
	return c
}

// run starts th.Run; the returned channel receives its result. The test's end stops it.
func run(t *testing.T, th *Throttler) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		done <- th.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return done
}

func start(t *testing.T, cfg Config) *Throttler {
	t.Helper()
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, th)
	return th
}

// eventually polls cond until it holds and returns how long that took, or fails the test after
// timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	for !cond() {
		if time.Since(begin) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(begin)
}

func throttledFor(th *Throttler, substr string) func() bool {
	return func() bool {
		throttled, reason := th.Check()
		return throttled && strings.Contains(reason, substr)
	}
}

func free(th *Throttler) func() bool {
	return func() bool { throttled, _ := th.Check(); return !throttled }
}

func replicaSQLThread(t *testing.T, stop bool) {
	t.Helper()
	db, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := sb.Flavor.StartReplicaSQL() + " SQL_THREAD"
	if stop {
		q = sb.Flavor.StopReplicaSQL() + " SQL_THREAD"
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// stopSQLThread stops the replica's SQL thread until the test ends (or startSQLThread).
func stopSQLThread(t *testing.T) {
	t.Helper()
	replicaSQLThread(t, true)
	t.Cleanup(func() {
		replicaSQLThread(t, false)
		waitReplica(t)
	})
}

func TestHeartbeatShowsNoLag(t *testing.T) {
	f := newFixture(t)
	th := start(t, f.config())
	eventually(t, 5*time.Second, "not throttled with a healthy replica", free(th))
	eventually(t, 5*time.Second, "LagOK", th.LagOK)
	if lag := th.Lag(); lag <= 0 || lag > time.Second {
		t.Errorf("Lag() = %s, want a small positive lag", lag)
	}
	var first, second string
	q := "SELECT value FROM " + f.changelog.Qualified() + " WHERE hint = 'heartbeat'"
	if err := f.primary.QueryRow(q).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339Nano, first); err != nil {
		t.Fatalf("heartbeat %q is not an RFC 3339 time: %v", first, err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := f.primary.QueryRow(q).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if second <= first {
		t.Errorf("the heartbeat did not advance: %q then %q", first, second)
	}
	if err := f.replica.QueryRow(q).Scan(&second); err != nil {
		t.Errorf("the heartbeat did not reach the replica: %v", err)
	}
}

func TestStoppedSQLThreadThrottlesAndStartResumes(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var changes []string
	cfg := f.config()
	cfg.OnChange = func(throttled bool, kind, reason string) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, fmt.Sprintf("%t %s %s", throttled, kind, reason))
	}
	th := start(t, cfg)
	eventually(t, 5*time.Second, "healthy at first", free(th))

	stopSQLThread(t)
	took := eventually(t, 1500*time.Millisecond, "throttled after STOP SLAVE SQL_THREAD", throttledFor(th, "replication SQL thread stopped"))
	t.Logf("throttled %s after the SQL thread stopped", took.Round(time.Millisecond))
	_, reason := th.Check()
	if want := "replica " + sb.Replica.Config().Addr() + ": replication SQL thread stopped"; reason != want {
		t.Errorf("reason %q, want %q", reason, want)
	}
	if th.LagOK() {
		t.Error("LagOK with the SQL thread stopped")
	}
	waited := make(chan error, 1)
	go func() { waited <- th.Wait(context.Background()) }()
	// The heartbeat keeps being written on the primary but no longer applied: the lag grows.
	eventually(t, 5*time.Second, "lag measured past a second", func() bool { return th.Lag() > time.Second })
	select {
	case err := <-waited:
		t.Fatalf("Wait returned while throttled: %v", err)
	default:
	}

	replicaSQLThread(t, false)
	took = eventually(t, 10*time.Second, "throttling lifted after START SLAVE SQL_THREAD", free(th))
	t.Logf("resumed %s after the SQL thread started", took.Round(time.Millisecond))
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Wait did not return once throttling was lifted")
	}
	if !th.LagOK() {
		t.Error("LagOK false after replication caught up")
	}
	mu.Lock()
	defer mu.Unlock()
	var sawStop bool
	for _, c := range changes {
		sawStop = sawStop || strings.HasPrefix(c, "true replica-lag ") && strings.Contains(c, "SQL thread stopped")
	}
	if !sawStop || changes[len(changes)-1] != "false  " {
		t.Errorf("OnChange calls %q: want a throttle for the stopped thread, ending with a release", changes)
	}
}

// TestLagBeyondMaxLag holds the replica's SQL thread on a read lock of the changelog table: both
// replication threads run, yet heartbeats stop arriving, which only the heartbeat lag shows.
func TestLagBeyondMaxLag(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MaxLag = 500 * time.Millisecond
	th := start(t, cfg)
	eventually(t, 5*time.Second, "healthy at first", free(th))

	ctx := context.Background()
	conn, err := f.replica.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "LOCK TABLES "+f.changelog.Qualified()+" READ"); err != nil {
		t.Fatal(err)
	}
	locked := true
	defer func() {
		if locked {
			_, _ = conn.ExecContext(ctx, "UNLOCK TABLES")
		}
	}()
	eventually(t, 5*time.Second, "throttled for lag", throttledFor(th, "more than max-lag-millis 500"))
	if th.LagOK() {
		t.Error("LagOK while lagging")
	}
	if lag := th.Lag(); lag <= 500*time.Millisecond {
		t.Errorf("Lag() = %s while throttled for lag", lag)
	}

	// Raising the limit applies to the last measurements at once.
	if err := th.SetMaxLag(time.Hour); err != nil {
		t.Fatal(err)
	}
	if !free(th)() || !th.LagOK() {
		t.Error("still throttled right after max-lag-millis was raised")
	}
	if err := th.SetMaxLag(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "throttled again", throttledFor(th, "more than max-lag-millis"))

	if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	locked = false
	eventually(t, 10*time.Second, "lag gone after the lock is released", free(th))
}

// TestNiceSlowsAsLagNears: a writing chunk rests longer as the replica's lag nears max-lag-millis,
// before the throttle stops the copy; a reading chunk does not.
func TestNiceSlowsAsLagNears(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MaxLag = 2 * time.Second
	th := start(t, cfg)
	eventually(t, 5*time.Second, "healthy at first", free(th))
	ctx := context.Background()
	timed := func(rest func(context.Context, time.Duration) error) time.Duration {
		start := time.Now()
		if err := rest(ctx, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	if d := timed(th.Nice); d > 50*time.Millisecond {
		t.Errorf("Nice rested %s without lag", d)
	}

	conn, err := f.replica.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "LOCK TABLES "+f.changelog.Qualified()+" READ"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, "UNLOCK TABLES") }()
	eventually(t, 5*time.Second, "lag past half the limit", func() bool { return th.Lag() > 1200*time.Millisecond })
	want := lagPace(th.Lag(), cfg.MaxLag) // the lag only grows from here, and with it the rest
	if d := timed(th.Nice); want <= 0 || d < time.Duration(want*0.9*float64(100*time.Millisecond)) {
		t.Errorf("Nice(100ms) at lag over 1.2 s of 2 s rested %s, want at least %g× 100ms", d, want)
	}
	if d := timed(th.NiceRead); d > 50*time.Millisecond {
		t.Errorf("NiceRead rested %s for lag; reads add none", d)
	}
}

func TestControlReplicas(t *testing.T) {
	f := newFixture(t)
	th := start(t, f.config())
	eventually(t, 5*time.Second, "healthy at first", free(th))

	// A closed port: unreachable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if err := th.SetControlReplicas(closed); err != nil {
		t.Fatal(err)
	}
	if got := th.ControlReplicas(); got != closed {
		t.Errorf("ControlReplicas() = %q, want %q", got, closed)
	}
	// Until it is checked, a replica just added counts as lagging.
	if throttled, _ := th.Check(); !throttled || th.LagOK() {
		t.Error("a replica just added is not counted as lagging")
	}
	eventually(t, 3*time.Second, "an unreachable replica throttles", throttledFor(th, "replica "+closed+" unreachable"))
	if th.LagOK() {
		t.Error("LagOK with an unreachable replica")
	}

	// The primary replicates from no one.
	primary := sb.Primary.Config().Addr()
	if err := th.SetControlReplicas(primary); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a server that is not a replica throttles", throttledFor(th, "replica "+primary+" is not replicating"))

	// Listing the inspected replica again changes nothing.
	if err := th.SetControlReplicas(sb.Replica.Config().Addr()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "healthy with the inspected replica listed", free(th))

	if err := th.SetControlReplicas("db1:nope"); err == nil {
		t.Error("a bad replica list was accepted")
	}
}

func TestMaxLoad(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cfg := f.config()
	cfg.LoadInterval = 100 * time.Millisecond
	cfg.MaxLoad = "Threads_connected=1"
	th := start(t, cfg)
	eventually(t, 3*time.Second, "throttled on Threads_connected", throttledFor(th, "max-load Threads_connected="))
	_, reason := th.Check()
	if !strings.HasSuffix(reason, ">= 1") {
		t.Errorf("reason %q does not give the threshold", reason)
	}
	if err := th.SetMaxLoad(ctx, "threads_connected=100000,Threads_running=100000"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "released under a high threshold", free(th))
	if got := th.MaxLoad(); got != "threads_connected=100000,Threads_running=100000" {
		t.Errorf("MaxLoad() = %q", got)
	}
	// Refused changes leave the thresholds in force.
	for _, bad := range []struct{ value, err string }{
		{"Thread_running=1", "the primary has no status variable Thread_running (did you mean Threads_running?"},
		{"Ssl_cipher=1", `the status variable Ssl_cipher holds "", not a number`},
		{"Threads_running=lots", "not a whole number"},
		{"Threads_running=0", "a limit of 0 is always reached"},
	} {
		if err := th.SetMaxLoad(ctx, bad.value); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("SetMaxLoad(%q) = %v, want an error with %q", bad.value, err, bad.err)
		}
		if err := th.SetCriticalLoad(ctx, bad.value); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("SetCriticalLoad(%q) = %v, want an error with %q", bad.value, err, bad.err)
		}
	}
	if got := th.MaxLoad(); got != "threads_connected=100000,Threads_running=100000" {
		t.Errorf("MaxLoad() = %q after refused changes", got)
	}
	if err := th.SetMaxLoad(ctx, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "released without max-load", free(th))
	if got := th.CriticalLoad(); got != "" {
		t.Errorf("CriticalLoad() = %q", got)
	}
}

// TestPreflight: what the server must confirm is checked before the migration creates anything,
// all problems at once.
func TestPreflight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.primary.Exec("CREATE TABLE kept (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	// A function that writes: the read-only transaction must stop it.
	if _, err := f.primary.Exec("CREATE FUNCTION writes() RETURNS INT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO kept VALUES (1); RETURN 0; END"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		wants []string
	}{
		{"fine", func(c *Config) {
			c.MaxLoad, c.CriticalLoad, c.ThrottleQuery = "Threads_running=25", "threads_connected=1000", "SELECT COUNT(*) FROM kept"
		}, nil},
		{"unknown variables", func(c *Config) { c.MaxLoad, c.CriticalLoad = "Threads_runing=25", "No_such_thing=10" }, []string{
			"--max-load: the primary has no status variable Threads_runing (did you mean Threads_running? SHOW GLOBAL STATUS",
			"--critical-load: the primary has no status variable No_such_thing (SHOW GLOBAL STATUS lists",
		}},
		{"not a number", func(c *Config) { c.CriticalLoad = "Ssl_version=1" }, []string{`--critical-load: the status variable Ssl_version holds "`}},
		{"query fails", func(c *Config) { c.ThrottleQuery = "SELECT no_such_column" }, []string{"--throttle-query failed on the primary: Error 1054"}},
		{"query writes", func(c *Config) { c.ThrottleQuery = "SELECT writes()" }, []string{"--throttle-query failed on the primary: Error 1792"}},
		{"two columns", func(c *Config) { c.ThrottleQuery = "SELECT 1, 2" }, []string{"--throttle-query failed on the primary: sql: expected 2 destination arguments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config()
			tc.edit(&cfg)
			th, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = th.Preflight(ctx)
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, want := range tc.wants {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Preflight() = %v, want an error with %q", err, want)
				}
			}
		})
	}
	var n int
	if err := f.primary.QueryRow("SELECT COUNT(*) FROM kept").Scan(&n); err != nil || n != 0 {
		t.Errorf("the throttle query wrote %d rows (%v)", n, err)
	}
}

func TestFlagFiles(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	cfg := f.config()
	cfg.FlagFile = filepath.Join(dir, "throttle-this")
	cfg.AdditionalFlagFile = filepath.Join(dir, "throttle-all")
	th := start(t, cfg)
	eventually(t, 5*time.Second, "healthy at first", free(th))
	for _, file := range []string{cfg.FlagFile, cfg.AdditionalFlagFile} {
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, "throttled while "+file+" exists", throttledFor(th, "flag-file "+file+" exists"))
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, "released once "+file+" is gone", free(th))
	}
}

// TestFlagFileThrottlesFromTheStart: a flag file present when the throttler is made throttles
// before Run's first round of checks, so not even a first chunk is copied.
func TestFlagFileThrottlesFromTheStart(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.FlagFile = filepath.Join(t.TempDir(), "throttle-this")
	if err := os.WriteFile(cfg.FlagFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if throttled, reason := th.Check(); !throttled || reason != "flag-file "+cfg.FlagFile+" exists" {
		t.Errorf("Check() = %v, %q before Run; want throttled by the flag file", throttled, reason)
	}
}

func TestThrottleQuery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.primary.Exec("CREATE TABLE gate (n INT NULL)"); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.LoadInterval = 100 * time.Millisecond
	cfg.ThrottleQuery = "SELECT 1"
	th := start(t, cfg)
	eventually(t, 3*time.Second, "throttled by the query", throttledFor(th, "throttle-query returned 1"))
	if err := th.SetThrottleQuery(ctx, "SELECT 0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "released when it returns 0", free(th))
	// Refused changes leave the query in force.
	for _, bad := range []struct{ q, err string }{
		{"SELECT no_such_column", "Error 1054"},
		{"DROP TABLE gate", "a DROP statement"},
		{"SELECT 0; DROP TABLE gate", "2 statements"},
	} {
		if err := th.SetThrottleQuery(ctx, bad.q); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("SetThrottleQuery(%q) = %v, want an error with %q", bad.q, err, bad.err)
		}
	}
	if got := th.ThrottleQuery(); got != "SELECT 0" {
		t.Errorf("ThrottleQuery() = %q after refused changes", got)
	}
	if err := th.SetThrottleQuery(ctx, "SELECT MAX(n) FROM gate"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "NULL throttles", throttledFor(th, "returned NULL"))
	if _, err := f.primary.Exec("INSERT INTO gate VALUES (0)"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "released when it returns 0", free(th))
	// A query that worked when it was set and fails later throttles.
	if _, err := f.primary.Exec("DROP TABLE gate"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a failing query throttles", throttledFor(th, "throttle-query failed"))
	if err := th.SetThrottleQuery(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if !free(th)() {
		t.Error("still throttled right after the query was removed")
	}
	if got := th.ThrottleQuery(); got != "" {
		t.Errorf("ThrottleQuery() = %q", got)
	}
}

// TestIgnoreHTTPErrors: with --ignore-http-errors an endpoint that is gone does not throttle, and
// a 503 still does.
func TestIgnoreHTTPErrors(t *testing.T) {
	f := newFixture(t)
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
	defer srv.Close()
	cfg := f.config()
	cfg.ThrottleHTTP = srv.URL + "/throttle"
	cfg.IgnoreHTTPErrors = true
	th := start(t, cfg)
	eventually(t, 3*time.Second, "throttled by 503", throttledFor(th, "answered 503 Service Unavailable"))
	srv.Close()
	eventually(t, 3*time.Second, "an endpoint that is gone does not throttle", free(th))
}

func TestThrottleHTTP(t *testing.T) {
	f := newFixture(t)
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	var methods sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods.Store(r.Method, true)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	cfg := f.config()
	cfg.ThrottleHTTP = srv.URL + "/throttle"
	th := start(t, cfg)
	eventually(t, 3*time.Second, "throttled by 503", throttledFor(th, "answered 503 Service Unavailable"))
	status.Store(http.StatusOK)
	eventually(t, 3*time.Second, "released by 200", free(th))
	if _, ok := methods.Load(http.MethodHead); !ok {
		t.Error("no HEAD request was sent")
	}
	srv.Close()
	eventually(t, 3*time.Second, "an endpoint that is gone throttles", throttledFor(th, "throttle-http "+srv.URL+"/throttle: "))
	if err := th.SetThrottleHTTP(""); err != nil {
		t.Fatal(err)
	}
	if !free(th)() {
		t.Error("still throttled right after the URL was removed")
	}
	for _, bad := range []string{"1.2.3.4:6789/throttle", "ftp://x/y", "http://"} {
		if err := th.SetThrottleHTTP(bad); err == nil {
			t.Errorf("throttle-http %q was accepted", bad)
		}
	}
}

func TestCriticalLoadAborts(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.LoadInterval = 100 * time.Millisecond
	cfg.CriticalLoad = "Threads_connected=1"
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-run(t, th):
		if !errors.Is(err, ErrCriticalLoad) || !strings.Contains(err.Error(), "Threads_connected=") {
			t.Fatalf("Run returned %v, want critical load", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("critical load did not end Run")
	}
	if throttled, reason := th.Check(); !throttled || !strings.Contains(reason, "critical-load") {
		t.Errorf("Check() = %t, %q after critical load", throttled, reason)
	}
}

func TestCriticalLoadChecksAgainAfterInterval(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.LoadInterval = 100 * time.Millisecond
	cfg.CriticalLoad = "Threads_connected=1"
	cfg.CriticalLoadInterval = 700 * time.Millisecond
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	done := run(t, th)
	eventually(t, 3*time.Second, "throttled while checking again", throttledFor(th, "checking again in 700ms"))
	select {
	case err := <-done:
		if !errors.Is(err, ErrCriticalLoad) {
			t.Fatalf("Run returned %v, want critical load", err)
		}
		if took := time.Since(begin); took < 700*time.Millisecond {
			t.Errorf("aborted after %s, before the second check", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("critical load did not end Run")
	}
}

func TestCriticalLoadHibernates(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.LoadInterval = 100 * time.Millisecond
	cfg.CriticalLoad = "Threads_connected=1"
	cfg.CriticalLoadHibernate = 1500 * time.Millisecond
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := run(t, th)
	eventually(t, 3*time.Second, "hibernating", throttledFor(th, "hibernating until"))
	// No heartbeats while hibernating, once a write in flight when it began has ended.
	time.Sleep(200 * time.Millisecond)
	var before, after string
	q := "SELECT value FROM " + f.changelog.Qualified() + " WHERE hint = 'heartbeat'"
	if err := f.primary.QueryRow(q).Scan(&before); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := f.primary.QueryRow(q).Scan(&after); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("heartbeats went on while hibernating: %q, then %q", before, after)
	}
	if err := th.SetCriticalLoad(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "awake and healthy after hibernation", free(th))
	select {
	case err := <-done:
		t.Fatalf("Run returned %v; hibernation must not end it", err)
	default:
	}
	eventually(t, time.Second, "heartbeats resumed", func() bool {
		return f.primary.QueryRow(q).Scan(&after) == nil && after != before
	})
}

// The operator's throttle, the order of reasons, Wait and Nice need no running Run.
func TestUserThrottleWaitAndNice(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.Inspected = nil // no replica: nothing throttles before Run
	cfg.FlagFile = filepath.Join(t.TempDir(), "flag")
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if throttled, reason := th.Check(); throttled {
		t.Fatalf("throttled at start: %s", reason)
	}
	if err := th.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	th.SetUserThrottle(true)
	if throttled, reason := th.Check(); !throttled || reason != "commanded by user" || !th.UserThrottle() {
		t.Fatalf("Check() = %t, %q after the throttle command", throttled, reason)
	}
	// The operator's reason comes first, whatever else throttles.
	th.set(sigLoad, true, "max-load x")
	if _, reason := th.Check(); reason != "commanded by user" {
		t.Errorf("reason %q, want the operator's", reason)
	}
	th.set(sigLoad, false, "")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := th.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "commanded by user") {
		t.Errorf("Wait with an ending context = %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- th.Wait(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	th.SetUserThrottle(false)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Wait did not return after no-throttle")
	}

	if err := th.SetNiceRatio(0.5); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := th.Nice(context.Background(), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 100*time.Millisecond || took > 500*time.Millisecond {
		t.Errorf("Nice(200ms) at ratio 0.5 slept %s, want about 100ms", took)
	}
	if err := th.SetNiceRatio(-1); err == nil {
		t.Error("a negative nice-ratio was accepted")
	}
	if got := th.NiceRatio(); got != 0.5 {
		t.Errorf("NiceRatio() = %v after a refused change", got)
	}
	if err := th.SetNiceRatio(0); err != nil {
		t.Fatal(err)
	}
	if err := th.Nice(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if !th.LagOK() || th.Lag() != 0 {
		t.Errorf("without replicas LagOK() = %t, Lag() = %s", th.LagOK(), th.Lag())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"no primary", func(c *Config) { c.Primary = nil }, "Primary, Changelog and Flavor are required"},
		{"max-lag", func(c *Config) { c.MaxLag = 50 * time.Millisecond }, "--max-lag-millis 50 is out of range: use 100 to 31536000000"},
		{"max-load", func(c *Config) { c.MaxLoad = "Threads_running" }, "--max-load: "},
		{"critical-load", func(c *Config) { c.CriticalLoad = "Threads_running=x" }, "--critical-load: "},
		{"nice-ratio", func(c *Config) { c.NiceRatio = -0.5 }, "--nice-ratio -0.5 is out of range: use 0 to 100"},
		{"throttle-http", func(c *Config) { c.ThrottleHTTP = "localhost/x" }, "--throttle-http: "},
		{"replicas", func(c *Config) { c.ControlReplicas = "a,,b" }, "--throttle-control-replicas: "},
		{"heartbeat", func(c *Config) { c.HeartbeatInterval = 5 * time.Second }, "--heartbeat-interval-millis 5000 is out of range"},
		{"throttle-query", func(c *Config) { c.ThrottleQuery = "DROP TABLE t" }, "--throttle-query: a DROP statement"},
		{"max-commit-latency", func(c *Config) { c.MaxCommitLatency = 2 * time.Minute }, "--max-commit-latency 120000 is out of range: use 0 to 60000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config()
			tc.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New = %v, want an error with %q", err, tc.err)
			}
		})
	}
}

// A replica that answers with an error (here: a user without the privilege to read replication
// status) throttles with the server's error, not as unreachable.
func TestReplicaRefusesStatus(t *testing.T) {
	f := newFixture(t)
	exec := func(q string) {
		t.Helper()
		if _, err := f.primary.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE USER 'doppel_limited'@'%' IDENTIFIED BY 'pw'")
	t.Cleanup(func() { _, _ = f.primary.Exec("DROP USER IF EXISTS 'doppel_limited'@'%'") })
	exec("GRANT SELECT ON *.* TO 'doppel_limited'@'%'")
	waitReplica(t)
	cfg := f.config()
	limited := sb.Replica.Config()
	limited.User, limited.Password = "doppel_limited", "pw"
	cfg.Inspected = &limited
	th := start(t, cfg)
	eventually(t, 3*time.Second, "throttled with the server's error", throttledFor(th, "replica "+limited.Addr()+": reading replica status: Error 1227"))
}
