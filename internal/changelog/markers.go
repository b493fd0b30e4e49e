package changelog

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
)

// Markers is the catch-up: CatchUp writes a marker with a unique token on the primary and waits
// until the apply loop, which reads the binlog in order and applies every change before a changelog
// row first, reports that very row (Seen). Then every change committed to the original before the
// call is in the ghost, whether the binlog comes from the primary or from a replica.
type Markers struct {
	table   Table
	primary dbconn.Execer
	seq     atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan struct{}
}

// NewMarkers returns the markers of table, written on primary.
func NewMarkers(table Table, primary dbconn.Execer) *Markers {
	return &Markers{table: table, primary: primary, waiting: map[string]chan struct{}{}}
}

// CatchUp returns once every change committed before the call has been replayed (reported with
// Seen), or with ctx's error.
func (m *Markers) CatchUp(ctx context.Context) error {
	token := fmt.Sprintf("%d.%d", os.Getpid(), m.seq.Add(1))
	seen := make(chan struct{})
	m.mu.Lock()
	m.waiting[token] = seen
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.waiting, token)
		m.mu.Unlock()
	}()
	if err := m.table.Write(ctx, m.primary, HintMarker, token); err != nil {
		return err
	}
	select {
	case <-seen:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the replay to reach the marker: %w", ctx.Err())
	}
}

// Seen tells the waiters that the marker token has been reached in the stream: the apply loop
// calls it, in binlog order, once every change before it is applied.
func (m *Markers) Seen(token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seen, ok := m.waiting[token]; ok {
		close(seen)
		delete(m.waiting, token)
	}
}

// Settling says how long Settle waits for the replay to keep up before a short lock.
type Settling struct {
	// Fast: a catch-up this quick ends the wait at once.
	Fast time.Duration
	// Patience: after it, a catch-up of at most Bound ends the wait too.
	Patience time.Duration
	// Bound: a catch-up slower than this never ends the wait. The catch-up under the lock takes at
	// least as long as the stream's own delay (a replica's lag, when the binlog is read there), so a
	// lock taken while a catch-up takes longer would hold the application for the whole lock
	// timeout and be given up in vain; gh-ost, too, does not cut over while its heartbeat lags more
	// than the lock timeout.
	Bound time.Duration
	// Slow, when set, is told how long the last catch-up took whenever Settle keeps waiting past
	// Patience because of Bound, at most every SlowEvery.
	Slow      func(took time.Duration)
	SlowEvery time.Duration
}

// BeforeLock is the Settling before a lock held at most lockTimeout (the cut-over's, a checksum's
// consistent point): fast is a quarter of it, at most 100 ms; after patience, half of it will do,
// and a slower catch-up is reported to slow every 30 s.
func BeforeLock(lockTimeout, patience time.Duration, slow func(took time.Duration)) Settling {
	return Settling{
		Fast:      min(100*time.Millisecond, lockTimeout/4),
		Patience:  patience,
		Bound:     lockTimeout / 2,
		Slow:      slow,
		SlowEvery: 30 * time.Second,
	}
}

// Settle catches up until a catch-up is quick enough, as s says, so that a catch-up made right after
// under a lock has only the last moment's changes to replay and keeps the lock short. It reports
// whether the replay got Fast; otherwise it returned after Patience with a catch-up within Bound.
func Settle(ctx context.Context, catchUp func(context.Context) error, s Settling) (quick bool, err error) {
	patient := time.Now().Add(s.Patience)
	var told time.Time
	for {
		start := time.Now()
		if err := catchUp(ctx); err != nil {
			return false, err
		}
		took := time.Since(start)
		if took <= s.Fast {
			return true, nil
		}
		if time.Now().Before(patient) {
			continue
		}
		if took <= s.Bound {
			return false, nil
		}
		if s.Slow != nil && time.Since(told) >= s.SlowEvery {
			s.Slow(took)
			told = time.Now()
		}
	}
}
