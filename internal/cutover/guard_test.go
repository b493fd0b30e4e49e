package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGuardOwnRename(t *testing.T) {
	g := NewGuard("db", "t", "_t_gho", "_t_del")
	own := [][2][2]string{{{"db", "t"}, {"db", "t_swap"}}, {{"db", "_t_gho"}, {"db", "t"}}}
	if g.OwnRename(own) {
		t.Error("own RENAME recognised while no attempt renames")
	}
	g.begin()
	if !g.OwnRename(own) {
		t.Error("own RENAME not recognised during an attempt")
	}
	for _, other := range [][][2][2]string{
		{{{"db", "t"}, {"db", "t_old"}}},
		{{{"db", "t"}, {"db", "t_swap"}}, {{"db", "x"}, {"db", "t"}}},
		{{{"db", "t"}, {"db", "_t_del"}}, {{"db", "_t_gho"}, {"db", "t"}}},
		{{{"other", "t"}, {"other", "_t_del"}}, {{"other", "_t_gho"}, {"other", "t"}}},
	} {
		if g.OwnRename(other) {
			t.Errorf("%v taken for doppel's own RENAME", other)
		}
	}
	g.end(false)
	if g.OwnRename(own) {
		t.Error("own RENAME recognised after a failed attempt")
	}
}

func TestGuardDivertWaitsForTheOutcome(t *testing.T) {
	for _, renamed := range []bool{false, true} {
		g := NewGuard("db", "t", "_t_gho", "_t_del")
		if g.Divert(func() string { return "(id=1)" }) {
			t.Fatal("diverted before any attempt")
		}
		g.begin()
		done := make(chan bool)
		go func() { done <- g.Divert(func() string { return "(id=2)" }) }()
		select {
		case <-done:
			t.Fatal("Divert decided before the attempt ended")
		case <-time.After(50 * time.Millisecond):
		}
		g.end(renamed)
		if got := <-done; got != renamed {
			t.Errorf("attempt renamed %v: diverted %v", renamed, got)
		}
		applied := make(chan struct{})
		close(applied)
		err := g.CheckNoSlip(context.Background(), applied, time.Second)
		if renamed && (!errors.Is(err, ErrSlipped) || !strings.Contains(err.Error(), "(id=2)")) {
			t.Errorf("a slipped write: CheckNoSlip = %v", err)
		}
		if !renamed && err != nil {
			t.Errorf("no slip: CheckNoSlip = %v", err)
		}
	}
}

func TestCheckNoSlipNeverSucceedsUnconfirmed(t *testing.T) {
	g := NewGuard("db", "t", "_t_gho", "_t_del")
	if err := g.CheckNoSlip(context.Background(), make(chan struct{}), 10*time.Millisecond); !errors.Is(err, ErrNotConfirmed) {
		t.Errorf("after the wait: %v, want ErrNotConfirmed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.CheckNoSlip(ctx, make(chan struct{}), time.Minute); !errors.Is(err, ErrNotConfirmed) {
		t.Errorf("cancelled: %v, want ErrNotConfirmed", err)
	}
}
