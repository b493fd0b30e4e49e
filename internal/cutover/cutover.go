// Package cutover swaps the ghost table in for the original one, atomically for every reader and
// writer, and so that it fails safe: if doppel dies at any point, either nothing was renamed or the
// swap completed with every change in the ghost. It is the whole contract of the swap: the attempt
// (Run) and the apply loop's side of it (Guard).
//
// # The algorithm
//
// gh-ost's, made safe on MariaDB. It works on every MySQL and MariaDB: MariaDB refuses RENAME TABLE
// under LOCK TABLES (error 1192), so the MySQL 8.0.13+ variant that renames under the lock cannot be
// used there, and one algorithm everywhere is one to test. Two sessions, A and B:
//
//  1. Settle: catch up, before locking anything, until a catch-up is quick. Check that the name the
//     original gets afterwards (Config.Old, gh-ost's `_T_del`) is free.
//  2. A creates the sentry table `T_swap` (SentryName), marked by SentryComment.
//  3. A locks the original and the sentry: LOCK TABLES T WRITE, T_swap WRITE. Writes to T queue.
//  4. The catch-up (a changelog marker) proves every change made before the lock is in the ghost; the
//     last checks run (Config.UnderLock: the rows replayed since the checksum, rows held back for
//     colliding under a new unique key). The Guard is sealed: a change of T met in the binlog from
//     now on waits for the attempt's outcome before the apply loop replays it. Config.Prepare gives
//     the ghost what it must only have from the swap on (the original's triggers); a failed
//     attempt undoes it (Config.Undo) before any held change is replayed. Config.PrepareLocked then
//     changes, in A's own session, the tables A locked with the original (Config.LockAlso): the
//     children's foreign keys are re-pointed at the ghost, so the RENAME carries them to the new
//     T. A failed attempt reverses it (Config.UndoLocked) in A before A unlocks, so no writer ever
//     sees the children pointing at the ghost while the original is still the table.
//  5. B issues RENAME TABLE T TO T_swap, _T_gho TO T. It blocks on A's lock. A RENAME takes its
//     tables' locks in name order, and T_swap sorts after T: B queues for T itself, ahead of every
//     write that queues after it.
//  6. Once B is seen waiting for T itself, A drops the sentry (the point of no return) and
//     unlocks. With the server's lock view (locks.go) that is proved: B holds the locks of every
//     name sorted before T (the ghost's) and not T's, and the processlist, read after, shows it
//     waiting. Without the view any lock wait is taken for T's, and a moment's lock on the ghost
//     (MariaDB's purge takes them) lets the writes queued for T pass; step 8 then catches them.
//     Whether A unlocks or dies, the RENAME runs first; the queued writes then reach the new T.
//  7. The original, now T_swap, is renamed to Config.Old outside the lock (if that fails, it stays
//     T_swap, with an ordinary comment, and Result.Old says so).
//  8. After the swap, Guard.CheckNoSlip waits until the apply loop has reached the RENAME in the
//     binlog and fails if a write of T got in between (it went to the old table, which is kept);
//     it never reports success without having seen the RENAME.
//
// # When something fails
//
//	| where                       | what happens                                                  | T          |
//	|-----------------------------|---------------------------------------------------------------|------------|
//	| before the lock (1-2)       | the sentry is dropped; the attempt is tried again              | untouched  |
//	| under the lock (3-5)        | A unlocks, drops the sentry (killing B's RENAME if it queued); | untouched  |
//	|                             | the attempt is tried again, after a pause                      |            |
//	| doppel dies before step 6   | A's session ends, its lock goes, the sentry stays: B's RENAME  | untouched  |
//	|                             | fails on it (the table exists)                                 |            |
//	| doppel dies after the DROP  | the RENAME completes on the server, first in line for T: every | swapped    |
//	|                             | change is in the ghost; the original stays T_swap (step 7)    |            |
//	| a check wraps ErrAbort      | no more attempts: the ghost must not replace T                 | untouched  |
//
// Every wait is bounded by the lock timeout (gh-ost's --cut-over-lock-timeout-seconds), so the table
// is never blocked longer than about twice that per attempt. A leftover sentry (SentryComment) is
// recognized and dropped by the next run.
//
// # Several tables
//
// RunGroup swaps several tables of one schema in one RENAME: all or none. Each table has its own
// locking session, which locks, catches up and checks it as above; one session B then issues the
// RENAME of every pair, and the tables are released one by one in the order B takes their locks
// (schema, then name), each only once B is seen waiting for it in the server's view of metadata
// locks (locks.go: MariaDB's metadata_lock_info plugin, MySQL's performance_schema). Releasing
// them at once would let the writes waiting for a table B has not reached yet into its original.
// Until the last sentry is dropped a failure unlocks the remaining tables with their sentries in
// place, so the RENAME fails and renames nothing; after it, the RENAME completes. Without the
// server's lock view RunGroup refuses before locking anything (ErrGroupUnsupported).
//
// # The other way
//
// The swap is symmetric in its names: swapping the old table back in (a revert) is this same code run
// with Table the current table, Ghost the old one and Old a new name for the current one.
package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// CatchUp returns once every change committed to the original table before the call has been
// applied to the ghost table.
type CatchUp interface {
	CatchUp(ctx context.Context) error
}

