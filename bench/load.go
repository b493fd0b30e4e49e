package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Load is the write load's latency in the phases of a loaded run.
type Load struct {
	Rate   float64 `json:"rate"`
	Before Latency `json:"before"`
	During Latency `json:"during"`
	After  Latency `json:"after"`
	// ByPhase splits During by doppel's phase (its state when each transaction committed).
	ByPhase      []PhaseLatency `json:"by_phase"`
	LongestStall float64        `json:"longest_stall_ms"`
	// CutOverStall is the longest transaction running within a second of the swap.
	CutOverStall float64 `json:"cutover_stall_ms"`
	// PeakLagBeforeMs is the replica's peak lag under the load alone, before the migration.
	PeakLagBeforeMs float64 `json:"peak_replica_lag_before_ms"`
	Committed       int64   `json:"committed"`
	Failed          int64   `json:"failed"`
	OracleMatches   bool    `json:"oracle_matches"`
}

// PhaseLatency is the load's latency during one of doppel's phases.
type PhaseLatency struct {
	Phase string `json:"phase"`
	Latency
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50, P95, P99, Max float64
	Count              int64
}

// phasedLoad is the write load of the loaded run: one generator running throughout, its
// transactions split into phases by marks.
type phasedLoad struct {
	gen    *loadgen.Generator
	cancel context.CancelFunc
	done   chan error
	marks  []int // the start of each phase, then its end
}

func startLoad(ctx context.Context, db *sql.DB, tbl, oracle string, rate float64) (*phasedLoad, error) {
	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: tbl, Oracle: oracle, Workers: 4, Rate: rate})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &phasedLoad{gen: gen, cancel: cancel, done: make(chan error, 1), marks: []int{0}}
	go func() { l.done <- gen.Run(ctx) }()
	return l, nil
}

// phase lets the load run for d, then ends the phase.
func (l *phasedLoad) phase(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
	}
	l.cut()
	return nil
}

// cut ends the current phase now.
func (l *phasedLoad) cut() {
	l.marks = append(l.marks, l.gen.Mark())
}

func (l *phasedLoad) latency(phase int) Latency {
	lat := l.gen.Latencies(l.marks[phase], l.marks[phase+1])
	return latencyOf(lat)
}

func latencyOf(lat []time.Duration) Latency {
	slices.Sort(lat)
	v := make([]float64, len(lat))
	for i, d := range lat {
		v[i] = float64(d) / float64(time.Millisecond)
	}
	return Latency{P50: percentile(v, 0.5), P95: percentile(v, 0.95), P99: percentile(v, 0.99), Max: percentile(v, 1), Count: int64(len(v))}
}

// percentile of values (sorted here), by the nearest rank below; 0 for none.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	values = slices.Clone(values)
	slices.Sort(values)
	return values[min(len(values)-1, int(p*float64(len(values)-1)))]
}

// stop ends the load; its error is that it could not start.
func (l *phasedLoad) stop() error {
	l.cancel()
	return <-l.done
}

// finish stops the load, splits its latency by phase (tl's for the migration) and checks the
// migrated table against the oracle, altered natively.
func (l *phasedLoad) finish(ctx context.Context, db *sql.DB, tbl, oracle, alter string, swappedAt time.Time, tl *timeline) (*Load, error) {
	if err := l.stop(); err != nil {
		return nil, fmt.Errorf("the write load: %w", err)
	}
	if len(l.marks) != 4 {
		return nil, fmt.Errorf("the load has %d phase marks, want 4", len(l.marks))
	}
	st := l.gen.Stats()
	res := &Load{Before: l.latency(0), During: l.latency(1), After: l.latency(2), Committed: st.Committed, Failed: st.Failed}
	res.LongestStall = res.During.Max
	if !swappedAt.IsZero() {
		res.CutOverStall = float64(l.gen.LongestAround(swappedAt, time.Second)) / float64(time.Millisecond)
	}
	byPhase := map[string][]time.Duration{}
	var order []string
	for _, c := range l.gen.Commits(l.marks[1], l.marks[2]) {
		s := tl.stateAt(c.End.Add(-c.Latency / 2))
		if s == "" {
			s = "starting"
		}
		if _, ok := byPhase[s]; !ok {
			order = append(order, s)
		}
		byPhase[s] = append(byPhase[s], c.Latency)
	}
	for _, s := range order {
		res.ByPhase = append(res.ByPhase, PhaseLatency{Phase: s, Latency: latencyOf(byPhase[s])})
	}
	for _, c := range l.gen.Commits(0, l.marks[3]) {
		tl.commits = append(tl.commits, sample{c.End, c.Latency.Seconds()})
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(oracle)+" "+alter); err != nil {
		return nil, fmt.Errorf("altering the oracle: %w", err)
	}
	if err := loadgen.Compare(ctx, db, schema, tbl, oracle, []string{"id"}); err != nil {
		return nil, fmt.Errorf("the migrated table differs from the oracle: %w", err)
	}
	res.OracleMatches = true
	return res, nil
}
