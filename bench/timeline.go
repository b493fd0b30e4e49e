package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doppel-sql/doppel/control"
)

// timeline is what a doppel run did over time, asked from its control socket every 250 ms: its
// state (phase) and the rows copied; the replica's lag and the load's commits are added to it.
type timeline struct {
	start, end time.Time // doppel's start; the picture's end
	mu         sync.Mutex
	points     []point
	lags       []sample
	commits    []sample // the load's transactions: when each ended, its latency in seconds
}

type point struct {
	at       time.Time
	state    string
	copied   int64
	estimate int64
}

// poll asks doppel's socket until the returned function is called.
func (t *timeline) poll(ctx context.Context, sock string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			qctx, qcancel := context.WithTimeout(ctx, time.Second)
			line, err := control.Send(qctx, "unix", sock, "sup")
			qcancel()
			if err != nil {
				continue // not listening yet, or gone
			}
			if p, ok := parseSup(line); ok {
				p.at = time.Now()
				t.mu.Lock()
				t.points = append(t.points, p)
				t.mu.Unlock()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// parseSup reads doppel's one-line status: "copy 12/100 12.0%; …; state copying; …".
func parseSup(line string) (point, bool) {
	var p point
	found := false
	for _, part := range strings.Split(line, ";") {
		f := strings.Fields(part)
		switch {
		case len(f) >= 2 && f[0] == "copy":
			a, b, ok := strings.Cut(f[1], "/")
			if !ok {
				continue
			}
			p.copied, _ = strconv.ParseInt(a, 10, 64)
			p.estimate, _ = strconv.ParseInt(b, 10, 64)
		case len(f) == 2 && f[0] == "state":
			p.state, found = f[1], true
		}
	}
	return p, found
}

// stateAt is doppel's state at the time at ("" before the first answer or after doppel ended).
func (t *timeline) stateAt(at time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	state := ""
	for _, p := range t.points {
		if p.at.After(at) {
			break
		}
		state = p.state
	}
	return state
}

// phases are doppel's states in the order seen, each with the time it was first and last seen.
func (t *timeline) phases() []span {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []span
	for _, p := range t.points {
		if n := len(out); n > 0 && out[n-1].name == p.state {
			out[n-1].to = p.at
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].to = p.at
		}
		out = append(out, span{name: p.state, from: p.at, to: p.at})
	}
	return out
}

type span struct {
	name     string
	from, to time.Time
}
