package localtests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
)

// Migrations steered while they run, under the same load and checks as the cases: through the
// flag files an operator uses, and by a signal. Each runs alone (not in parallel with TestLocal).

const (
	operateTable = "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(30) NULL, n BIGINT NULL, d DATETIME(6) NULL)"
	operateAlter = "ADD COLUMN added INT NULL"
)

// flagFile returns the path of a flag file in a directory of the test's own; the file does not
// exist yet unless create.
func flagFile(t *testing.T, name string, create bool) string {
	path := filepath.Join(t.TempDir(), name)
	if create {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func removeFlag(t *testing.T, path string) {
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestPostponedCutOver holds the cut-over with --postpone-cut-over-flag-file while the load goes on:
// the replay keeps the ghost current the whole time, and the swap after the file is removed loses
// nothing.
func TestPostponedCutOver(t *testing.T) {
	flag := flagFile(t, "postpone", true)
	c := newCase(t, buildDoppel(t), newFixture("postponed", operateTable, operateAlter, "--postpone-cut-over-flag-file="+flag), 3200)
	c.during = func(p *doppelProc) {
		p.waitFor("cut-over postponed")
		time.Sleep(time.Second)
		removeFlag(t, flag)
	}
	c.run()
}

// TestThrottledCopy starts the migration throttled by --throttle-flag-file, lets the load write for
// a second, then lifts the throttle.
func TestThrottledCopy(t *testing.T) {
	flag := flagFile(t, "throttle", true)
	c := newCase(t, buildDoppel(t), newFixture("throttled", operateTable, operateAlter, "--throttle-flag-file="+flag), 3300)
	c.during = func(p *doppelProc) {
		p.waitFor("\tthrottling\t") // the log line saying so
		time.Sleep(time.Second)
		removeFlag(t, flag)
	}
	c.run()
}

// TestInterruptedWhilePostponedThenResumed sends doppel SIGINT (Ctrl-C) while its cut-over is
// postponed, after the copy, then continues the migration with --resume.
func TestInterruptedWhilePostponedThenResumed(t *testing.T) {
	postpone := flagFile(t, "postpone", true)
	c := newCase(t, buildDoppel(t), newFixture("interrupted-postponed", operateTable, operateAlter, "--postpone-cut-over-flag-file="+postpone), 3400)
	c.runInterruptedThenResumed(true, func(p *doppelProc) {
		p.waitFor("cut-over postponed")
		time.Sleep(2500 * time.Millisecond) // a checkpoint is written every 2 s
	}, func(p *doppelProc) {
		// The resumed run postpones again, as gh-ost does: the flag file is there (or created
		// again) until the operator removes it.
		p.waitFor("cut-over postponed")
		removeFlag(t, postpone)
	})
}

var copiedRE = regexp.MustCompile(`copy (\d+)/`)

// TestInterruptedDuringCopyThenResumed sends doppel SIGINT in the middle of the copy, then
// continues the migration with --resume: the copy goes on from its checkpoint, and the replay from
// the binlog position recorded with it.
func TestInterruptedDuringCopyThenResumed(t *testing.T) {
	c := newCase(t, buildDoppel(t), newFixture("interrupted-copying", operateTable, operateAlter, "--chunk-size=10", "--copy-workers=1"), 3500)
	c.runInterruptedThenResumed(false, func(p *doppelProc) {
		// Some rows copied, then the copy paused (the interactive throttle acts at once) long
		// enough for a checkpoint to record where it is.
		for copied := 0; copied < 200; {
			m := copiedRE.FindStringSubmatch(p.command("sup"))
			if m == nil {
				t.Fatalf("doppel's status line does not say how many rows are copied")
			}
			copied, _ = strconv.Atoi(m[1])
			time.Sleep(10 * time.Millisecond)
		}
		p.command("throttle")
		time.Sleep(2500 * time.Millisecond)
	}, nil)
}

// TestPanicFlagWithoutCheckpoint creates the --panic-flag-file while the copy is throttled, with
// --checkpoint=false: doppel must stop at once, drop what it created and leave the table as it was.
func TestPanicFlagWithoutCheckpoint(t *testing.T) {
	panicFlag := flagFile(t, "panic", false)
	throttle := flagFile(t, "throttle", true)
	c := newCase(t, buildDoppel(t), newFixture("panic", operateTable, operateAlter,
		"--panic-flag-file="+panicFlag, "--throttle-flag-file="+throttle, "--checkpoint=false"), 3600)
	c.runCreateSQL()
	alt := c.setUp()
	ddl := c.showCreate(c.primary, c.f.table)
	load := c.generator(alt.writable, alt.unique)
	stop := startLoad(c.ctx, load)
	defer func() { _ = stop() }() // on a t.Fatal below; the load's error is then moot
	c.waitForLoad(load)
	p := c.startDoppel()
	p.waitFor("\tthrottling\t")
	if err := os.WriteFile(panicFlag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res := p.wait()
	time.Sleep(loadAfter)
	if err := stop(); err != nil {
		t.Fatalf("the load: %v", err)
	}
	c.checkStopped(res, "stopped by the operator (panic)", ddl, load.Stats())
	c.checkHelperTables(c.f.table, map[string]bool{})
	if err := loadgen.Compare(c.ctx, c.primary, c.schema, c.f.table, c.oracle(), []string{"id"}); err != nil {
		t.Errorf("the table's rows differ from the oracle's: %v", err)
	}
}

// runInterruptedThenResumed migrates the table in two runs under one load. interrupt runs while the
// first goes on, which is then stopped by SIGINT: it must leave the table as it was and keep the
// ghost and changelog tables. The second run, with --resume, must continue from the checkpoint
// (copyDone says whether that was after the copy) and pass every check of a case; resumed, when
// set, runs while it goes on.
func (c *caseRun) runInterruptedThenResumed(copyDone bool, interrupt, resumed func(p *doppelProc)) {
	t := c.t
	c.runCreateSQL()
	alt := c.setUp()
	ddl := c.showCreate(c.primary, c.f.table)
	load := c.generator(alt.writable, alt.unique)
	stop := startLoad(c.ctx, load)
	defer func() { _ = stop() }() // on a t.Fatal below; the load's error is then moot
	c.waitForLoad(load)

	// The load's overlap is counted over both runs and the gap between them: a resume after the
	// copy can finish in a fraction of a second, and what it must replay is mostly written while
	// doppel was away.
	before := load.Stats().Committed
	p := c.startDoppel()
	interrupt(p)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	res := p.wait()
	c.checkStopped(res, "interrupted", ddl, load.Stats())
	c.checkHelperTables(c.f.table, map[string]bool{"_gho": true, "_ghc": true})
	c.f.args = append(c.f.args, "--resume")
	p = c.startDoppel()
	if resumed != nil {
		resumed(p)
	}
	res = p.wait()
	during := load.Stats().Committed - before
	time.Sleep(loadAfter)
	if err := stop(); err != nil {
		t.Fatalf("the load: %v", err)
	}
	if want := "\tresuming\t{\"binlog\": "; !strings.Contains(res.output, want) {
		t.Errorf("the second run did not resume:\n%s", tail(res.output))
	}
	if want := fmt.Sprintf(`"copy_done": %v`, copyDone); !strings.Contains(res.output, want) {
		t.Errorf("the second run did not resume where wanted (%s):\n%s", want, tail(res.output))
	}
	c.checkMigrated(res, load.Stats(), during)
}

// checkStopped checks a run that must have stopped with want in its output and left the table's
// definition as it was (ddl), while the load ran without a failure.
func (c *caseRun) checkStopped(res doppelResult, want, ddl string, st loadgen.Stats) {
	t := c.t
	if res.code == 0 {
		t.Fatalf("doppel succeeded, want it stopped (%q):\n%s", want, tail(res.output))
	}
	if !strings.Contains(res.output, want) {
		t.Errorf("doppel's output lacks %q:\n%s", want, tail(res.output))
	}
	if st.Failed > 0 || st.Divergent > 0 {
		t.Errorf("load: %d transactions failed, %d saw the table and the oracle differ: %s", st.Failed, st.Divergent, strings.Join(st.Errors, " | "))
	}
	if after := c.showCreate(c.primary, c.f.table); after != ddl {
		t.Errorf("the table's definition changed:\nbefore:\n%s\nafter:\n%s", ddl, after)
	}
}