// Config configures the swap.
type Config struct {
	DB     *sql.DB // the primary
	Schema string
	Table  string // the original table
	Ghost  string // the ghost table, which becomes Table
	Old    string // the name the original gets after the swap
	// LockTimeout bounds each wait for a lock, for the catch-up and for seeing the RENAME queued
	// (gh-ost's --cut-over-lock-timeout-seconds): the longest the table can stay blocked per attempt.
	LockTimeout time.Duration
	// Attempts is how many times the swap is tried before giving up.
	Attempts int
	// Backoff, when set, is the pause after the failed attempt number n (from 1); nil pauses n
	// seconds, at most 10.
	Backoff func(n int) time.Duration
	CatchUp CatchUp
	// BeforeLock, when set, runs with the session that will hold the lock, just before it locks:
	// what UnderLock needs of tables other than the locked ones is prepared there.
	BeforeLock func(ctx context.Context, locker *sql.Conn) error
	// UnderLock, when set, runs after the catch-up while the original is locked, with the session
	// that holds the lock (the only one that can read the original now): the last check of the
	// ghost. An error gives the attempt up; wrapping ErrAbort gives the swap up.
	UnderLock func(ctx context.Context, locked *sql.Conn) error
	// Prepare, when set, runs under the lock after the last checks, just before the RENAME is
	// issued, in a session of its own: what the ghost must have when it takes the original's place
	// and must not have before (the original's triggers, which a replayed change must not fire).
	// Undo, when set, reverses it when the attempt fails after Prepare began; an error of Undo that
	// wraps ErrAbort (what Prepare did cannot be undone) ends the attempts. Both run while the
	// apply loop holds back every change of the original written since the lock (the Guard), so no
	// replayed change meets what Prepare made.
	Prepare func(ctx context.Context) error
	Undo    func(ctx context.Context) error
	// LockAlso are more tables (qualified names) the locking session locks WRITE with the original
	// and the sentry: the tables PrepareLocked changes. Their writers wait as the original's do.
	LockAlso []string
	// LockRead are tables the locking session locks READ with the original: the parents of the
	// original and the ghost. A parent's cascading DELETE or UPDATE takes, on MariaDB, the metadata
	// locks of every child it may change, one after the other; one holding the ghost's while it
	// waits for the original's would make the RENAME queue for the ghost instead of the original,
	// and writes waiting for the original would pass it. Locking the parents keeps such statements
	// out until the RENAME has queued.
	LockRead []string
	// ReadLock locks the original READ instead of WRITE: writes wait all the same, reads do not. A
	// group (RunGroup) locks so a table that another table of the group references: LOCK TABLES of a
	// parent WRITE also takes its children's metadata locks (for its cascades), which the
	// children's own locking sessions hold; READ takes none.
	ReadLock bool
	// PrepareLocked, when set, runs after Prepare in the session that holds the lock, which alone
	// can change the tables it holds (the foreign keys of the tables that reference the original,
	// re-pointed at the ghost so the RENAME carries them along). UndoLocked reverses it in that
	// session before the lock is released: the RENAME, if queued, is refused once the lock goes
	// (the sentry exists), so the tables are back as they were before anyone writes. Only when the
	// RENAME fails after the sentry is dropped (someone killed it) does UndoLocked run unlocked.
	// An error of UndoLocked wrapping ErrAbort ends the attempts, like Undo's.
	PrepareLocked func(ctx context.Context, locker *sql.Conn) error
	UndoLocked    func(ctx context.Context, locker *sql.Conn) error
	// Guard, when set, is told when an attempt is about to rename and how each attempt ended, for
	// the apply loop (Guard.Divert, Guard.OwnRename) and for the check after the swap.
	Guard *Guard
	// Failpoint, when set, is called at each step of an attempt with the step's name ("sentry",
	// "locked", "caught-up", "prepared", "rename-queued", "sentry-dropped", and "failed" after an attempt that
	// failed, before OnAttempt): tests stop or slow doppel there to prove the swap is safe wherever
	// it dies.
	Failpoint func(step string)
	// OnAttempt, when set, is called after every attempt with how long it kept the table locked (0
	// when it did not lock it) and its error (nil for the swap).
	OnAttempt func(blocked time.Duration, err error)
	Logger    *zap.Logger
}

