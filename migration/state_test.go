package migration

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestDocsListEveryState keeps docs/metrics.md's list of doppel_state's phases the states a run
// goes through, in their order.
func TestDocsListEveryState(t *testing.T) {
	raw, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	_, line, ok := strings.Cut(string(raw), "Phases: ")
	if !ok {
		t.Fatal("docs/metrics.md no longer lists the phases of doppel_state")
	}
	line, _, _ = strings.Cut(line, ".")
	var documented []string
	for _, m := range regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(line, -1) {
		documented = append(documented, m[1])
	}
	if !slices.Equal(documented, States()) {
		t.Errorf("docs/metrics.md lists the phases %v; a run goes through %v", documented, States())
	}
}

// TestRunPhases checks the runner: phases run in order showing their states, a skipped phase
// neither runs nor shows its state, the first error ends the list, and every phase run is timed.
func TestRunPhases(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		fail, skip string // the phase that fails, the one skipped
		wantRun    []string
		wantStates []State
		wantErr    error
	}{
		{name: "all", wantRun: []string{"a", "b", "c"}, wantStates: []State{StateCopying, StateVerifying, StateCuttingOver}},
		{name: "skipped", skip: "b", wantRun: []string{"a", "c"}, wantStates: []State{StateCopying, StateCuttingOver}},
		{name: "failed", fail: "b", wantRun: []string{"a", "b"}, wantStates: []State{StateCopying, StateVerifying}, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(&Config{Logger: zap.NewNop()}, nil)
			var ran []string
			var states []State
			step := func(name string) phase {
				return phase{name: name, do: func(context.Context) error {
					ran = append(ran, name)
					states = append(states, r.state.get())
					if name == tt.fail {
						return boom
					}
					return nil
				}, skip: func() bool { return name == tt.skip }}
			}
			ps := []phase{step("a"), step("b"), step("c")}
			ps[0].state, ps[1].state, ps[2].state = StateCopying, StateVerifying, StateCuttingOver
			err := r.runPhases(context.Background(), ps)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("runPhases = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(ran, tt.wantRun) || !slices.Equal(states, tt.wantStates) {
				t.Errorf("ran %v in states %v, want %v in %v", ran, states, tt.wantRun, tt.wantStates)
			}
			var timed []string
			for _, p := range r.phaseTimes {
				timed = append(timed, p.Phase)
			}
			if !slices.Equal(timed, tt.wantRun) {
				t.Errorf("timed %v, want %v", timed, tt.wantRun)
			}
		})
	}
}

// TestExponentialPause: --cut-over-exponential-backoff waits 1, 2, 4, … seconds, never more than
// --exponential-backoff-max-interval, and never overflows.
func TestExponentialPause(t *testing.T) {
	for _, tc := range []struct {
		n     int
		limit time.Duration
		want  time.Duration
	}{
		{1, 64 * time.Second, time.Second},
		{2, 64 * time.Second, 2 * time.Second},
		{7, 64 * time.Second, 64 * time.Second},
		{8, 64 * time.Second, 64 * time.Second},
		{4, 5 * time.Second, 5 * time.Second},
		{1000, time.Hour, time.Hour},
		{0, time.Minute, time.Second},
	} {
		if got := exponentialPause(tc.n, tc.limit); got != tc.want {
			t.Errorf("exponentialPause(%d, %s) = %s, want %s", tc.n, tc.limit, got, tc.want)
		}
	}
}
