package migration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/fkeys"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// RunGroup migrates several tables of one schema together, each with its own Config (its Table
// and Alter), and swaps them in one RENAME (cutover.RunGroup): an expand step across a parent and
// a child is never half-visible. Each table is its own run in this process (binlog stream, copy,
// replay, verification); each waits at its swap until every other has reached its own, then one
// group cut-over catches every run up under the group's locks and renames all the tables or none.
// Each run then checks, in its own binlog stream, that no write slipped past the swap. A run that
// fails before the swap fails the group: no table is swapped, and each run leaves what a failed
// run leaves. The results are in the order of cfgs.
//
// Not with a revert, --test-on-replica, --attempt-instant-ddl or tables linked by a foreign key:
// they are refused before anything is created.
func RunGroup(ctx context.Context, cfgs []Config) ([]*Result, error) {
	if err := checkGroup(cfgs); err != nil {
		return nil, &refusal{msg: err.Error()}
	}
	if cfgs[0].Execute {
		if err := checkGroupServer(ctx, cfgs); err != nil {
			return nil, err
		}
	}
	g := &groupSwap{n: len(cfgs), arrived: make([]*run, len(cfgs)), members: make([]cutover.Config, len(cfgs)),
		full: make(chan struct{}), done: make(chan struct{}), aborted: make(chan struct{})}
	results := make([]*Result, len(cfgs))
	eg, ectx := errgroup.WithContext(ctx)
	for i := range cfgs {
		hk, err := hooks.New(hooks.Config{Dir: cfgs[i].HooksPath, Timeout: cfgs[i].HooksTimeout, Logger: cfgs[i].Logger})
		if err != nil {
			return nil, &refusal{msg: err.Error()}
		}
		r := newRun(&cfgs[i], hk)
		r.group, r.member = g, i
		eg.Go(func() error {
			res, err := r.finishRun(ectx)
			if err != nil {
				g.abort(fmt.Errorf("the migration of %s failed", sqlbuild.QualifiedName(cfgs[i].Database, cfgs[i].Table)))
				return fmt.Errorf("%s: %w", sqlbuild.QualifiedName(cfgs[i].Database, cfgs[i].Table), err)
			}
			results[i] = res
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return results, err
	}
	return results, nil
}

// checkGroup refuses what a group cannot do, before anything is read.
func checkGroup(cfgs []Config) error {
	if len(cfgs) < 2 {
		return errors.New("a group migration needs at least two tables")
	}
	seen := map[string]bool{}
	for i := range cfgs {
		c := &cfgs[i]
		if err := c.Check(); err != nil {
			return err
		}
		if c.Database != cfgs[0].Database {
			return fmt.Errorf("the tables migrated together must be in one database: %s and %s are not", cfgs[0].Database, c.Database)
		}
		if seen[c.Table] {
			return fmt.Errorf("--table=%s is given twice: give each table once, with all its changes in one --alter", c.Table)
		}
		seen[c.Table] = true
		switch {
		case c.Revert || c.RevertWindow > 0:
			return errors.New("--revert and --revert-window work on one table: they cannot be used with several --table")
		case c.TestOnReplica:
			return errors.New("--test-on-replica cannot be used with several --table")
		case c.AttemptInstantDDL:
			return errors.New("--attempt-instant-ddl cannot be used with several --table: an instant change of one table would not wait for the others")
		}
	}
	return nil
}

// checkGroupServer refuses, before anything is created, a server that cannot show which table a
// RENAME waits for, and tables linked by a foreign key.
func checkGroupServer(ctx context.Context, cfgs []Config) error {
	s, err := connect(ctx, &cfgs[0])
	if err != nil {
		return err
	}
	defer s.close()
	if err := cutover.CheckGroup(ctx, s.primary); err != nil {
		return &refusal{msg: err.Error()}
	}
	members := map[string]bool{}
	for _, c := range cfgs {
		members[c.Table] = true
	}
	for _, c := range cfgs {
		declared, _, err := fkeys.Read(ctx, s.primary, c.Database, c.Table)
		if err != nil {
			return fmt.Errorf("reading the foreign keys of %s: %w", sqlbuild.QualifiedName(c.Database, c.Table), err)
		}
		for _, f := range declared {
			if f.RefSchema == c.Database && members[f.RefTable] && f.RefTable != c.Table {
				return &refusal{msg: fmt.Sprintf("foreign key %s links %s to %s, and both are migrated together: doppel cannot yet swap tables linked by a foreign key in one RENAME (the child's new table would reference the parent's old one). Migrate them one at a time",
					f, sqlbuild.QualifiedName(c.Database, c.Table), sqlbuild.QualifiedName(f.RefSchema, f.RefTable))}
			}
		}
	}
	return nil
}

// groupSwap is the meeting point of a group's runs at their swap: each hands in its cut-over's
// Config and waits; the last to arrive runs the group's cut-over for all.
type groupSwap struct {
	n       int
	mu      sync.Mutex
	arrived []*run
	members []cutover.Config
	count   int
	full    chan struct{} // closed when every run has arrived
	done    chan struct{} // closed when the group's cut-over has ended
	results []cutover.Result
	err     error

	abortOnce sync.Once
	aborted   chan struct{}
	abortErr  error
}

// abort ends the wait of the runs at their swap: another run of the group failed.
func (g *groupSwap) abort(err error) {
	g.abortOnce.Do(func() {
		g.abortErr = err
		close(g.aborted)
	})
}

// cutOver swaps r's table: alone with cutover.Run, or in its group.
func (r *run) cutOver(ctx context.Context, cfg cutover.Config) (cutover.Result, error) {
	if r.group == nil {
		return cutover.Run(ctx, cfg)
	}
	return r.group.swap(ctx, r, cfg)
}

// swap hands in r's cut-over and waits for the group's outcome; the last run to arrive runs it.
func (g *groupSwap) swap(ctx context.Context, r *run, cfg cutover.Config) (cutover.Result, error) {
	g.mu.Lock()
	g.arrived[r.member], g.members[r.member] = r, cfg
	g.count++
	last := g.count == g.n
	g.mu.Unlock()
	if last {
		close(g.full)
		g.run(ctx)
	} else {
		r.log().Info("waiting for the other tables of the group to reach their cut-over")
		select {
		case <-g.done:
		case <-g.aborted:
			// The group's cut-over may have begun all the same (every run arrived): its outcome decides.
			select {
			case <-g.full:
				<-g.done
			default:
				return cutover.Result{}, fmt.Errorf("not cutting over: %w; no table of the group was swapped", g.abortErr)
			}
		case <-ctx.Done():
			select {
			case <-g.full:
				<-g.done
			default:
				return cutover.Result{}, ctx.Err()
			}
		}
	}
	if g.err != nil {
		return cutover.Result{}, g.err
	}
	return g.results[r.member], nil
}

// run runs the group's cut-over with every run's Config; the first run's settings (lock timeout,
// attempts, back-off, failpoints) are the group's.
func (g *groupSwap) run(ctx context.Context) {
	defer close(g.done)
	first := g.members[0]
	start := time.Now()
	g.results, g.err = cutover.RunGroup(ctx, cutover.GroupConfig{
		DB: first.DB, Members: g.members, LockTimeout: first.LockTimeout, Attempts: first.Attempts, Backoff: first.Backoff,
		Failpoint: first.Failpoint,
		OnAttempt: func(blocked time.Duration, err error) {
			for _, m := range g.members {
				if m.OnAttempt != nil {
					m.OnAttempt(blocked, err)
				}
			}
		},
		Logger: first.Logger,
	})
	g.arrived[0].log().Info("group cut-over ended", zap.Int("tables", g.n), zap.Duration("took", time.Since(start)), zap.Error(g.err))
}