// Result describes the swap that succeeded.
type Result struct {
	Attempts int
	// Blocked is how long the original table was locked in the successful attempt: the stall the
	// application saw.
	Blocked time.Duration
	// Old is the name the original table has now: Config.Old, or SentryName(Table) when the last
	// rename to Old failed (the swap itself is complete).
	Old string
}

// ErrSentryExists means the sentry's name is taken, so no swap can be tried; ErrOldNameTaken that
// the name the original would get after the swap is.
var (
	ErrSentryExists = errors.New("the cut-over sentry's name is taken")
	ErrOldNameTaken = errors.New("the old table's name is taken")
)

// SentryName is the name the original table is renamed to in the swap, before it gets its old
// name: the sentry's. It sorts after the original's name (it extends it), so the RENAME, which takes
// its tables' locks in name order, waits for the original's lock first: queued there, it goes ahead
// of every write waiting for the original, whatever happens to the session holding the lock.
// gh-ost's old name `_T_del` sorts before `T`: a RENAME to it waits for the sentry first, and a
// session dying between dropping the sentry and the RENAME queueing for `T` lets writes into the
// old table.
// A name too long to take the suffix is shortened by table.SentryName, which keeps that order.
func SentryName(t string) string { return table.SentryName(t) }

// ErrAbort, wrapped in an error of CatchUp, gives the swap up without more attempts: the ghost must
// not replace the original, and trying again cannot change that.
var ErrAbort = errors.New("the swap must not happen")

// Run tries the swap up to cfg.Attempts times. On error nothing was renamed.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Attempts < 1 {
		cfg.Attempts = 1
	}
	var lastErr error
	for attempt := 1; attempt <= cfg.Attempts; attempt++ {
		blocked, err := swap(ctx, cfg)
		if err != nil {
			cfg.failpoint("failed")
		}
		if cfg.Guard != nil {
			cfg.Guard.end(err == nil)
		}
		if cfg.OnAttempt != nil {
			cfg.OnAttempt(blocked, err)
		}
		if err == nil {
			return Result{Attempts: attempt, Blocked: blocked, Old: nameOld(ctx, cfg)}, nil
		}
		lastErr = err
		if errors.Is(err, ErrSentryExists) || errors.Is(err, ErrOldNameTaken) || errors.Is(err, ErrAbort) || ctx.Err() != nil {
			break
		}
		cfg.Logger.Warn("cut-over attempt failed; the original table is untouched, trying again",
			zap.Int("attempt", attempt), zap.Int("of", cfg.Attempts), zap.Error(err))
		select {
		case <-ctx.Done():
			return Result{}, errors.Join(ctx.Err(), lastErr)
		case <-time.After(cfg.pause(attempt)):
		}
	}
	return Result{}, fmt.Errorf("cut-over failed after %d attempt(s), the original table is untouched: %w", cfg.Attempts, lastErr)
}

