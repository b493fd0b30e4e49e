package throttle

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestAdjustPace(t *testing.T) {
	const target = 10 * time.Millisecond
	for _, tc := range []struct {
		name     string
		pace     float64
		observed time.Duration
		want     float64
	}{
		{"fast enough, no rest", 0, 2 * time.Millisecond, 0},
		{"too slow starts resting", 0, 11 * time.Millisecond, paceStart},
		{"still too slow doubles", 0.5, 20 * time.Millisecond, 1},
		{"bounded", 8, time.Second, maxPace},
		{"between ease and target holds", 1, 8 * time.Millisecond, 1},
		{"at the target holds", 1, target, 1},
		{"well under eases by a quarter", 1, 5 * time.Millisecond, 0.75},
		{"too small to matter is none", 0.06, time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := adjustPace(tc.pace, tc.observed, target); got != tc.want {
				t.Errorf("adjustPace(%v, %s, %s) = %v, want %v", tc.pace, tc.observed, target, got, tc.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"one", ms(7), 0.9, 7 * time.Millisecond},
		{"one slow commit of ten is ignored", ms(1, 1, 1, 1, 50, 1, 1, 1, 1, 1), 0.9, time.Millisecond},
		{"two slow commits of ten count", ms(1, 1, 1, 40, 50, 1, 1, 1, 1, 1), 0.9, 40 * time.Millisecond},
		{"median", ms(5, 1, 3), 0.5, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.in, tc.q); got != tc.want {
				t.Errorf("quantile = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPacerWindow: the pace follows the last paceWindow commits only, so it eases off once the
// slow ones are out of the window.
func TestPacerWindow(t *testing.T) {
	p := newPacer(10 * time.Millisecond)
	if got := p.next(); got != 0 {
		t.Fatalf("pace %v before any commit", got)
	}
	for range paceWindow {
		p.observe(30 * time.Millisecond)
	}
	for _, want := range []float64{paceStart, 0.5, 1} {
		if got := p.next(); got != want {
			t.Fatalf("pace %v while commits are slow, want %v", got, want)
		}
	}
	for range paceWindow - 2 {
		p.observe(time.Millisecond)
	}
	if got := p.next(); got != 2 {
		t.Fatalf("pace %v with two slow commits of ten in the window, want 2 (they count)", got)
	}
	p.observe(time.Millisecond)
	if got := p.next(); got != 1.5 {
		t.Fatalf("pace %v with one slow commit of ten left, want 1.5 (the p90 ignores it)", got)
	}
	if p.current() != 1.5 {
		t.Errorf("current() = %v", p.current())
	}
}

// TestMaxCommitLatency: the heartbeat's real commits on the sandbox's primary feed the pace; a
// target no commit can meet makes Nice rest, one every commit meets leaves the copy flat out.
func TestMaxCommitLatency(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name    string
		target  time.Duration
		resting bool
	}{
		{"unreachable target", time.Nanosecond, true},
		{"generous target", time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config()
			cfg.Inspected = nil
			cfg.MaxCommitLatency = tc.target
			th, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- th.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			time.Sleep(500 * time.Millisecond) // a few heartbeats
			var slept time.Duration
			for range 3 {
				begin := time.Now()
				if err := th.Nice(ctx, 10*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				slept += time.Since(begin)
			}
			if resting := th.Pace() > 0; resting != tc.resting {
				t.Errorf("pace %v after three chunks, want resting %t", th.Pace(), tc.resting)
			}
			// Rests of 0.25, 0.5 and 1 times 10 ms.
			if want := 17 * time.Millisecond; tc.resting && slept < want {
				t.Errorf("Nice slept %s over three 10 ms chunks, want at least %s", slept, want)
			}
		})
	}
}

func TestLagPace(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		lag, max time.Duration
		want     float64
	}{
		{0, 1500 * ms, 0},
		{750 * ms, 1500 * ms, 0}, // half the limit: not yet
		{1125 * ms, 1500 * ms, 2},
		{1500 * ms, 1500 * ms, 4},
		{3 * time.Second, 1500 * ms, 4}, // beyond: the throttle stops the copy; the rest stays at its top
		{time.Second, 0, 0},             // no limit
	} {
		if got := lagPace(c.lag, c.max); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("lagPace(%s, %s) = %g, want %g", c.lag, c.max, got, c.want)
		}
	}
}
