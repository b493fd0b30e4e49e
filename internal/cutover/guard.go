package cutover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// ErrSlipped marks a swap that completed although writes reached the old table during it;
// ErrNotConfirmed one after which that could not be ruled out.
var (
	ErrSlipped      = errors.New("writes reached the old table during the swap")
	ErrNotConfirmed = errors.New("could not confirm that no write reached the old table during the swap")
)

// Guard is the cut-over's side of the apply loop. The swap is only correct if no change of the
// original reaches it between the last catch-up under the lock and the RENAME: the lock holds every
// write back and the RENAME goes first. The apply loop, which meets every change in binlog order,
// asks the guard two questions and the cut-over checks the answers after the swap:
//
//   - Divert: what is this change of the original, met after an attempt caught up under its lock?
//     Until the attempt ends it cannot be known: a write that got past the swap if the attempt
//     renamed the tables (it went to the old table, the ghost has been renamed: it must not be
//     replayed, but recorded), an ordinary write to replay if the attempt failed and let the lock go.
//     So Divert waits for the attempt's outcome, a few milliseconds. Deciding by the clock instead
//     would drop the writes that queued behind a failed attempt's lock and reached the binlog before
//     the attempt had returned.
//   - OwnRename: is this RENAME in the binlog doppel's own swap? Then nothing after it belongs to the
//     ghost, and the apply loop stops there.
//
// After a swap, CheckNoSlip waits until the apply loop has reached the RENAME and fails loudly if any
// write was diverted: it reached the old table, which is then kept so those rows can be recovered.
type Guard struct {
	schema, table, ghost, old string
	// rename is the swap's RENAME as (from, to) pairs of schema and name: this table's two, or a
	// group's (RunGroup) every member's, in the statement's order.
	rename [][2][2]string

	renaming atomic.Bool  // an attempt has issued, or is about to issue, its RENAME
	state    atomic.Int32 // a sealState; read without the lock on every change of the original
	mu       sync.Mutex   // guards decided, slips; orders begin and end
	decided  chan struct{}
	slips    int
	keys     []string // the first few slipped keys: user data, shown only in the error
}

type sealState = int32

const (
	unsealed sealState = iota
	sealed             // an attempt is under way past its catch-up
	swapped            // the attempt renamed the tables
)

// NewGuard returns the guard of the swap of schema.table with ghost, the original becoming old.
func NewGuard(schema, table, ghost, old string) *Guard {
	return &Guard{schema: schema, table: table, ghost: ghost, old: old, rename: [][2][2]string{
		{{schema, table}, {schema, SentryName(table)}},
		{{schema, ghost}, {schema, table}},
	}}
}

// expectRename sets the RENAME OwnRename recognizes: a group's, which renames every member at once.
// It is set before the attempt seals the guard.
func (g *Guard) expectRename(pairs [][2][2]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rename = pairs
}

// begin seals: the attempt has caught up under its lock and is about to rename.
func (g *Guard) begin() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.renaming.Store(true)
	g.decided = make(chan struct{})
	g.state.Store(sealed)
}

// end records an attempt's outcome; without one sealed it only clears renaming on a failure.
func (g *Guard) end(renamed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !renamed {
		g.renaming.Store(false) // nothing was renamed: the original takes writes again
	}
	if g.state.Load() != sealed {
		return
	}
	outcome := unsealed
	if renamed {
		outcome = swapped
	}
	g.state.Store(outcome)
	close(g.decided)
}

// wait returns the state, after the outcome when an attempt is under way. Every attempt ends with
// end, each bounded by its lock timeouts.
func (g *Guard) wait() sealState {
	if state := g.state.Load(); state != sealed {
		return state
	}
	g.mu.Lock()
	state, decided := g.state.Load(), g.decided
	g.mu.Unlock()
	if state != sealed {
		return state
	}
	<-decided
	return g.state.Load()
}

// maxSlipKeys bounds the keys a slip error names.
const maxSlipKeys = 10

// Divert reports whether a change of the original met now in the binlog must not be replayed: the
// tables have been swapped, so it is a write that got past the swap into the old table. It is
// recorded; describe gives its key for the error (called only then).
func (g *Guard) Divert(describe func() string) bool {
	if g.wait() != swapped {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.slips++
	if len(g.keys) < maxSlipKeys {
		g.keys = append(g.keys, describe())
	}
	return true
}

// OwnRename reports whether a RENAME TABLE met in the binlog, given as its (from, to) pairs of
// schema and name, is doppel's own swap: an attempt is renaming, and the statement renames the
// original to the sentry's name and the ghost to the original's, nothing else (or, in a group,
// exactly the group's pairs).
func (g *Guard) OwnRename(pairs [][2][2]string) bool {
	if !g.renaming.Load() {
		return false
	}
	g.mu.Lock()
	want := g.rename
	g.mu.Unlock()
	if len(pairs) != len(want) {
		return false
	}
	for i, p := range pairs {
		if p != want[i] {
			return false
		}
	}
	return true
}

// CheckNoSlip waits, after the swap, until the apply loop has stopped at doppel's RENAME (applied is
// closed), and fails if any write reached the old table in between, or if that cannot be confirmed
// within wait: the swap is done, but the old table must then be kept and looked at.
func (g *Guard) CheckNoSlip(ctx context.Context, applied <-chan struct{}, wait time.Duration) error {
	old := sqlbuild.QualifiedName(g.schema, g.old)
	select {
	case <-applied:
	case <-ctx.Done():
		return fmt.Errorf("the tables were swapped, but doppel was stopped before it could confirm in the binlog that no write reached the old table %s during the swap: compare %s with %s before dropping it: %w",
			old, old, sqlbuild.QualifiedName(g.schema, g.table), errors.Join(ErrNotConfirmed, ctx.Err()))
	case <-time.After(wait):
		return fmt.Errorf("the tables were swapped, but doppel could not confirm within %s that no write reached the old table %s during the swap (the replay did not reach its RENAME in the binlog): compare %s with %s before dropping it: %w",
			wait, old, old, sqlbuild.QualifiedName(g.schema, g.table), ErrNotConfirmed)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slips == 0 {
		return nil
	}
	return fmt.Errorf("the tables were swapped, but %d row change(s) made during the swap reached the old table %s instead of the new one, "+
		"for keys %s: compare those rows of %s and %s and copy what is missing; %s is kept: %w",
		g.slips, old, strings.Join(g.keys, ", "), old, sqlbuild.QualifiedName(g.schema, g.table), old, ErrSlipped)
}