// swap makes one attempt and returns how long the table was blocked.
func swap(ctx context.Context, cfg Config) (time.Duration, error) {
	tbl := sqlbuild.QualifiedName(cfg.Schema, cfg.Table)
	sentry := sqlbuild.QualifiedName(cfg.Schema, SentryName(cfg.Table))

	if err := settle(ctx, cfg); err != nil {
		return 0, err
	}
	a, b, bID, err := sessions(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer dbconn.Discard(a)
	defer dbconn.Discard(b)
	if err := createSentry(ctx, cfg, a, sentry); err != nil {
		return 0, err
	}
	cfg.failpoint("sentry")
	// Until the point of no return, any failure drops the sentry again. A's lock, if held, is
	// released when a is closed.
	sentryDropped := false
	defer func() {
		if !sentryDropped {
			dropSentry(cfg, sentry)
		}
	}()
	lockedAt, err := lockAndCheck(ctx, cfg, a, tbl, sentry)
	if err != nil && lockedAt.IsZero() {
		return 0, err
	}
	if err != nil {
		return time.Since(lockedAt), err
	}
	unlock := func() { _, _ = a.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES") }
	if cfg.Guard != nil {
		cfg.Guard.begin()
	}
	prepared, preparedLocked := false, false
	// undoLocked reverses PrepareLocked in the locking session, under the lock when it is still
	// held; undo reverses Prepare, after it. What they cannot undo, they say with an error
	// wrapping ErrAbort, which ends the swap's attempts; any other error is logged.
	report := func(err, uerr error) error {
		if errors.Is(uerr, ErrAbort) {
			return errors.Join(err, uerr)
		}
		if uerr != nil {
			cfg.Logger.Error("could not undo the cut-over's preparation of the ghost table", zap.Error(uerr))
		}
		return err
	}
	undoLocked := func(err error) error {
		if !preparedLocked || cfg.UndoLocked == nil {
			return err
		}
		preparedLocked = false
		return report(err, cfg.UndoLocked(context.WithoutCancel(ctx), a))
	}
	undo := func(err error) error {
		err = undoLocked(err)
		if !prepared || cfg.Undo == nil {
			return err
		}
		return report(err, cfg.Undo(context.WithoutCancel(ctx)))
	}
	if cfg.Prepare != nil {
		prepared = true
		if err := cfg.Prepare(ctx); err != nil {
			err = undo(fmt.Errorf("preparing the ghost table to take %s's place: %w", tbl, err))
			unlock()
			return time.Since(lockedAt), err
		}
	}
	if cfg.PrepareLocked != nil {
		preparedLocked = true
		if err := cfg.PrepareLocked(ctx, a); err != nil {
			err = undoLocked(fmt.Errorf("preparing the tables around %s for the swap: %w", tbl, err))
			unlock()
			return time.Since(lockedAt), undo(err)
		}
	}
	if cfg.Prepare != nil || cfg.PrepareLocked != nil {
		cfg.failpoint("prepared")
	}
	at := renameWaitsAt(ctx, cfg, a)
	renamed := make(chan error, 1)
	go func() {
		// Not cancelled with ctx: once queued, the RENAME's outcome decides the swap and must be known.
		_, err := b.ExecContext(context.WithoutCancel(ctx), "RENAME TABLE "+tbl+" TO "+sentry+", "+sqlbuild.QualifiedName(cfg.Schema, cfg.Ghost)+" TO "+tbl)
		renamed <- err
	}()
	if err := waitQueued(ctx, cfg, bID, at, renamed); err != nil {
		// The sentry still exists, so the RENAME fails as soon as the lock is gone. The locked
		// preparation is undone first, under the lock (the RENAME, queued or not, does not stop the
		// locking session from changing the tables it holds).
		err = undoLocked(err)
		unlock()
		if <-renamed == nil {
			return time.Since(lockedAt), nil // cannot happen while the sentry exists; if it did, the swap is complete
		}
		return time.Since(lockedAt), undo(err)
	}
	cfg.failpoint("rename-queued")
	// The point of no return: from here on, finish whatever happens to ctx. The RENAME waits for the
	// original's lock, ahead of every write waiting for it (the sentry's name sorts after the
	// original's, and a RENAME takes its locks in name order): whether A unlocks now or dies, the
	// RENAME goes first.
	_, dropErr := a.ExecContext(context.WithoutCancel(ctx), "DROP TABLE "+sentry)
	sentryDropped = dropErr == nil
	cfg.failpoint("sentry-dropped")
	unlock()
	blocked := time.Since(lockedAt)
	if err := <-renamed; err != nil {
		if dropErr != nil {
			return blocked, undo(fmt.Errorf("dropping the cut-over sentry: %w", dropErr))
		}
		return blocked, undo(fmt.Errorf("renaming the tables: %w", err))
	}
	// The RENAME succeeded: the original now has the old name, which the deferred clean-up must
	// never drop, whatever the DROP reported.
	sentryDropped = true
	cfg.Logger.Info("tables swapped", zap.Duration("blocked", blocked))
	return blocked, nil
}

// sessions opens the attempt's two sessions: a, which creates the sentry and holds the lock, and
// b, which issues the RENAME; bID is b's connection id, to see it wait in the processlist.
func sessions(ctx context.Context, cfg Config) (a, b *sql.Conn, bID int64, err error) {
	timeoutSecs := max(1, int(cfg.LockTimeout.Round(time.Second)/time.Second))
	if a, err = cfg.DB.Conn(ctx); err != nil {
		return nil, nil, 0, err
	}
	if b, err = cfg.DB.Conn(ctx); err != nil {
		dbconn.Discard(a)
		return nil, nil, 0, err
	}
	err = func() error {
		if _, err := a.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", timeoutSecs)); err != nil {
			return err
		}
		// B's RENAME must outwait A's lock, which A holds at most one more timeout after issuing it.
		if _, err := b.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", 3*timeoutSecs)); err != nil {
			return err
		}
		return b.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&bID)
	}()
	if err != nil {
		dbconn.Discard(a)
		dbconn.Discard(b)
		return nil, nil, 0, err
	}
	return a, b, bID, nil
}

