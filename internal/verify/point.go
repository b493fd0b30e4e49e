package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
)

// snapshot is a set of sessions, each in a read-only transaction that sees both tables as they
// were at one instant at which the ghost held every change committed to the original.
type snapshot struct {
	conns []*sql.Conn
	held  time.Duration // how long the original was locked to make it
}

// errHeldTooLong means the catch-up under the lock took longer than the lock timeout: the lock is
// given up, so the application does not wait longer, and the point is tried again.
var errHeldTooLong = errors.New("the original table was held for the lock timeout")

// openSnapshot makes a consistent point with n sessions, retrying when the lock cannot be had or
// the replay is too slow to catch up under it.
func (v *verifier) openSnapshot(ctx context.Context, n int, atPoint func()) (*snapshot, error) {
	var lastErr error
	attempt := 1
	for ; ; attempt++ {
		s, err := v.tryOpenSnapshot(ctx, n, atPoint)
		if err == nil {
			v.cfg.Logger.Debug("consistent point made", zap.Int("sessions", n), zap.Duration("table_held", s.held), zap.Int("attempt", attempt))
			return s, nil
		}
		lastErr = err
		if attempt >= v.cfg.Retries || ctx.Err() != nil || !(dbconn.IsRetryable(err) || errors.Is(err, errHeldTooLong)) {
			break
		}
		v.cfg.Logger.Warn("could not make a consistent point for the checksum; trying again",
			zap.Int("attempt", attempt), zap.Int("of", v.cfg.Retries), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), lastErr)
		case <-time.After(time.Duration(min(attempt, 10)) * 500 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("making a consistent point of %s and the ghost table (%d attempt(s)): %w", v.orig.name, attempt, lastErr)
}

// tryOpenSnapshot: a session locks the original for reads, so no change to it can commit; the
// replay then catches up, so the ghost holds every change the original has and nothing else writes
// to it; n sessions start a consistent snapshot, which all see this same state; the lock is
// released. The table is held only for the catch-up and the snapshots' start.
func (v *verifier) tryOpenSnapshot(ctx context.Context, n int, atPoint func()) (_ *snapshot, err error) {
	if err := v.settle(ctx); err != nil {
		return nil, err
	}
	s := &snapshot{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	// Every session is taken from the pool before the lock, so none is waited for under it.
	for range n {
		c, err := v.cfg.DB.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("opening a checksum session: %w", err)
		}
		s.conns = append(s.conns, c)
		if v.orig.stager != nil {
			if err := v.orig.stager.prepare(ctx, c); err != nil {
				return nil, err
			}
		}
		// A consistent snapshot needs REPEATABLE READ (under READ COMMITTED the server ignores WITH
		// CONSISTENT SNAPSHOT); this sets it for the session's next transaction only, so nothing may
		// run in between.
		if _, err := c.ExecContext(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
			return nil, fmt.Errorf("preparing a checksum session: %w", err)
		}
	}
	lock, err := v.cfg.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the locking session: %w", err)
	}
	defer dbconn.Discard(lock)
	secs := max(1, int(math.Ceil(v.cfg.LockTimeout.Seconds())))
	if _, err := lock.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
		return nil, fmt.Errorf("preparing the locking session: %w", err)
	}
	if _, err := lock.ExecContext(ctx, "LOCK TABLES "+v.orig.name+" READ"); err != nil {
		return nil, fmt.Errorf("locking %s for reads: %w", v.orig.name, err)
	}
	lockedAt := time.Now()
	err = v.underLock(ctx, s, atPoint)
	// The lock also goes when the session is discarded, but UNLOCK releases it at once.
	_, unlockErr := lock.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
	s.held = time.Since(lockedAt)
	if err != nil {
		return nil, err
	}
	if unlockErr != nil {
		// The snapshots stand; the lock ends with the discarded session.
		v.cfg.Logger.Warn("UNLOCK TABLES failed; the lock is released by closing its session", zap.Error(unlockErr))
	}
	return s, nil
}

// settle catches up until a catch-up is quick (a quarter of the lock timeout, at most 100 ms), for
// settleTimeout at most, so the one under the lock has only the last moment's changes to replay; then
// a catch-up within half the lock timeout will do. A slower one never does: the lock would be held
// for the whole timeout in vain, so settle waits, and says why every 30 s.
func (v *verifier) settle(ctx context.Context) error {
	_, err := changelog.Settle(ctx, v.cfg.CatchUp, changelog.BeforeLock(v.cfg.LockTimeout, settleTimeout, func(took time.Duration) {
		v.cfg.Logger.Warn("waiting to make a consistent point for the checksum: the replay reaches a marker only after "+
			took.Round(10*time.Millisecond).String()+", more than half the lock timeout (the binlog is late, for example read on a replica that lags)",
			zap.Duration("catch_up", took), zap.Duration("lock_timeout", v.cfg.LockTimeout))
	}))
	if err != nil {
		return fmt.Errorf("catching up before locking %s: %w", v.orig.name, err)
	}
	return nil
}

// settleTimeout bounds settle.
const settleTimeout = 30 * time.Second

// underLock catches up and starts the snapshots, within the lock timeout. atPoint, when set, runs
// once the ghost holds every change and before the snapshots start.
func (v *verifier) underLock(ctx context.Context, s *snapshot, atPoint func()) error {
	hold, cancel := context.WithTimeout(ctx, v.cfg.LockTimeout)
	defer cancel()
	heldTooLong := func(err error) error {
		if ctx.Err() == nil && hold.Err() != nil {
			return fmt.Errorf("%w (%s): %w", errHeldTooLong, v.cfg.LockTimeout, err)
		}
		return err
	}
	if err := v.cfg.CatchUp(hold); err != nil {
		return heldTooLong(fmt.Errorf("catching up while %s was locked: %w", v.orig.name, err))
	}
	if atPoint != nil {
		atPoint()
	}
	for _, c := range s.conns {
		if _, err := c.ExecContext(hold, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
			return heldTooLong(fmt.Errorf("starting a checksum snapshot: %w", err))
		}
	}
	return nil
}

// close ends the snapshots. ROLLBACK releases their metadata locks at once, so a cut-over that
// follows does not wait for the server to notice closed connections.
func (s *snapshot) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range s.conns {
		_, _ = c.ExecContext(ctx, "ROLLBACK") // a failure leaves the session to discard, which rolls back too
		dbconn.Discard(c)
	}
	s.conns = nil
}
