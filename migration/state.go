package migration

import "sync/atomic"

// State is the phase a migration is in.
type State int32

const (
	StateValidating State = iota
	StatePreparing
	StateCopying
	StateIndexing   // the copy is done; the deferred secondary indexes are being built
	StateCatchingUp // the replay finishes what is left
	StateVerifying  // the ghost is compared with the original
	StatePostponed  // ready, waiting for the postpone flag file to go
	// StateWaitingForReplicas: ready, waiting for the replicas to come within --max-lag-millis.
	StateWaitingForReplicas
	// StateRevertWindow: swapped; the new table's changes are replayed into the old one, which
	// the revert command swaps back (--revert-window).
	StateRevertWindow
	StateCuttingOver
	StateReverting // a revert's swap: the old table is swapped back in
	StateCleaningUp
	StateDone
	StateFailed
)

var stateNames = [...]string{"validating", "preparing", "copying", "adding-indexes", "catching-up", "verifying", "postponed", "waiting-for-replicas", "revert-window", "cutting-over", "reverting", "cleaning-up", "done", "failed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

type stateBox struct{ v atomic.Int32 }

func (b *stateBox) set(s State) { b.v.Store(int32(s)) }
func (b *stateBox) get() State  { return State(b.v.Load()) }

// States names every state, in the order a run goes through them (done or failed last).
func States() []string { return append([]string(nil), stateNames[:]...) }
