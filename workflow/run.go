package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/table"
)

// ErrRefused marks a run the plan refused, or that the history forbids: nothing ran.
var ErrRefused = errors.New("refused")

// job is one script to run, and the failed run it continues, if any.
type job struct {
	m    *Migration
	f    *File
	cont *Row // the failed run of this script to continue
}

// Up plans the pending migrations, the first n of them (0: all), and with Config.Execute runs them.
// A migration whose up stopped runs again from the statement it stopped at.
func (w *Workflow) Up(ctx context.Context, n int) (*Plan, error) { return w.run(ctx, "up", n) }

// Down plans reverting the last n applied migrations (0: all), newest first, and with
// Config.Execute runs their down scripts.
func (w *Workflow) Down(ctx context.Context, n int) (*Plan, error) { return w.run(ctx, "down", n) }

// PlanUp is the pre-flight report of Up, without a lock or anything written.
func (w *Workflow) PlanUp(ctx context.Context, n int) (*Plan, error) {
	rows, err := w.hist.read(ctx)
	if err != nil {
		return nil, err
	}
	return w.plan(ctx, "up", n, w.statuses(rows))
}

func (w *Workflow) run(ctx context.Context, dir string, n int) (*Plan, error) {
	if w.cfg.Execute {
		if err := w.hist.create(ctx); err != nil {
			return nil, err
		}
		l, err := takeLock(ctx, w.cfg.DB, w.cfg.Database, w.cfg.DeployLockWait, func(s string) { w.say("doppel migrate: %s", s) })
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := l.release(); err != nil {
				w.cfg.Logger.Warn("releasing the migrations lock", zap.Error(err))
			}
		}()
	}
	rows, err := w.hist.read(ctx)
	if err != nil {
		return nil, err
	}
	p, err := w.plan(ctx, dir, n, w.statuses(rows))
	if err != nil {
		return p, err
	}
	if err := p.WriteText(w.cfg.Out); err != nil {
		return p, err
	}
	switch {
	case len(p.Problems) > 0:
		return p, fmt.Errorf("%w: %s", ErrRefused, strings.Join(p.Problems, "; "))
	case p.Verdict == plan.VerdictRefused:
		return p, fmt.Errorf("%w: the plan refuses a statement (above); nothing ran", ErrRefused)
	case len(p.Migrations) == 0:
		w.say("doppel migrate %s: nothing to do.", dir)
		return p, nil
	case !w.cfg.Execute:
		w.say("doppel migrate %s: without --execute nothing ran; add --execute to run the above.", dir)
		return p, nil
	}
	for i := range p.Migrations {
		if err := w.apply(ctx, &p.Migrations[i]); err != nil {
			return p, err
		}
	}
	return p, nil
}

// plan chooses the scripts of the run and plans them. Problems with the history are in the plan's
// Problems, and make it refused.
func (w *Workflow) plan(ctx context.Context, dir string, n int, st []Status) (*Plan, error) {
	p := &Plan{Database: w.cfg.Database, Direction: dir, Problems: problems(st)}
	if len(p.Problems) > 0 {
		p.Verdict = plan.VerdictRefused
		return p, nil
	}
	jobs, err := chooseJobs(dir, n, st)
	if err != nil {
		p.Problems, p.Verdict = []string{err.Error()}, plan.VerdictRefused
		return p, nil
	}
	pl := w.newPlanner(w.cfg.AllowDataLoss || dir == "down")
	for _, j := range jobs {
		from := 1
		if j.cont != nil {
			from = j.cont.StoppedAt
		}
		mp, err := pl.script(ctx, j.m, j.f, dir, from, j.cont != nil)
		if err != nil {
			return p, err
		}
		mp.cont = j.cont
		p.Verdict = max(p.Verdict, mp.Verdict)
		p.Migrations = append(p.Migrations, mp)
	}
	return p, nil
}

// chooseJobs picks the scripts a run of dir runs, in order.
func chooseJobs(dir string, n int, st []Status) ([]job, error) {
	var jobs []job
	if dir == "up" {
		for i := range st {
			s := &st[i]
			switch {
			case s.State == StateFailed && s.Direction == "down":
				return nil, fmt.Errorf("the down of %s stopped at statement %d: finish it with `doppel migrate down --execute`, or fix the schema by hand and `doppel migrate repair --execute`", s.Version, s.StoppedAt)
			case s.State == StateFailed && s.applied == nil:
				jobs = append(jobs, job{m: s.m, f: s.m.Up, cont: s.last})
			case s.State == StatePending:
				jobs = append(jobs, job{m: s.m, f: s.m.Up})
			}
		}
	} else {
		for i := len(st) - 1; i >= 0; i-- {
			s := &st[i]
			switch {
			case s.State == StateFailed && s.Direction == "up":
				return nil, fmt.Errorf("the up of %s stopped at statement %d: finish it with `doppel migrate up --execute` first, or `doppel migrate repair --execute` to forget it", s.Version, s.StoppedAt)
			case s.applied == nil:
				continue
			case s.m.Down == nil:
				return nil, fmt.Errorf("%s has no down script (%s): it cannot be reverted", s.Version, downName(s.m))
			case s.State == StateFailed:
				jobs = append(jobs, job{m: s.m, f: s.m.Down, cont: s.last})
			default:
				jobs = append(jobs, job{m: s.m, f: s.m.Down})
			}
		}
	}
	if n > 0 && len(jobs) > n {
		jobs = jobs[:n]
	}
	return jobs, nil
}

