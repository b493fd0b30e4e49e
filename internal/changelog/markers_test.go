package changelog

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSettle: Settle ends at a fast catch-up, after its patience at one within the bound, and never
// at one slower than the bound, which it reports instead.
func TestSettle(t *testing.T) {
	const ms = time.Millisecond
	s := Settling{Fast: 5 * ms, Patience: 60 * ms, Bound: 30 * ms, SlowEvery: 0}
	for _, tc := range []struct {
		name      string
		takes     []time.Duration // each catch-up's time; the last repeats
		quick     bool
		calls     int
		slowTold  bool
		minCalls  int // at least this many calls, when calls is 0
		wantError bool
	}{
		{name: "fast at once", takes: []time.Duration{0}, quick: true, calls: 1},
		{name: "fast after slow ones", takes: []time.Duration{20 * ms, 20 * ms, 0}, quick: true, calls: 3},
		{name: "within the bound after patience", takes: []time.Duration{20 * ms}, minCalls: 3},
		{name: "beyond the bound waits for a quicker one", takes: []time.Duration{40 * ms, 40 * ms, 40 * ms, 40 * ms, 20 * ms}, calls: 5, slowTold: true},
		{name: "an error ends it", takes: []time.Duration{-1}, calls: 1, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, told := 0, false
			catchUp := func(context.Context) error {
				d := tc.takes[min(calls, len(tc.takes)-1)]
				calls++
				if d < 0 {
					return errors.New("stream broke")
				}
				time.Sleep(d)
				return nil
			}
			cfg := s
			cfg.Slow = func(took time.Duration) {
				told = true
				if took <= cfg.Bound {
					t.Errorf("told of a catch-up of %s, within the bound", took)
				}
			}
			quick, err := Settle(context.Background(), catchUp, cfg)
			if (err != nil) != tc.wantError {
				t.Fatalf("error %v, want error %v", err, tc.wantError)
			}
			if quick != tc.quick {
				t.Errorf("quick %v, want %v", quick, tc.quick)
			}
			if tc.calls > 0 && calls != tc.calls {
				t.Errorf("%d catch-ups, want %d", calls, tc.calls)
			}
			if calls < tc.minCalls {
				t.Errorf("%d catch-ups, want at least %d", calls, tc.minCalls)
			}
			if told != tc.slowTold {
				t.Errorf("slow told %v, want %v", told, tc.slowTold)
			}
		})
	}
}

// TestBeforeLock: the thresholds follow the lock timeout.
func TestBeforeLock(t *testing.T) {
	for _, tc := range []struct {
		lock, fast, bound time.Duration
	}{
		{3 * time.Second, 100 * time.Millisecond, 1500 * time.Millisecond},
		{200 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond},
	} {
		s := BeforeLock(tc.lock, time.Minute, nil)
		if s.Fast != tc.fast || s.Bound != tc.bound || s.Patience != time.Minute {
			t.Errorf("lock timeout %s: fast %s, bound %s, patience %s; want %s, %s, 1m", tc.lock, s.Fast, s.Bound, s.Patience, tc.fast, tc.bound)
		}
	}
}
