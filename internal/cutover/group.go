package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// GroupConfig configures the swap of several tables of one schema in one RENAME (RunGroup).
type GroupConfig struct {
	DB *sql.DB // the primary
	// Members are the tables' swaps. Each one's Schema (the same for all), Table, Ghost, Old,
	// CatchUp, checks, preparations, locks and Guard are used as Run uses them; their DB,
	// LockTimeout, Attempts, Backoff, Failpoint, OnAttempt and Logger are the group's.
	Members     []Config
	LockTimeout time.Duration
	Attempts    int
	Backoff     func(n int) time.Duration
	// Failpoint is called at the steps Run names, for the group: "sentry" (every sentry made),
	// "locked" (every table locked), "caught-up", "prepared", "rename-queued" (the RENAME waits
	// for the first table), "released" (after each table but the last is released),
	// "sentry-dropped" (the last), "failed".
	Failpoint func(step string)
	OnAttempt func(blocked time.Duration, err error)
	Logger    *zap.Logger
}

// RunGroup swaps every member's ghost in for its table in one RENAME: all the tables or none. It
// is Run for several tables, with one locking session per table:
//
//  1. Every member settles, has its sentry made and its tables locked by a session of its own
//     (A_i), catches up and is checked under its lock, as in Run; then every guard is sealed and
//     every member prepared.
//  2. Session B issues one RENAME of every pair. It takes its locks in key order (schema, then
//     name), waiting at the first one held.
//  3. A table is released only once B is seen waiting for it: B holds the schema's lock and every
//     key before the table's, and not the table's, and is in a lock wait. Its session then drops
//     its sentry and unlocks: B, first in line, takes the table before any waiting write, and
//     moves on to the next locked one. The writes of the tables B has not reached stay held by
//     their sessions' locks, so no write reaches an original after the catch-up.
//  4. Once the last sentry is dropped, the RENAME completes whatever happens to doppel. Before
//     that, a failure unlocks the remaining tables with their sentries in place: B's RENAME then
//     fails on an existing sentry and renames nothing (a RENAME of several tables is atomic).
//
// Which locks a session holds is read from the server (CheckGroup: MariaDB's metadata_lock_info
// plugin, MySQL's performance_schema); without it RunGroup refuses before locking anything.
// Results are in the order of g.Members.
func RunGroup(ctx context.Context, g GroupConfig) ([]Result, error) {
	if g.Logger == nil {
		g.Logger = zap.NewNop()
	}
	if g.Attempts < 1 {
		g.Attempts = 1
	}
	ms, order, err := groupMembers(g)
	if err != nil {
		return nil, err
	}
	view, err := newLockView(ctx, g.DB)
	if err != nil {
		return nil, err
	}
	var pairs [][2][2]string
	for _, m := range ms {
		pairs = append(pairs, [2][2]string{{m.Schema, m.Table}, {m.Schema, SentryName(m.Table)}}, [2][2]string{{m.Schema, m.Ghost}, {m.Schema, m.Table}})
	}
	for _, m := range ms {
		if m.Guard != nil {
			m.Guard.expectRename(pairs)
		}
	}
	one := Config{LockTimeout: g.LockTimeout, Backoff: g.Backoff, Failpoint: g.Failpoint}
	var lastErr error
	for attempt := 1; attempt <= g.Attempts; attempt++ {
		blocked, err := swapGroup(ctx, g, ms, view)
		if err != nil {
			one.failpoint("failed")
		}
		for _, m := range ms {
			if m.Guard != nil {
				m.Guard.end(err == nil)
			}
		}
		if g.OnAttempt != nil {
			g.OnAttempt(blocked, err)
		}
		if err == nil {
			res := make([]Result, len(ms))
			for i, m := range ms {
				res[order[i]] = Result{Attempts: attempt, Blocked: blocked, Old: nameOld(ctx, m)}
			}
			return res, nil
		}
		lastErr = err
		if errors.Is(err, ErrSentryExists) || errors.Is(err, ErrOldNameTaken) || errors.Is(err, ErrAbort) || ctx.Err() != nil {
			break
		}
		g.Logger.Warn("group cut-over attempt failed; every original table is untouched, trying again",
			zap.Int("attempt", attempt), zap.Int("of", g.Attempts), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), lastErr)
		case <-time.After(one.pause(attempt)):
		}
	}
	return nil, fmt.Errorf("group cut-over failed after %d attempt(s), every original table is untouched: %w", g.Attempts, lastErr)
}