// downName is the file a migration's down script would have.
func downName(m *Migration) string {
	if name, ok := strings.CutSuffix(m.Up.Name, ".up.sql"); ok {
		return name + ".down.sql"
	}
	return "U" + strings.TrimPrefix(m.Up.Name, "V")
}

// apply runs one script, recording each statement in its history row.
func (w *Workflow) apply(ctx context.Context, mp *MigrationPlan) error {
	f := mp.m.Up
	if mp.Direction == "down" {
		f = mp.m.Down
	}
	var rank int64
	var ran []Ran
	var before time.Duration
	var err error
	if c := mp.cont; c != nil {
		rank, ran, before = c.Rank, c.Statements, c.Duration
		w.say("doppel migrate %s: continuing %s at statement %d", mp.Direction, f.Name, mp.From)
	} else if rank, err = w.hist.start(ctx, mp.m, mp.Direction, f, w.appliedBy(ctx), 1); err != nil {
		return err
	}
	conn, err := w.cfg.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting to run %s: %w", f.Name, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(1, int(w.cfg.LockWaitTimeout/time.Second)))); err != nil {
		return fmt.Errorf("setting lock_wait_timeout: %w", err)
	}
	start := time.Now()
	took := func() time.Duration { return before + time.Since(start) }
	for i := 0; i < len(mp.Steps); i++ {
		st := &mp.Steps[i]
		if err := w.hist.progress(ctx, rank, ran, took(), st.Statement, nil); err != nil {
			return err
		}
		t0 := time.Now()
		resume := mp.cont != nil && st.Statement == mp.From
		if err := w.planGroupNow(ctx, mp.Steps[i:], w.cfg.AllowDataLoss || mp.Direction == "down"); err != nil {
			return err
		}
		if group := onlineGroup(mp.Steps[i:]); len(group) > 1 {
			// Consecutive online ALTERs of different tables are swapped together, in one RENAME.
			if err := w.runGroup(ctx, group, resume); err != nil {
				if ctx.Err() != nil {
					err = fmt.Errorf("interrupted: %w", err)
				}
				_ = w.hist.progress(ctx, rank, ran, took(), st.Statement, err)
				return fmt.Errorf("%s stopped at statements %d to %d (line %d, online, swapped together): %w. The history row says so; no table of the group was swapped unless the error says so. After fixing the cause, run `doppel migrate %s --execute` again to continue from statement %d",
					f.Name, st.Statement, group[len(group)-1].Statement, st.Line, err, mp.Direction, st.Statement)
			}
			ms := time.Since(t0).Milliseconds()
			for _, g := range group {
				ran = append(ran, Ran{Statement: g.Statement, Line: g.Line, How: HowOnline, MS: ms})
			}
			w.say("  %s statements %d to %d (line %d): online, %d tables swapped together in %s", f.Name, st.Statement, group[len(group)-1].Statement, st.Line, len(group), time.Since(t0).Round(time.Millisecond))
			i += len(group) - 1
			continue
		}
		run := fmt.Sprintf("%s %s #%d", f.Name, mp.Direction, rank)
		how, err := w.runStep(ctx, conn, st, run, resume, w.cfg.AllowDataLoss || mp.Direction == "down")
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("interrupted: %w", err)
			}
			_ = w.hist.progress(ctx, rank, ran, took(), st.Statement, err)
			return fmt.Errorf("%s stopped at statement %d (line %d, %s): %w. The history row says so; after fixing the cause, run `doppel migrate %s --execute` again to continue from that statement",
				f.Name, st.Statement, st.Line, how, err, mp.Direction)
		}
		ran = append(ran, Ran{Statement: st.Statement, Line: st.Line, How: how, MS: time.Since(t0).Milliseconds()})
		w.say("  %s statement %d (line %d): %s in %s", f.Name, st.Statement, st.Line, how, time.Since(t0).Round(time.Millisecond))
	}
	if err := w.hist.progress(ctx, rank, ran, took(), 0, nil); err != nil {
		return err
	}
	w.say("doppel migrate %s: %s done in %s", mp.Direction, f.Name, took().Round(time.Millisecond))
	return nil
}

