package loadgen

import (
	"slices"
	"time"
)

// Mark returns a mark of how many transactions have committed so far; Latencies(from, to) gives the
// latencies of those committed between two marks, to split a run into phases (before, during and
// after a migration).
func (g *Generator) Mark() int {
	g.stats.mu.Lock()
	defer g.stats.mu.Unlock()
	return len(g.stats.latencies)
}

// Latencies returns, sorted, the latencies of the transactions committed between marks from and to.
func (g *Generator) Latencies(from, to int) []time.Duration {
	g.stats.mu.Lock()
	defer g.stats.mu.Unlock()
	out := slices.Clone(g.stats.latencies[from:to])
	slices.Sort(out)
	return out
}

// LongestAround returns the longest latency among the transactions that were running at any time
// within window of at: the stall the application saw around a moment such as a cut-over.
func (g *Generator) LongestAround(at time.Time, window time.Duration) time.Duration {
	g.stats.mu.Lock()
	defer g.stats.mu.Unlock()
	var longest time.Duration
	for i, end := range g.stats.ends {
		start := end.Add(-g.stats.latencies[i])
		if start.Before(at.Add(window)) && end.After(at.Add(-window)) {
			longest = max(longest, g.stats.latencies[i])
		}
	}
	return longest
}

// Commit is one committed transaction: when it ended and how long it took.
type Commit struct {
	End     time.Time
	Latency time.Duration
}

// Commits returns the transactions committed between marks from and to, in commit order: the
// load's latency over time, for a picture.
func (g *Generator) Commits(from, to int) []Commit {
	g.stats.mu.Lock()
	defer g.stats.mu.Unlock()
	out := make([]Commit, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, Commit{End: g.stats.ends[i], Latency: g.stats.latencies[i]})
	}
	return out
}
