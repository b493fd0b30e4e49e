package migration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/binlog"
	"github.com/doppel-sql/doppel/sqlbuild"
)

// errSlipped marks a swap that completed although writes reached the old table during it.
var errSlipped = errors.New("writes reached the old table during the swap")

// slips records the changes of the original table seen between the last catch-up under the
// successful cut-over attempt's lock and doppel's RENAME. There must be none: the lock holds every
// write back and the RENAME goes first. One that got through went to the old table, not the new one.
type slips struct {
	mu   sync.Mutex
	n    int
	keys []string // the first few, as text: user data, shown only in the error that needs them
}

// seal tells the apply loop what a change of the original table means once a cut-over attempt has
// caught up under its lock. Until the attempt ends, no write can reach the original; one that shows
// in the binlog is either a write that got past the swap (the attempt renamed the tables: the write
// went to the old table) or, when the attempt failed and let the lock go, an ordinary write that the
// replay must apply like any other. Which of the two is known only when the attempt ends, so the
// apply loop waits for that: a few milliseconds, the failed attempt's clean-up.
//
// Deciding by the clock instead (sealed until the attempt returns) would drop the writes that
// queued behind a failed attempt's lock and reached the binlog before the attempt had returned.
type seal struct {
	state   atomic.Int32  // a sealState; read without the lock on every change of the original
	mu      sync.Mutex    // guards decided, and orders begin and end
	decided chan struct{} // closed when a sealed attempt ends
}

type sealState = int32

const (
	unsealed sealState = iota
	sealed             // an attempt is under way past its catch-up
	swapped            // the attempt renamed the tables
)

// begin seals: the attempt has caught up under its lock and is about to rename.
func (s *seal) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decided = make(chan struct{})
	s.state.Store(sealed)
}

// end records the outcome of a sealed attempt; without one under way it does nothing.
func (s *seal) end(renamed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() != sealed {
		return
	}
	outcome := unsealed
	if renamed {
		outcome = swapped
	}
	s.state.Store(outcome)
	close(s.decided)
}

// wait returns the state, after the outcome when an attempt is under way. The cut-over calls end
// after every attempt, each bounded by its lock timeouts.
func (s *seal) wait() sealState {
	if state := s.state.Load(); state != sealed {
		return state
	}
	s.mu.Lock()
	state, decided := s.state.Load(), s.decided
	s.mu.Unlock()
	if state != sealed {
		return state
	}
	<-decided
	return s.state.Load()
}

// divert is the applier's Divert: once the tables are swapped, a change of the original table that
// the binlog shows before doppel's RENAME is a write that got past the swap, recorded and not
// applied (the ghost has been renamed).
func (r *run) divert(ch binlog.Change) bool {
	if r.seal.wait() != swapped {
		return false
	}
	row := ch.After
	if row == nil {
		row = ch.Before
	}
	key, err := r.applier.KeyOf(row)
	r.slips.mu.Lock()
	defer r.slips.mu.Unlock()
	r.slips.n++
	if err == nil && len(r.slips.keys) < 10 {
		parts := make([]string, len(key))
		for i, v := range key {
			parts[i] = fmt.Sprintf("%s=%v", r.p.key.Columns[i].Orig.Name, printable(v))
		}
		r.slips.keys = append(r.slips.keys, "("+strings.Join(parts, ", ")+")")
	}
	return true
}

func printable(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// checkNoSlip waits, after the swap, until the apply loop has reached doppel's RENAME in the binlog,
// and fails loudly if any write reached the old table in between. The old table is then kept, so
// those rows can be recovered from it.
func (r *run) checkNoSlip(ctx context.Context) error {
	select {
	case <-r.applierDone:
	case <-ctx.Done():
		return nil
	case <-time.After(time.Minute):
		r.log().Warn("could not confirm in the binlog that no write reached the old table during the swap")
		return nil
	}
	r.slips.mu.Lock()
	defer r.slips.mu.Unlock()
	if r.slips.n == 0 {
		return nil
	}
	r.cfg.OkToDropTable = false
	old := sqlbuild.QualifiedName(r.cfg.Database, r.p.old)
	r.log().Error("writes reached the old table during the swap", zap.Int("changes", r.slips.n), zap.String("old table", old))
	return fmt.Errorf("the tables were swapped, but %d row change(s) made during the swap reached the old table %s instead of the new one, "+
		"for keys %s: compare those rows of %s and %s and copy what is missing; %s is kept: %w",
		r.slips.n, old, strings.Join(r.slips.keys, ", "), old, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), old, errSlipped)
}
