package migration

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// StreamLostUnhealthy is how long the binlog stream may be down, reconnecting, before /healthz
// says so: a reconnection after a failover or a restart takes seconds; the stream gives up after
// about two minutes.
const StreamLostUnhealthy = 10 * time.Second

// Health answers /healthz for a run: cmd/doppel gives its Check to the metrics server before the run
// starts, and Run attaches the run to it. A nil *Health, or one no run is attached to, is healthy.
type Health struct {
	check atomic.Pointer[func() error]
}

// Check returns nil while the run is healthy, and otherwise why it is not, in an operator's words.
func (h *Health) Check() error {
	if h == nil {
		return nil
	}
	if f := h.check.Load(); f != nil {
		return (*f)()
	}
	return nil
}

func (h *Health) attach(f func() error) {
	if h != nil {
		h.check.Store(&f)
	}
}

// health is the run's answer: failing, hibernating on critical load, or with the binlog stream
// down for longer than StreamLostUnhealthy. Being throttled is healthy: it is doppel doing its job.
func (r *run) health() error {
	if r.state.get() == StateFailed {
		return errors.New("the migration failed; see doppel's log")
	}
	if r.throttle != nil {
		if until := r.throttle.HibernatingUntil(); !until.IsZero() {
			return fmt.Errorf("hibernating on critical load (--critical-load) until %s: nothing is copied or replayed", until.UTC().Format(time.TimeOnly+" MST"))
		}
	}
	if r.reader != nil {
		if lost := r.reader.Lost(); lost > StreamLostUnhealthy {
			return fmt.Errorf("the binlog stream has been down for %s, reconnecting; doppel gives up after about two minutes", lost.Round(time.Second))
		}
	}
	return nil
}