// groupMembers checks the members and returns them sorted by table name (the RENAME's lock order),
// each with the group's settings, and for each its index in g.Members.
func groupMembers(g GroupConfig) ([]Config, []int, error) {
	if len(g.Members) == 0 {
		return nil, nil, errors.New("a group cut-over needs at least one table")
	}
	order := make([]int, len(g.Members))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return g.Members[order[i]].Table < g.Members[order[j]].Table })
	ms := make([]Config, len(order))
	names := map[string]bool{}
	writes := map[string]string{}
	for i, idx := range order {
		m := g.Members[idx]
		if m.Schema != g.Members[0].Schema {
			return nil, nil, fmt.Errorf("the tables swapped together must be in one schema: %s and %s are not",
				sqlbuild.QualifiedName(g.Members[0].Schema, g.Members[0].Table), sqlbuild.QualifiedName(m.Schema, m.Table))
		}
		q := sqlbuild.QualifiedName(m.Schema, m.Table)
		if names[q] {
			return nil, nil, fmt.Errorf("%s is given twice in one group cut-over", q)
		}
		names[q] = true
		m.DB, m.LockTimeout, m.Logger, m.Failpoint, m.OnAttempt = g.DB, g.LockTimeout, g.Logger, nil, nil
		ms[i] = m
	}
	// A table one member locks WRITE for its own changes must be locked by no other session of the
	// group: the sessions would wait for each other until their lock timeout.
	for _, m := range ms {
		for _, t := range m.LockAlso {
			if names[t] {
				return nil, nil, fmt.Errorf("%s is swapped in the group and also changed at %s's swap (a foreign key between them): such tables cannot be swapped together yet; migrate them one at a time", t, m.Table)
			}
			if other, ok := writes[t]; ok {
				return nil, nil, fmt.Errorf("%s would be locked for both %s's and %s's swap (a foreign key to both): migrate them one at a time", t, other, m.Table)
			}
			writes[t] = m.Table
		}
	}
	for i, m := range ms {
		var read []string
		for _, t := range m.LockRead {
			if other, ok := writes[t]; ok {
				return nil, nil, fmt.Errorf("%s would be locked for both %s's and %s's swap (foreign keys): migrate them one at a time", t, other, m.Table)
			}
			// A member's own table is locked WRITE by its own session until the RENAME has it.
			if !names[t] {
				read = append(read, t)
			}
		}
		ms[i].LockRead = read
	}
	return ms, order, nil
}

// groupMember is one member's state in an attempt.
type groupMember struct {
	cfg                      Config
	a                        *sql.Conn
	tbl, sentry              string
	made, locked, released   bool // its sentry made, its tables locked, released behind the RENAME
	sentryDropped            bool
	prepared, preparedLocked bool
}

