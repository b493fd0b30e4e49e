package migration

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/binlog"
)

// Progress is a snapshot of how far the migration is, for the status line, the socket and the
// progress bar.
type Progress struct {
	State     State
	Copied    int64
	Chunks    int64
	Estimated int64
	Percent   float64
	Applied   int64
	Backlog   int64
	Elapsed   time.Duration
	RowsPerS  float64
	ETA       time.Duration // < 0: unknown
	Throttled string        // the reason, empty when not throttled
	Lag       time.Duration // the largest replica lag measured
}

// snapshot reads the counters, the recent copy rate and the ETA that follows from it.
func (r *run) snapshot() Progress {
	p := Progress{State: r.state.get(), Estimated: r.rows.Load(), Elapsed: time.Since(r.start), ETA: -1}
	if r.copier != nil {
		p.Copied, p.Chunks = r.copier.RowsCopied(), r.copier.Chunks()
	}
	if r.applier != nil {
		p.Applied = r.applier.Applied()
		p.Backlog = r.applier.Received() - p.Applied
	}
	if r.throttle != nil {
		if throttled, reason := r.throttle.Check(); throttled {
			p.Throttled = reason
		}
		p.Lag = r.throttle.Lag()
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
	p.RowsPerS = r.rate.rate()
	// The ETA comes from the recent rate only, and is unknown rather than wrong when there is no
	// rate yet or doppel is throttled.
	if p.State == StateCopying && p.RowsPerS > 0 && p.Throttled == "" {
		p.ETA = time.Duration(float64(p.Estimated-p.Copied) / p.RowsPerS * float64(time.Second))
	}
	return p
}

// ETAText is the ETA for people: "unknown" when there is none.
func (p Progress) ETAText() string {
	if p.ETA < 0 {
		return "unknown"
	}
	return p.ETA.Round(time.Second).String()
}

// Line is the one-line status: the periodic log line and the socket's sup.
func (p Progress) Line() string {
	s := fmt.Sprintf("copy %d/%d %.1f%%; applied %d; backlog %d; state %s; elapsed %s; ETA %s",
		p.Copied, p.Estimated, p.Percent, p.Applied, p.Backlog, p.State, p.Elapsed.Round(time.Second), p.ETAText())
	if p.Throttled != "" {
		s += "; throttled: " + p.Throttled
	}
	return s
}

// statusText is the socket's status: the line plus the settings an operator may change.
func (r *run) statusText(p Progress) string {
	var b strings.Builder
	if r.cfg.Revert {
		b.WriteString(r.revertStatus())
	} else {
		fmt.Fprintf(&b, "# Migrating %s.%s; ghost table %s\n", r.cfg.Database, r.cfg.Table, namesFor(r.cfg.Table).ghost)
	}
	fmt.Fprintf(&b, "# Migration started at %s\n", r.start.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "# State: %s\n", p.State)
	fmt.Fprintf(&b, "# Rows copied: %d of about %d (%.1f%%) in %d chunks; ETA: %s\n", p.Copied, p.Estimated, p.Percent, p.Chunks, p.ETAText())
	fmt.Fprintf(&b, "# Binlog changes applied: %d; backlog: %d\n", p.Applied, p.Backlog)
	if r.throttle != nil {
		current := r.chunk.Load()
		if r.copier != nil {
			current = r.copier.ChunkSize()
		}
		fmt.Fprintf(&b, "# chunk-size: %d (now %d); dml-batch-size: %d; max-lag-millis: %d; nice-ratio: %g\n",
			r.chunk.Load(), current, r.dmlBatch.Load(), r.throttle.MaxLag().Milliseconds(), r.throttle.NiceRatio())
		fmt.Fprintf(&b, "# max-load: %s; critical-load: %s\n", r.throttle.MaxLoad(), r.throttle.CriticalLoad())
		fmt.Fprintf(&b, "# Replica lag: %s\n", p.Lag.Round(time.Millisecond))
	}
	if pf := *r.postpone.Load(); pf != "" {
		fmt.Fprintf(&b, "# postpone-cut-over-flag-file: %s\n", pf)
	}
	if p.Throttled != "" {
		fmt.Fprintf(&b, "# Throttled: %s\n", p.Throttled)
	} else {
		b.WriteString("# Not throttled\n")
	}
	b.WriteString(p.Line() + "\n")
	return b.String()
}

// observe feeds the metrics every second, logs a status line every --status-interval and runs the
// status hook every --hooks-status-interval, until ctx ends.
func (r *run) observe(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastStatus, lastStatusHook := time.Now(), time.Now()
	var sent [binlog.Delete + 1][2]int64 // events received and applied already passed to the metrics
	var lastRetention time.Time
	for {
		select {
		case <-ctx.Done():
			// The last figures, so the metrics end where the run did.
			r.feedMetrics(context.WithoutCancel(ctx), &sent)
			return ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		if r.copier != nil {
			r.rate.add(now, r.copier.RowsCopied())
		}
		p := r.snapshot()
		if int64(p.Lag) > r.peakLag.Load() {
			r.peakLag.Store(int64(p.Lag)) // only this loop writes it
		}
		if r.cfg.OnProgress != nil {
			r.cfg.OnProgress(p)
		}
		if now.Sub(lastStatus) >= r.cfg.StatusInterval {
			lastStatus = now
			if r.cfg.OnProgress == nil { // a progress bar shows it instead
				r.log().Info(p.Line(), zap.Int64("rows_per_second", int64(p.RowsPerS)))
			}
		}
		if now.Sub(lastStatusHook) >= r.cfg.HooksStatusInterval {
			lastStatusHook = now
			v := r.hookVars()
			v.Status = p.Line()
			_ = r.hookWith(ctx, hooks.OnStatus, v)
		}
		if p.ETA < 0 {
			r.cfg.Metrics.SetETAUnknown()
		} else {
			r.cfg.Metrics.SetETA(p.ETA)
		}
		r.feedMetrics(ctx, &sent)
		if now.Sub(lastRetention) >= time.Minute {
			lastRetention = now
			r.watchRetention(ctx)
		}
	}
}

// rateMeter measures the recent copy rate from samples of the rows copied, taken every second by
// the observe loop and read by any goroutine (the status line, the socket, the hooks).
type rateMeter struct {
	samples []rateSample  // oldest first, spanning about rateWindow; the observe loop's only
	bits    atomic.Uint64 // the rate in rows/s, as float64 bits
}

type rateSample struct {
	at     time.Time
	copied int64
}

// rateWindow is how far back the rate looks: long enough to smooth out chunk-to-chunk jitter, short
// enough to follow a throttle, a retuned chunk size or a change of load within seconds.
const rateWindow = 10 * time.Second

// add records that copied rows had been copied at at.
func (m *rateMeter) add(at time.Time, copied int64) {
	m.samples = append(m.samples, rateSample{at, copied})
	for len(m.samples) > 2 && at.Sub(m.samples[1].at) >= rateWindow {
		m.samples = m.samples[1:]
	}
	first := m.samples[0]
	if d := at.Sub(first.at); d > 0 {
		m.bits.Store(math.Float64bits(float64(copied-first.copied) / d.Seconds()))
	}
}

// rate is the recent rate in rows/s; 0 before two samples.
func (m *rateMeter) rate() float64 { return math.Float64frombits(m.bits.Load()) }

// watchRetention warns while a resume is still possible that it may soon not be: the server purges
// binary logs older than its retention, and a resume needs them from the checkpoint on.
func (r *run) watchRetention(ctx context.Context) {
	applied := r.applier.AppliedTime()
	if applied.IsZero() || !r.cfg.Checkpoint {
		return
	}
	keep, err := dbconn.BinlogRetention(ctx, r.s.inspect)
	if err != nil || keep <= 0 {
		return
	}
	if age := time.Since(applied); age > keep/2 {
		r.log().Warn("the binary logs a resume would need are getting old: the server purges them after its retention, and then doppel can no longer resume this run",
			zap.Duration("needed_since", age.Round(time.Second)), zap.Duration("retention", keep))
	}
}

// feedMetrics passes the counters and gauges that are not recorded where they happen.
func (r *run) feedMetrics(ctx context.Context, sent *[binlog.Delete + 1][2]int64) {
	m := r.cfg.Metrics
	if m == nil {
		return
	}
	received, applied := r.applier.ByKind()
	for k := binlog.Insert; k <= binlog.Delete; k++ {
		m.AddEventsReceived(k.String(), int(received[k]-sent[k][0]))
		m.AddEventsApplied(k.String(), int(applied[k]-sent[k][1]))
		sent[k] = [2]int64{received[k], applied[k]}
	}
	m.SetBacklog(r.applier.Received() - r.applier.Applied())
	m.SetChunkSize(r.copier.ChunkSize())
	for replica, lag := range r.throttle.ReplicaLags() {
		m.SetReplicaLag(replica, lag.Seconds())
	}
	if lag := r.binlogLag.Load(); lag > 0 {
		if bytes, err := r.binlogBytesBehind(ctx); err == nil {
			m.SetBinlogLag(bytes, time.Duration(lag).Seconds())
		}
	}
}

// binlogBytesBehind is how many bytes of binlog the apply loop still has to go through.
func (r *run) binlogBytesBehind(ctx context.Context) (int64, error) {
	now, err := dbconn.ReadBinlogStatus(ctx, r.s.inspect, r.s.flavor)
	if err != nil {
		return 0, err
	}
	applied := r.applier.Position()
	return dbconn.BinlogDistance(ctx, r.s.inspect, applied.File, uint64(applied.Pos), now.File, now.Pos)
}
