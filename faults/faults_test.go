// Package faults proves that doppel loses nothing when things go wrong: doppel killed with
// SIGKILL during the copy and at every step of the cut-over, the primary restarted during the copy,
// a long transaction in the way of the swap. Each test runs the real doppel binary against the
// sandbox while a write load runs on the table and, in the same transactions, on an oracle copy of
// it; at the end the oracle gets the same ALTER natively and the two must be equal row by row.
package faults

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

var (
	sb     *sandbox.Sandbox
	doppel string // the binary under test
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests builds the doppel binary the tests kill and restart, and removes it when they are done.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "doppel-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	doppel = filepath.Join(dir, "doppel")
	if out, err := exec.Command("go", "build", "-tags", "failpoints", "-o", doppel, "../cmd/doppel").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building doppel: %v\n%s", err, out)
		return 1
	}
	return sandbox.Run(m, sandbox.Options{}, &sb)
}

const alter = "ADD COLUMN extra INT NULL, ADD INDEX idx_extra_k (k, extra)"

// fixture is a table of rows under a mirrored write load.
type fixture struct {
	t      *testing.T
	schema string
	db     *sql.DB
	gen    *loadgen.Generator
	stop   context.CancelFunc
	done   chan error
}

func newFixture(t *testing.T, rows int) *fixture { return newFixtureWith(t, rows, nil) }

// newFixtureWith is newFixture with setup run on the tables before the load starts.
func newFixtureWith(t *testing.T, rows int, setup func(t *testing.T, db *sql.DB)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, schema: sb.NewDatabase(t)}
	var err error
	if f.db, err = dbconn.Open(sb.Primary.Config(), f.schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if err := loadgen.CreateSysbench(ctx, f.db, sb.Flavor.Name(), "t", rows); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE oracle LIKE t", "INSERT INTO oracle SELECT * FROM t"} {
		if _, err := f.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if setup != nil {
		setup(t, f.db)
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	if f.gen, err = loadgen.New(ctx, loadgen.Config{DB: f.db, Schema: f.schema, Table: "t", Oracle: "oracle", Workers: 4, Rate: 150}); err != nil {
		t.Fatal(err)
	}
	loadCtx, stop := context.WithCancel(ctx)
	f.stop, f.done = stop, make(chan error, 1)
	go func() { f.done <- f.gen.Run(loadCtx) }()
	t.Cleanup(f.stopLoad)
	return f
}

func (f *fixture) stopLoad() {
	if f.stop != nil {
		f.stop()
		if err := <-f.done; err != nil {
			f.t.Errorf("the write load could not start: %v", err)
		}
		f.stop = nil
	}
}

// args are doppel's flags for a migration of the fixture's table through the replica.
func (f *fixture) args(extra ...string) []string {
	r := sb.Replica.Config()
	return append([]string{
		"--host=" + r.Host, fmt.Sprintf("--port=%d", r.Port), "--user=root", "--database=" + f.schema, "--table=t",
		"--alter=" + alter, "--execute", "--throttle-additional-flag-file=", "--serve-socket-file=",
		"--cut-over-lock-timeout-seconds=2", "--default-retries=10",
	}, extra...)
}

// proc is a running doppel.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	output strings.Builder
	lines  chan string
	exited chan error
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{lines: make(chan string, 1000), exited: make(chan error, 1)}
	p.cmd = exec.Command(doppel, args...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.output.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		err := p.cmd.Wait()
		_ = pw.Close() // ends the scan of the output
		p.exited <- err
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

func (p *proc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// waitLine waits for an output line holding want.
func (p *proc) waitLine(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, want) {
				return
			}
		case err := <-p.exited:
			t.Fatalf("doppel exited (%v) before %q:\n%s", err, want, p.out())
		case <-deadline:
			t.Fatalf("no %q within %s:\n%s", want, limit, p.out())
		}
	}
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = <-p.exited // "signal: killed", as meant
}