// planGroupNow plans, now that the statements before them have run, the statements at the start of
// steps that were planned at their turn, as long as they are online ALTERs of different tables: a
// statement on a table an earlier migration of the run changes is planned only then, and would
// otherwise never be grouped. A statement the plan refuses now is left at its turn: runStep plans
// it again and refuses it.
func (w *Workflow) planGroupNow(ctx context.Context, steps []Step, allowDataLoss bool) error {
	tables := map[string]bool{}
	for i := range steps {
		st := &steps[i]
		if st.stmt.Table == "" || tables[st.stmt.Table] {
			return nil // a table changed by a statement before it in the group runs after that one
		}
		if st.How == HowAtItsTurn {
			again, err := w.newPlanner(allowDataLoss).statement(ctx, st.stmt)
			if err != nil {
				return err
			}
			if again.Verdict == plan.VerdictRefused {
				return nil
			}
			again.Statement = st.Statement
			*st = again
		}
		if st.How != HowOnline {
			return nil
		}
		tables[st.stmt.Table] = true
	}
	return nil
}

// onlineGroup returns the steps at the start of steps that are ALTERs planned online, each of a
// table none of the others changes: they run as one group. Fewer than two: no group.
func onlineGroup(steps []Step) []Step {
	tables := map[string]bool{}
	n := 0
	for _, st := range steps {
		if st.How != HowOnline || st.stmt.Table == "" || tables[st.stmt.Table] {
			break
		}
		tables[st.stmt.Table] = true
		n++
	}
	return steps[:n]
}

// runGroup runs a group of online steps with Online.AlterGroup. resume continues the stopped run of
// the group: each table whose changelog table a stopped run kept resumes from its checkpoint.
func (w *Workflow) runGroup(ctx context.Context, group []Step, resume bool) error {
	changes := make([]OnlineChange, len(group))
	for i, st := range group {
		changes[i] = OnlineChange{Table: st.stmt.Table, Alter: st.SQL}
		if resume {
			ok, err := table.Exists(ctx, w.cfg.DB, w.cfg.Database, table.ChangelogName(st.stmt.Table))
			if err != nil {
				return err
			}
			changes[i].Resume = ok
		}
	}
	return w.cfg.Online.AlterGroup(ctx, changes)
}

// runStep runs one statement the way its plan says. A statement planned at its turn is planned now.
// run names the script's run (its history row), for the backfill's checkpoint.
func (w *Workflow) runStep(ctx context.Context, conn *sql.Conn, st *Step, run string, resume, allowDataLoss bool) (How, error) {
	if st.How == HowAtItsTurn {
		again, err := w.newPlanner(allowDataLoss).statement(ctx, st.stmt)
		if err != nil {
			return st.How, err
		}
		if again.Verdict == plan.VerdictRefused {
			return again.How, fmt.Errorf("the plan refuses it now that its turn came: %s", strings.Join(again.Findings, "; "))
		}
		again.Statement = st.Statement
		*st = again
	}
	switch st.How {
	case HowOnline:
		if resume {
			// The stopped run kept its ghost and changelog tables only when it got that far.
			ok, err := table.Exists(ctx, w.cfg.DB, w.cfg.Database, table.ChangelogName(st.stmt.Table))
			if err != nil {
				return st.How, err
			}
			resume = ok
		}
		if resume {
			w.say("  resuming the online change of %s from its checkpoint", sqlbuild.QuoteIdent(st.stmt.Table))
		}
		return st.How, w.cfg.Online.Alter(ctx, st.stmt.Table, st.SQL, resume)
	case HowBackfill:
		return st.How, w.cfg.Backfiller.Backfill(ctx, w.cfg.DB, st.SQL, run)
	default:
		return st.How, w.native(ctx, conn, st.SQL)
	}
}

// native runs a statement as written, retrying when it waited too long for a lock (lock_wait_timeout
// bounds each wait) or was chosen as a deadlock's victim.
func (w *Workflow) native(ctx context.Context, conn *sql.Conn, stmt string) error {
	for attempt := 1; ; attempt++ {
		_, err := conn.ExecContext(ctx, stmt)
		n := dbconn.ErrorNumber(err)
		if err == nil || (n != dbconn.ErrLockWaitTimeout && n != dbconn.ErrDeadlock) {
			return err
		}
		if attempt >= w.cfg.Retries {
			return fmt.Errorf("%w (tried %d times, each waiting up to %s for the table's lock: a long transaction holds it; find it in information_schema.PROCESSLIST)", err, attempt, w.cfg.LockWaitTimeout)
		}
		w.say("  waited %s for a lock (attempt %d of %d): %v; retrying", w.cfg.LockWaitTimeout, attempt, w.cfg.Retries, err)
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, 5*time.Second)):
		}
	}
}

// appliedBy is who runs the migration: the server's USER() (user@client host).
func (w *Workflow) appliedBy(ctx context.Context) string {
	var u string
	if err := w.cfg.DB.QueryRowContext(ctx, "SELECT USER()").Scan(&u); err != nil {
		return "unknown"
	}
	return u
}
