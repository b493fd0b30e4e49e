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