// swapGroup makes one attempt and returns how long the first table was blocked.
func swapGroup(ctx context.Context, g GroupConfig, ms []Config, view lockView) (time.Duration, error) {
	one := Config{Failpoint: g.Failpoint, LockTimeout: g.LockTimeout}
	eg, ectx := errgroup.WithContext(ctx)
	for _, m := range ms {
		eg.Go(func() error { return settle(ectx, m) })
	}
	if err := eg.Wait(); err != nil {
		return 0, err
	}
	timeoutSecs := max(1, int(g.LockTimeout.Round(time.Second)/time.Second))
	b, err := openSession(ctx, g.DB, 3*timeoutSecs)
	if err != nil {
		return 0, err
	}
	defer dbconn.Discard(b)
	var bID int64
	if err := b.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&bID); err != nil {
		return 0, err
	}
	members := make([]*groupMember, len(ms))
	for i, m := range ms {
		members[i] = &groupMember{cfg: m, tbl: sqlbuild.QualifiedName(m.Schema, m.Table), sentry: sqlbuild.QualifiedName(m.Schema, SentryName(m.Table))}
	}
	defer func() {
		for _, m := range members {
			if m.a != nil {
				dbconn.Discard(m.a)
			}
			if m.made && !m.sentryDropped {
				dropSentry(m.cfg, m.sentry)
			}
		}
	}()
	for _, m := range members {
		if m.a, err = openSession(ctx, g.DB, timeoutSecs); err != nil {
			return 0, err
		}
		if err := createSentry(ctx, m.cfg, m.a, m.sentry); err != nil {
			return 0, err
		}
		m.made = true
	}
	one.failpoint("sentry")

	// Every member locks its tables and is checked under the lock, side by side: their locks are
	// disjoint (groupMembers), so the sessions never wait for each other.
	lockedAt := time.Now()
	eg, ectx = errgroup.WithContext(ctx)
	for _, m := range members {
		eg.Go(func() error {
			// On an error lockAndCheck has released its lock.
			_, err := lockAndCheck(ectx, m.cfg, m.a, m.tbl, m.sentry)
			m.locked = err == nil
			return err
		})
	}
	err = eg.Wait()
	blocked := func() time.Duration { return time.Since(lockedAt) }
	// unlockAll undoes, under their locks, the locked preparations of the members not yet released
	// and unlocks them. Their sentries stay until the deferred clean-up, so a RENAME that was issued
	// fails on the first of them and renames nothing. undoAll then undoes the preparations, once the
	// RENAME (if issued) has ended: the tables are the originals again.
	unlockAll := func(err error) error {
		for _, m := range members {
			if m.locked {
				err = undoLockedMember(ctx, m, err)
				_, _ = m.a.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
				m.locked = false
			}
		}
		return err
	}
	undoAll := func(err error) error {
		for _, m := range members {
			err = undoMember(ctx, m, err)
		}
		return err
	}
	fail := func(err error) (time.Duration, error) { return blocked(), undoAll(unlockAll(err)) }
	if err != nil {
		return fail(err)
	}
	one.failpoint("locked")
	one.failpoint("caught-up")
	for _, m := range members {
		if m.cfg.Guard != nil {
			m.cfg.Guard.begin()
		}
	}
	for _, m := range members {
		if m.cfg.Prepare != nil {
			m.prepared = true
			if err := m.cfg.Prepare(ctx); err != nil {
				return fail(fmt.Errorf("preparing the ghost table to take %s's place: %w", m.tbl, err))
			}
		}
		if m.cfg.PrepareLocked != nil {
			m.preparedLocked = true
			if err := m.cfg.PrepareLocked(ctx, m.a); err != nil {
				return fail(fmt.Errorf("preparing the tables around %s for the swap: %w", m.tbl, err))
			}
		}
	}
	one.failpoint("prepared")

	var renames []string
	var keys []lockKey
	owner := map[lockKey]*groupMember{}
	for _, m := range members {
		renames = append(renames, m.tbl+" TO "+m.sentry, sqlbuild.QualifiedName(m.cfg.Schema, m.cfg.Ghost)+" TO "+m.tbl)
		t, s := view.key(m.cfg.Schema, m.cfg.Table), view.key(m.cfg.Schema, SentryName(m.cfg.Table))
		keys = append(keys, t, s, view.key(m.cfg.Schema, m.cfg.Ghost))
		owner[t], owner[s] = m, m
	}
	sortKeys(keys)
	renamed := make(chan error, 1)
	go func() {
		// Not cancelled with ctx: once queued, the RENAME's outcome decides the swap and must be known.
		_, err := b.ExecContext(context.WithoutCancel(ctx), "RENAME TABLE "+strings.Join(renames, ", "))
		renamed <- err
	}()
	// failQueued ends an attempt that failed after the RENAME was issued.
	failQueued := func(err error) (time.Duration, error) {
		err = unlockAll(err)
		if rerr := <-renamed; rerr == nil {
			// Cannot happen while a sentry exists (a DROP that reported an error but ran?): the swap
			// is complete, and what was prepared for it stays.
			g.Logger.Error("the group's RENAME succeeded although the attempt failed; the tables are swapped", zap.Error(err))
			for _, m := range members {
				m.sentryDropped = true
			}
			return blocked(), nil
		}
		return blocked(), undoAll(err)
	}
	schema := ms[0].Schema
	for left := len(members); left > 0; left-- {
		m, err := waitHeldAt(ctx, g, view, bID, schema, keys, owner, renamed)
		if err != nil {
			return failQueued(fmt.Errorf("releasing the tables one by one behind the RENAME: %w", err))
		}
		if left == len(members) {
			one.failpoint("rename-queued")
		}
		// The RENAME waits for m's table, ahead of every write waiting for it: m drops its sentry
		// and lets go. Before the last member, the other sentries still stop the RENAME should
		// doppel die now.
		_, dropErr := m.a.ExecContext(context.WithoutCancel(ctx), "DROP TABLE "+m.sentry)
		if dropErr != nil {
			return failQueued(fmt.Errorf("dropping the cut-over sentry %s: %w", m.sentry, dropErr))
		}
		m.sentryDropped = true
		if left == 1 {
			one.failpoint("sentry-dropped")
		}
		_, _ = m.a.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
		m.locked, m.released = false, true
		if left > 1 {
			one.failpoint("released")
		}
	}
	took := blocked()
	if err := <-renamed; err != nil {
		// Someone killed the RENAME after the last sentry went: nothing was renamed.
		return took, undoAll(fmt.Errorf("renaming the tables: %w", err))
	}
	g.Logger.Info("tables swapped together", zap.Int("tables", len(members)), zap.Duration("blocked", took))
	return took, nil
}