// createSentry checks that the name the original gets after the swap is free, and creates the
// sentry under the name the original has during it.
func createSentry(ctx context.Context, cfg Config, a *sql.Conn, sentry string) error {
	if cfg.Old != SentryName(cfg.Table) {
		taken, err := table.Exists(ctx, a, cfg.Schema, cfg.Old)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%s exists: %w", sqlbuild.QualifiedName(cfg.Schema, cfg.Old), ErrOldNameTaken)
		}
	}
	if _, err := a.ExecContext(ctx, "CREATE TABLE "+sentry+" (id INT PRIMARY KEY) COMMENT='"+SentryComment+"'"); err != nil {
		if dbconn.ErrorNumber(err) == dbconn.ErrTableExists {
			return fmt.Errorf("creating the cut-over sentry %s: %w: %w", sentry, ErrSentryExists, err)
		}
		return fmt.Errorf("creating the cut-over sentry %s: %w", sentry, err)
	}
	return nil
}

// lockAndCheck locks the original and the sentry in a, then proves every change made before the
// lock is in the ghost and runs the last checks. It returns when the lock was taken (the zero
// time when it failed before taking it); on an error the lock is released.
func lockAndCheck(ctx context.Context, cfg Config, a *sql.Conn, tbl, sentry string) (time.Time, error) {
	if cfg.BeforeLock != nil {
		if err := cfg.BeforeLock(ctx, a); err != nil {
			return time.Time{}, fmt.Errorf("preparing the cut-over's checks: %w", err)
		}
	}
	mode := " WRITE"
	if cfg.ReadLock {
		mode = " READ"
	}
	lock := "LOCK TABLES " + tbl + mode + ", " + sentry + " WRITE"
	for _, t := range cfg.LockAlso {
		lock += ", " + t + " WRITE"
	}
	for _, t := range cfg.LockRead {
		lock += ", " + t + " READ"
	}
	if _, err := a.ExecContext(ctx, lock); err != nil {
		return time.Time{}, fmt.Errorf("locking %s: %w", tbl, err)
	}
	lockedAt := time.Now()
	cfg.failpoint("locked")
	unlock := func() { _, _ = a.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES") }

	catchCtx, cancel := context.WithTimeout(ctx, cfg.LockTimeout)
	err := cfg.CatchUp.CatchUp(catchCtx)
	cancel()
	if err != nil {
		unlock()
		return lockedAt, fmt.Errorf("replaying the last changes while %s was locked: %w", tbl, err)
	}
	if cfg.UnderLock != nil {
		checkCtx, cancel := context.WithTimeout(ctx, cfg.LockTimeout)
		err := cfg.UnderLock(checkCtx, a)
		cancel()
		if err != nil {
			unlock()
			return lockedAt, fmt.Errorf("checking the ghost table while %s was locked: %w", tbl, err)
		}
	}
	cfg.failpoint("caught-up")
	return lockedAt, nil
}

// settle waits, before locking anything, until the replay keeps up: a catch-up (a marker's round trip
// through the binlog, and through replication when the binlog is read on a replica) must take less
// than a quarter of the lock timeout and at most 100 ms. The catch-up under the lock then has only the
// last moment's changes to replay, which keeps the table's stall short. After settleTimeout a
// catch-up within half the lock timeout will do; a slower one never does, since an attempt would
// block the application for the whole lock timeout and fail: settle waits, and says why.
func settle(ctx context.Context, cfg Config) error {
	quick, err := changelog.Settle(ctx, cfg.CatchUp.CatchUp, changelog.BeforeLock(cfg.LockTimeout, settleTimeout, func(took time.Duration) {
		cfg.Logger.Warn("waiting to cut over: the replay reaches a marker only after "+took.Round(10*time.Millisecond).String()+
			", more than half the lock timeout (the binlog is late, for example read on a replica that lags); a lock now would block the table in vain",
			zap.Duration("catch_up", took), zap.Duration("lock_timeout", cfg.LockTimeout))
	}))
	if err != nil {
		return fmt.Errorf("catching up before the cut-over: %w", err)
	}
	if !quick {
		cfg.Logger.Warn("the replay does not get faster; cutting over anyway")
	}
	return nil
}

// settleTimeout bounds settle.
const settleTimeout = time.Minute

// waitPoint says how to prove that the RENAME waits for the original itself: with the server's
// view of metadata locks, the RENAME must hold the locks of every name sorted before the
// original's (the ghost's, `_T_gho`) and not the original's; without it (nil view), any lock wait
// is taken for that one.
type waitPoint struct {
	view   *lockView
	keys   []lockKey // the RENAME's names, in the order it locks them
	target lockKey   // the original's
	ghost  lockKey
	aID    int64 // the locking session
}

// renameWaitsAt reads whether the server shows its metadata locks. Without that view a RENAME seen
// waiting may wait for the ghost, not the original: a session, or on MariaDB 10.6+ the purge of
// the ghost's old row versions, can hold the ghost's metadata lock a moment, and writes queued
// for the original would then pass the RENAME when the lock goes. The Guard still catches them
// after the swap; the view prevents them.
func renameWaitsAt(ctx context.Context, cfg Config, a *sql.Conn) waitPoint {
	view, err := newLockView(ctx, cfg.DB)
	var aID int64
	if err == nil {
		err = a.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&aID)
	}
	if err != nil {
		cfg.Logger.Warn("the cut-over cannot see which table its RENAME waits for: a write racing the swap would reach the old table (doppel then reports it and keeps that table). On MariaDB, INSTALL SONAME 'metadata_lock_info' once; on MySQL, enable performance_schema's metadata lock instrument", zap.Error(err))
		return waitPoint{}
	}
	keys := []lockKey{view.key(cfg.Schema, cfg.Table), view.key(cfg.Schema, SentryName(cfg.Table)), view.key(cfg.Schema, cfg.Ghost)}
	sortKeys(keys)
	return waitPoint{view: &view, keys: keys, target: view.key(cfg.Schema, cfg.Table), ghost: view.key(cfg.Schema, cfg.Ghost), aID: aID}
}

