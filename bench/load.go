package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

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
func (l *phasedLoad) cut() Latency {
	l.marks = append(l.marks, l.gen.Mark())
	return l.latency(len(l.marks) - 2)
}

func (l *phasedLoad) latency(phase int) Latency {
	lat := l.gen.Latencies(l.marks[phase], l.marks[phase+1])
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return ms(lat[min(len(lat)-1, int(p*float64(len(lat)-1)))])
	}
	return Latency{P50: pct(0.5), P95: pct(0.95), P99: pct(0.99), Max: pct(1), Count: int64(len(lat))}
}

// stop ends the load; its error is that it could not start.
func (l *phasedLoad) stop() error {
	l.cancel()
	return <-l.done
}

// finish stops the load and checks the migrated table against the oracle, altered natively.
func (l *phasedLoad) finish(ctx context.Context, db *sql.DB, tbl, oracle, alter string, swappedAt time.Time) (*Load, error) {
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
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(oracle)+" "+alter); err != nil {
		return nil, fmt.Errorf("altering the oracle: %w", err)
	}
	if err := loadgen.Compare(ctx, db, schema, tbl, oracle, []string{"id"}); err != nil {
		return nil, fmt.Errorf("the migrated table differs from the oracle: %w", err)
	}
	res.OracleMatches = true
	return res, nil
}