// waitHeldAt waits until the RENAME (session bID) is seen waiting for a key a locked member holds,
// and returns that member.
func waitHeldAt(ctx context.Context, g GroupConfig, view lockView, bID int64, schema string, keys []lockKey,
	owner map[lockKey]*groupMember, renamed chan error) (*groupMember, error) {
	deadline := time.Now().Add(g.LockTimeout)
	for {
		onSchema, held, err := view.held(ctx, g.DB, bID, schema)
		if err != nil {
			return nil, err
		}
		if next, ok := waitsFor(keys, onSchema, held); ok {
			if m := owner[next]; m != nil && m.locked {
				// The lock wait is read after the locks: B holds every key before next, cannot pass
				// next (m holds it), so a wait now is a wait for next.
				var state sql.NullString
				err := g.DB.QueryRowContext(ctx, "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?", bID).Scan(&state)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("looking for the queued RENAME: %w", err)
				}
				if state.Valid && isLockWait(state.String) {
					return m, nil
				}
			}
		}
		select {
		case err := <-renamed:
			renamed <- err // for the caller, who waits for the RENAME's outcome
			if err == nil {
				return nil, errors.New("the RENAME completed while tables were still locked")
			}
			return nil, fmt.Errorf("the RENAME failed: %w", err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the RENAME was not seen waiting for the next locked table within %s", g.LockTimeout)
		}
	}
}

// undoLockedMember reverses m's PrepareLocked in its session; undoMember its Prepare (and its
// PrepareLocked when that could not be undone under the lock). What cannot be undone ends the
// attempts (an error wrapping ErrAbort).
func undoLockedMember(ctx context.Context, m *groupMember, err error) error {
	if !m.preparedLocked || m.cfg.UndoLocked == nil {
		return err
	}
	m.preparedLocked = false
	return reportUndo(m.cfg, err, m.cfg.UndoLocked(context.WithoutCancel(ctx), m.a))
}

func undoMember(ctx context.Context, m *groupMember, err error) error {
	err = undoLockedMember(ctx, m, err)
	if !m.prepared || m.cfg.Undo == nil {
		return err
	}
	m.prepared = false
	return reportUndo(m.cfg, err, m.cfg.Undo(context.WithoutCancel(ctx)))
}

func reportUndo(cfg Config, err, uerr error) error {
	if errors.Is(uerr, ErrAbort) {
		return errors.Join(err, uerr)
	}
	if uerr != nil {
		cfg.Logger.Error("could not undo the cut-over's preparation of the ghost table", zap.Error(uerr))
	}
	return err
}

// openSession opens a session whose lock waits end after timeoutSecs.
func openSession(ctx context.Context, db *sql.DB, timeoutSecs int) (*sql.Conn, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", timeoutSecs)); err != nil {
		dbconn.Discard(c)
		return nil, err
	}
	return c, nil
}