// reached reports whether the RENAME (session bID) has taken the locks before the original's and
// not the original's: the wait read after this is the original's.
func (w waitPoint) reached(ctx context.Context, db *sql.DB, bID int64, schema string) (bool, error) {
	if w.view == nil {
		return true, nil
	}
	onSchema, held, err := w.view.held(ctx, db, bID, schema)
	if err != nil {
		return false, err
	}
	next, ok := waitsFor(w.keys, onSchema, held)
	return ok && next == w.target, nil
}

// heldByLocker reports whether the locking session itself holds the ghost's lock: LOCK TABLES of a
// table the ghost references (a child of the original that is also its parent, in a cycle of
// foreign keys) takes the ghost's too, for the cascades, so the RENAME cannot pass the ghost
// before the lock goes and can never be seen waiting for the original.
func (w waitPoint) heldByLocker(ctx context.Context, db *sql.DB, schema string) (bool, error) {
	_, held, err := w.view.held(ctx, db, w.aID, schema)
	return held[w.ghost], err
}

// waitQueued waits until session bID shows in the processlist waiting on a lock for its RENAME,
// and with the server's lock view, waiting for the original (at).
// When the RENAME ends first, its outcome is put back on renamed for the caller, who waits for it.
func waitQueued(ctx context.Context, cfg Config, bID int64, at waitPoint, renamed chan error) error {
	deadline := time.Now().Add(cfg.LockTimeout)
	for {
		ok, err := at.reached(ctx, cfg.DB, bID, cfg.Schema)
		if err == nil && !ok && at.view != nil {
			var mine bool
			if mine, err = at.heldByLocker(ctx, cfg.DB, cfg.Schema); mine {
				cfg.Logger.Warn("the cut-over's own lock of a table the ghost references holds the ghost's lock too (foreign keys in a cycle): it cannot prove its RENAME waits for the table itself; a write racing the swap would reach the old table, which doppel then reports, keeping that table")
				at.view, ok = nil, true
			}
		}
		if err != nil {
			return fmt.Errorf("reading where the RENAME waits: %w", err)
		}
		var state sql.NullString
		if ok {
			// Read after the locks: the RENAME cannot pass the original while it is locked.
			err = cfg.DB.QueryRowContext(ctx, "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?", bID).Scan(&state)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("looking for the queued RENAME: %w", err)
		}
		if state.Valid && isLockWait(state.String) {
			return nil
		}
		select {
		case err := <-renamed:
			// The RENAME ended while the lock is held: it cannot have succeeded.
			renamed <- err
			return fmt.Errorf("the RENAME did not wait for the lock: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the RENAME was not seen waiting for the lock within %s", cfg.LockTimeout)
		}
	}
}

