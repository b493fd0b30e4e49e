package migration

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// progress is a snapshot of how far the migration is.
type progress struct {
	State     State
	Copied    int64
	Estimated int64
	Percent   float64
	Applied   int64
	Backlog   int64
	Elapsed   time.Duration
	RowsPerS  float64
	ETA       time.Duration // < 0: unknown
}

func (r *run) snapshot(prev *progress, interval time.Duration) progress {
	p := progress{State: r.state.get(), Estimated: r.p.rows, Elapsed: time.Since(r.start), ETA: -1}
	if r.copier != nil {
		p.Copied = r.copier.RowsCopied()
	}
	if r.applier != nil {
		p.Applied = r.applier.Applied()
		p.Backlog = r.applier.Received() - p.Applied
	}
	if p.Estimated < p.Copied {
		p.Estimated = p.Copied
	}
	switch {
	case p.State > StateCopying:
		p.Percent = 100
	case p.Estimated > 0:
		// The server's row count is an estimate: never claim the copy is done before it is.
		p.Percent = min(99.9, 100*float64(p.Copied)/float64(p.Estimated))
	}
	if prev != nil && interval > 0 {
		p.RowsPerS = float64(p.Copied-prev.Copied) / interval.Seconds()
	}
	// The ETA comes from the recent rate only, and is unknown rather than wrong when there is none.
	if p.State == StateCopying && p.RowsPerS > 0 {
		p.ETA = time.Duration(float64(p.Estimated-p.Copied) / p.RowsPerS * float64(time.Second))
	}
	return p
}

func (p progress) eta() string {
	if p.ETA < 0 {
		return "unknown"
	}
	return p.ETA.Round(time.Second).String()
}

// reportProgress logs a status line every StatusInterval until ctx ends.
func (r *run) reportProgress(ctx context.Context) error {
	interval := r.cfg.StatusInterval
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var prev *progress
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		p := r.snapshot(prev, interval)
		prev = &p
		r.log().Info(fmt.Sprintf("copy %d/%d %.1f%%; applied %d; backlog %d; state %s; elapsed %s; ETA %s",
			p.Copied, p.Estimated, p.Percent, p.Applied, p.Backlog, p.State, p.Elapsed.Round(time.Second), p.eta()),
			zap.Int64("rows/s", int64(p.RowsPerS)))
	}
}
