package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
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
// Tables linked by a foreign key are swapped together with their constraints between new tables
// (repointGhosts). Not with a revert, --test-on-replica or --attempt-instant-ddl: they are refused
// before anything is created.
func RunGroup(ctx context.Context, cfgs []Config) ([]*Result, error) {
	if err := checkGroup(cfgs); err != nil {
		return nil, &refusal{msg: err.Error()}
	}
	// Read-only: a dry run says as well that the server cannot swap the tables together.
	if err := checkGroupServer(ctx, cfgs); err != nil {
		return nil, err
	}
	g := &groupSwap{n: len(cfgs), schema: cfgs[0].Database, ghosts: map[string]string{}, arrived: make([]*run, len(cfgs)), members: make([]cutover.Config, len(cfgs)),
		full: make(chan struct{}), done: make(chan struct{}), aborted: make(chan struct{})}
	for _, c := range cfgs {
		g.ghosts[c.Table] = namesFor(c.Table).ghost
	}
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
	dropOldTables(ctx, cfgs, results)
	return results, nil
}

// dropOldTables drops, with --ok-to-drop-table, the old tables each run could not drop itself: the
// runs end side by side, and an old parent cannot be dropped while an old child, not dropped yet,
// still references it. Each pass drops what it can, until one drops nothing.
func dropOldTables(ctx context.Context, cfgs []Config, results []*Result) {
	ctx = context.WithoutCancel(ctx)
	db, err := dbconn.Open(cfgs[0].Conn, "")
	if err != nil {
		return // each result says the old table is kept
	}
	defer db.Close()
	for dropped := true; dropped; {
		dropped = false
		for i, res := range results {
			if res == nil || res.OldTable == "" || !cfgs[i].OkToDropTable || cfgs[i].RevertWindow > 0 {
				continue
			}
			if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+sqlbuild.QualifiedName(cfgs[i].Database, res.OldTable)); err == nil {
				res.OldTable, dropped = "", true
			}
		}
	}
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
		// Each table's binlog stream registers as a replica of its own: two with one server id
		// would make the server drop one whenever the other connects.
		if i > 0 && c.ServerID == cfgs[0].ServerID {
			if uint64(c.ServerID)+uint64(i) > MaxServerID {
				return fmt.Errorf("--replica-server-id %d leaves no room for the group's %d binlog streams (it uses %d to %d-1): choose a smaller one no other server or replica uses",
					cfgs[0].ServerID, len(cfgs), cfgs[0].ServerID, uint64(cfgs[0].ServerID)+uint64(len(cfgs)))
			}
			c.ServerID += uint32(i)
		}
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
// RENAME waits for.
func checkGroupServer(ctx context.Context, cfgs []Config) error {
	s, err := connect(ctx, &cfgs[0])
	if err != nil {
		return err
	}
	defer s.close()
	if err := cutover.CheckGroup(ctx, s.primary); err != nil {
		return &refusal{msg: err.Error()}
	}
	return nil
}

// groupSwap is the meeting point of a group's runs at their swap: each hands in its cut-over's
// Config and waits; the last to arrive runs the group's cut-over for all.
type groupSwap struct {
	n       int
	schema  string
	ghosts  map[string]string // the ghost of each table of the group
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
	// A parent of another table of the group is locked READ (cutover.Config.ReadLock).
	_, referencing, err := fkeys.Read(ctx, r.s.primary, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return cutover.Result{}, fmt.Errorf("reading the foreign keys that reference %s: %w", r.cfg.Table, err)
	}
	for _, f := range referencing {
		cfg.ReadLock = cfg.ReadLock || (f.Table != r.cfg.Table && r.group.swapped(f.Schema, f.Table))
	}
	// The ghost's constraints to re-point are read now, not under the lock: only doppel changes them.
	declared, _, err := fkeys.Read(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return cutover.Result{}, fmt.Errorf("reading the foreign keys of the ghost table: %w", err)
	}
	var repoint []fkeys.FK
	for _, f := range declared {
		if f.RefSchema == r.group.schema && f.RefTable != r.cfg.Table && r.group.ghosts[f.RefTable] != "" {
			repoint = append(repoint, f)
		}
	}
	if len(repoint) > 0 {
		prepare, undo := cfg.Prepare, cfg.Undo
		cfg.Prepare = func(ctx context.Context) error {
			if prepare != nil {
				if err := prepare(ctx); err != nil {
					return err
				}
			}
			return r.repointGhost(ctx, repoint, true)
		}
		cfg.Undo = func(ctx context.Context) error {
			err := r.repointGhost(ctx, repoint, false)
			if undo != nil {
				err = errors.Join(err, undo(ctx))
			}
			return err
		}
	}
	return r.group.swap(ctx, r, cfg)
}

// swapped reports whether schema.name is a table of the group or the ghost of one.
func (g *groupSwap) swapped(schema, name string) bool {
	if schema != g.schema {
		return false
	}
	for t, ghost := range g.ghosts {
		if name == t || name == ghost {
			return true
		}
	}
	return false
}

// repointGhost makes the foreign keys fs of r's ghost, which reference other tables of the group,
// reference those tables' ghosts instead (toGhosts), or the tables again (!toGhosts, the undo of a
// failed attempt, which looks at where each constraint points now). It runs under the group's
// locks, after every table caught up, when nothing is replayed into the ghosts any more: the RENAME
// then carries each constraint along, so the new child references the new parent, and the old
// child the old parent. In place, foreign_key_checks off: the parent's ghost holds the parent's rows.
func (r *run) repointGhost(ctx context.Context, fs []fkeys.FK, toGhosts bool) error {
	conn, err := r.s.primary.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return withoutFKChecks(ctx, conn, func() error {
		for _, f := range fs {
			to, stmts := r.group.ghosts[f.RefTable], f.Repoint(r.group.ghosts[f.RefTable])
			if !toGhosts {
				var ref sql.NullString
				err := conn.QueryRowContext(ctx, `SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
					WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?`, f.Schema, f.Table, f.Name).Scan(&ref)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("reading where foreign key %s points: %w: %w", f, err, cutover.ErrAbort)
				}
				if ref.Valid && ref.String == f.RefTable {
					continue
				}
				to, stmts = f.RefTable, f.Repoint(f.RefTable)
				if !ref.Valid {
					stmts = stmts[1:] // dropped, not added again
				}
			}
			for _, stmt := range stmts {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					if toGhosts {
						return fmt.Errorf("pointing foreign key %s at %s for the group's swap: %w", f, to, err)
					}
					return fmt.Errorf("pointing foreign key %s back at %s after a failed group swap: %w: %w", f, to, err, cutover.ErrAbort)
				}
			}
		}
		return nil
	})
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