func isLockWait(state string) bool {
	// "Waiting for table metadata lock" on MySQL and MariaDB.
	return len(state) >= 11 && state[:11] == "Waiting for"
}

// pause is how long to wait after the failed attempt n.
func (c Config) pause(n int) time.Duration {
	if c.Backoff != nil {
		return c.Backoff(n)
	}
	return time.Duration(min(n, 10)) * time.Second
}

func (c Config) failpoint(step string) {
	if c.Failpoint != nil {
		c.Failpoint(step)
	}
}

// IsSentry reports whether schema.name is a cut-over sentry: it carries SentryComment.
func IsSentry(ctx context.Context, db table.Querier, schema, name string) bool {
	comment, err := table.Comment(ctx, db, schema, name)
	return err == nil && comment == SentryComment
}

// SentryComment marks the sentry table, so clean-up can tell it from a table holding data.
const SentryComment = "doppel cut-over sentry"

// dropSentry removes the sentry after a failed attempt, so the next one can create it again. It
// drops the table only if it still is the sentry: an empty table carrying the sentry's comment.
func dropSentry(cfg Config, sentry string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	comment, err := table.Comment(ctx, cfg.DB, cfg.Schema, SentryName(cfg.Table))
	if errors.Is(err, table.ErrNotFound) {
		return
	}
	if err == nil && comment != SentryComment {
		cfg.Logger.Error("the table under the sentry's name is not the cut-over sentry; leaving it alone", zap.String("table", sentry))
		return
	}
	if err == nil {
		_, err = cfg.DB.ExecContext(ctx, "DROP TABLE IF EXISTS "+sentry)
	}
	if err != nil {
		cfg.Logger.Warn("could not drop the cut-over sentry table; drop it by hand before retrying", zap.String("table", sentry), zap.Error(err))
	}
}

// nameOld gives the original table, after the swap, its old name. The swap is complete whatever
// happens here: a failure leaves the original under the sentry's name, which Result.Old says.
func nameOld(ctx context.Context, cfg Config) string {
	from := SentryName(cfg.Table)
	if cfg.Old == from {
		return from
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := cfg.DB.ExecContext(ctx, "RENAME TABLE "+sqlbuild.QualifiedName(cfg.Schema, from)+" TO "+sqlbuild.QualifiedName(cfg.Schema, cfg.Old))
	if err != nil {
		cfg.Logger.Warn("the tables are swapped, but the original table could not be renamed to its old name; it keeps the name it had during the swap",
			zap.String("table", from), zap.String("old_name", cfg.Old), zap.Error(err))
		return from
	}
	return cfg.Old
}
