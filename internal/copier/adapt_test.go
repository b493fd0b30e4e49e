package copier

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestAdaptiveChunkSize(t *testing.T) {
	var limit atomic.Int64
	limit.Store(20000)
	c := &Copier{cfg: Config{ChunkSize: &limit, TargetChunkTime: 500 * time.Millisecond}}
	c.size.Store(min(limit.Load(), startChunk))
	steps := []struct {
		rows int64
		took time.Duration
		want int64
	}{
		{1000, 10 * time.Millisecond, 2000}, // far too fast: at most doubles
		{2000, 20 * time.Millisecond, 4000},
		{4000, 400 * time.Millisecond, 5000}, // close to the target: proportional
		{5000, 2 * time.Second, 2500},        // far too slow: at most halves
		{100, time.Millisecond, 2500},        // a short chunk (the table's end) teaches nothing
		{2500, 500 * time.Millisecond, 2500},
	}
	for i, s := range steps {
		c.adapt(s.rows, s.took)
		if got := c.ChunkSize(); got != s.want {
			t.Fatalf("step %d: size %d, want %d", i, got, s.want)
		}
	}
	limit.Store(1000) // chunk-size lowered from the socket: a cap at once
	if got := c.ChunkSize(); got != 1000 {
		t.Errorf("after lowering chunk-size: %d, want 1000", got)
	}
	fixed := &Copier{cfg: Config{ChunkSize: &limit}}
	fixed.adapt(1000, time.Second)
	if got := fixed.ChunkSize(); got != 1000 {
		t.Errorf("without a target the size is chunk-size: %d", got)
	}
}

// TestTargetScale: the latency target's pace shortens the chunks' target, so they shrink while the
// application's commits are slow, and grow back when the pace eases.
func TestTargetScale(t *testing.T) {
	var limit atomic.Int64
	limit.Store(20000)
	var pace float64
	c := &Copier{cfg: Config{ChunkSize: &limit, TargetChunkTime: 100 * time.Millisecond, TargetScale: func() float64 { return pace }}}
	c.size.Store(4000)
	for i, s := range []struct {
		pace float64
		took time.Duration
		want int64
	}{
		{0, 100 * time.Millisecond, 4000},  // on target
		{1, 100 * time.Millisecond, 2000},  // target halved: half the rows
		{3, 50 * time.Millisecond, 1000},   // a quarter of 100 ms is 25 ms: halved again, at most
		{3, 25 * time.Millisecond, 1000},   // on the shortened target
		{0, 25 * time.Millisecond, 2000},   // eased: grows back, at most twofold
		{-1, 100 * time.Millisecond, 2000}, // a negative pace means none
	} {
		pace = s.pace
		c.adapt(c.ChunkSize(), s.took)
		if got := c.ChunkSize(); got != s.want {
			t.Fatalf("step %d: size %d, want %d", i, got, s.want)
		}
	}
}

// TestCatchUpClose: a slow catch-up is followed by more, until one is quick, and no more than
// closeCatchUps in all.
func TestCatchUpClose(t *testing.T) {
	for _, c := range []struct {
		name  string
		slow  int // how many catch-ups are slow before they turn quick
		calls int
	}{
		{"quick at once", 0, 1},
		{"two slow", 2, 3},
		{"always slow", 100, closeCatchUps},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			cp := &Copier{cfg: Config{CatchUp: func(context.Context) error {
				calls++
				if calls <= c.slow {
					time.Sleep(quickCatchUp + 10*time.Millisecond)
				}
				return nil
			}}}
			if err := cp.catchUpClose(context.Background()); err != nil {
				t.Fatal(err)
			}
			if calls != c.calls {
				t.Errorf("%d catch-ups, want %d", calls, c.calls)
			}
		})
	}
}
