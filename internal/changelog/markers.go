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

// Settle catches up until a catch-up takes no longer than fast, or until limit has passed, so that a
// catch-up made right after under a lock has only the last moment's changes to replay and keeps the
// lock short. It reports whether the replay got quick; after limit, the caller goes on and relies on
// its lock timeout.
func Settle(ctx context.Context, catchUp func(context.Context) error, fast, limit time.Duration) (quick bool, err error) {
	deadline := time.Now().Add(limit)
	for {
		start := time.Now()
		if err := catchUp(ctx); err != nil {
			return false, err
		}
		if time.Since(start) <= fast {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
	}
}