func (p *proc) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-p.exited:
		return err
	case <-time.After(limit):
		t.Fatalf("doppel did not finish within %s:\n%s", limit, p.out())
		return nil
	}
}

// run runs doppel to the end and fails the test unless it succeeds.
func (f *fixture) run(extra ...string) string {
	f.t.Helper()
	p := start(f.t, nil, f.args(extra...)...)
	if err := p.wait(f.t, 3*time.Minute); err != nil {
		f.t.Fatalf("doppel failed: %v\n%s", err, p.out())
	}
	return p.out()
}

// ghostRows counts the ghost table's rows, -1 while it does not exist.
func (f *fixture) ghostRows() int {
	var n int
	if err := f.db.QueryRow("SELECT COUNT(*) FROM _t_gho").Scan(&n); err != nil {
		return -1
	}
	return n
}

// checkpointHasWatermark reports whether a checkpoint records copied rows.
func (f *fixture) checkpointHasWatermark() bool {
	var v string
	return f.db.QueryRow("SELECT value FROM _t_ghc WHERE hint = 'checkpoint'").Scan(&v) == nil && strings.Contains(v, `"watermark"`)
}

func (f *fixture) tables() string {
	rows, err := f.db.Query("SHOW TABLES")
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return strings.Join(names, ",")
}

// hasExtra reports whether t has the column the ALTER adds: whether it is the migrated table.
func (f *fixture) hasExtra() bool {
	var n int
	err := f.db.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't' AND COLUMN_NAME = 'extra'", f.schema).Scan(&n)
	if err != nil {
		f.t.Fatal(err)
	}
	return n == 1
}

// serving checks the table takes writes within a few seconds.
func (f *fixture) serving() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.db.ExecContext(ctx, "UPDATE t SET k = k WHERE id = 1"); err != nil {
		f.t.Fatalf("the table does not take writes: %v", err)
	}
}

// verify stops the load and compares the migrated table with the oracle altered natively.
func (f *fixture) verify() {
	f.t.Helper()
	f.stopLoad()
	st := f.gen.Stats()
	if st.Committed == 0 || st.Divergent > 0 {
		f.t.Errorf("write load: %d committed, %d divergent: %v", st.Committed, st.Divergent, st.Errors)
	}
	if _, err := f.db.Exec("ALTER TABLE oracle " + alter); err != nil {
		f.t.Fatal(err)
	}
	if err := loadgen.Compare(context.Background(), f.db, f.schema, "t", "oracle", []string{"id"}); err != nil {
		f.t.Fatalf("the migrated table differs from the oracle: %v", err)
	}
	f.t.Logf("load: %d transactions committed, %d failed, %d conflicts", st.Committed, st.Failed, st.Conflicts)
}

// TestKillDuringCopyThenResume: SIGKILL in the middle of the copy, then the same command with
// --resume finishes from the checkpoint, without copying everything again.
func TestKillDuringCopyThenResume(t *testing.T) {
	const rows = 60000
	f := newFixture(t, rows)
	// A slow copy (--nice-ratio), so it is still under way when a checkpoint has recorded progress.
	p := start(t, nil, f.args("--chunk-size=500", "--chunk-target-ms=0", "--nice-ratio=10")...)
	for deadline := time.Now().Add(time.Minute); f.ghostRows() < rows/4 || !f.checkpointHasWatermark(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the copy does not progress:\n%s", p.out())
		}
	}
	p.kill(t)
	var cp string
	_ = f.db.QueryRow("SELECT value FROM _t_ghc WHERE hint = 'checkpoint'").Scan(&cp)
	t.Logf("checkpoint at the kill: %s", cp)
	if f.hasExtra() {
		t.Fatal("the original table changed")
	}
	f.serving()
	out := f.run("--resume", "--chunk-size=500", "--chunk-target-ms=0", "--debug")
	t.Logf("first run:\n%s\nresumed run:\n%s", p.out(), out)
	if !strings.Contains(out, "resuming") {
		t.Errorf("the second run did not resume:\n%s", out)
	}
	if copied := rowsCopied(t, out); copied > rows*3/4 {
		t.Errorf("the resumed run copied %d of %d rows: it did not start from the checkpoint", copied, rows)
	}
	f.verify()
}

// rowsCopied reads "N rows copied" from doppel's summary line.
func rowsCopied(t *testing.T, out string) int {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		head, _, ok := strings.Cut(line, " rows copied")
		if !ok {
			continue
		}
		var n int
		if _, err := fmt.Sscan(head[strings.LastIndex(head, " ")+1:], &n); err == nil {
			return n
		}
	}
	t.Fatalf("no summary line in:\n%s", out)
	return 0
}

// TestPrimaryRestartDuringCopy: the primary restarts in the middle of the copy; doppel reconnects and
// finishes, or stops with its progress kept and finishes with --resume.
func TestPrimaryRestartDuringCopy(t *testing.T) {
	const rows = 60000
	f := newFixture(t, rows)
	p := start(t, nil, f.args("--chunk-size=500", "--chunk-target-ms=0", "--nice-ratio=10")...)
	for deadline := time.Now().Add(time.Minute); f.ghostRows() < rows/4; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the copy does not progress:\n%s", p.out())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sb.Primary.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t, 3*time.Minute); err != nil {
		t.Logf("doppel stopped after the restart (%v); resuming", err)
		if !strings.Contains(p.out(), "--resume") {
			t.Fatalf("doppel failed without keeping its progress:\n%s", p.out())
		}
		f.run("--resume")
	}
	f.verify()
}

// TestKilledDuringCutOver: SIGKILL at every step of the swap. Before the sentry is dropped the
// original must be intact and serving, nothing renamed; after it, the swap completes on the server
// by itself. Never half. Running doppel again (with --resume when the swap did not happen) ends
// with the migrated table equal to the oracle.
func TestKilledDuringCutOver(t *testing.T) {
	for _, step := range []string{"sentry", "locked", "caught-up", "rename-queued", "sentry-dropped"} {
		t.Run(step, func(t *testing.T) {
			f := newFixture(t, 5000)
			p := start(t, []string{"DOPPEL_FAILPOINT=cutover:" + step}, f.args()...)
			p.waitLine(t, "failpoint cutover:"+step+" reached", 2*time.Minute)
			p.kill(t)
			time.Sleep(500 * time.Millisecond) // the server notices the dead sessions
			f.serving()
			swapped := f.hasExtra()
			tables := f.tables()
			t.Logf("after SIGKILL at %s: swapped %v, tables %s", step, swapped, tables)
			switch {
			case swapped && strings.Contains(tables, "_t_gho"):
				t.Fatalf("half a swap: t is migrated but the ghost still exists (%s)", tables)
			case !swapped && !strings.Contains(tables, "_t_gho"):
				t.Fatalf("half a swap: t is the original but the ghost is gone (%s)", tables)
			case step != "sentry-dropped" && swapped:
				t.Fatalf("swapped although doppel died before the point of no return")
			}
			if !swapped {
				f.run("--resume")
			}
			f.verify()
		})
	}
}

// TestLongTransactionDuringCutOver: a transaction that has read the table holds it through the
// cut-over: each attempt times out, the table stays usable between attempts, and the swap happens
// once the transaction ends.
func TestLongTransactionDuringCutOver(t *testing.T) {
	f := newFixture(t, 5000)
	postpone := filepath.Join(t.TempDir(), "postpone")
	if err := os.WriteFile(postpone, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, f.args("--postpone-cut-over-flag-file="+postpone, "--cut-over-lock-timeout-seconds=1", "--default-retries=30")...)
	p.waitLine(t, "cut-over postponed", 2*time.Minute)
	tx, err := f.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SELECT COUNT(*) FROM t"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(postpone); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, "cut-over attempt failed", time.Minute)
	f.serving() // between attempts
	if f.hasExtra() {
		t.Fatal("swapped while a transaction held the table")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("doppel failed: %v\n%s", err, p.out())
	}
	f.verify()
}
