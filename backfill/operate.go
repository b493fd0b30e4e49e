package backfill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/control"
)

// errNotHere answers the migration's commands a backfill has no use for.
func errNotHere(what string) error {
	return fmt.Errorf("a backfill has no %s: this command is for a migration", what)
}

// handlers binds gh-ost's interactive commands: status, the throttle and its settings,
// chunk-size and panic act as in a migration; the binlog's and the cut-over's answer that a
// backfill has none.
func (b *backfill) handlers() control.Handlers {
	th := b.throttle
	str := func(get func() string, set func(string) error) control.Setting[string] {
		return control.Setting[string]{Get: get, Set: set}
	}
	onPrimary := func(set func(context.Context, string) error) func(string) error {
		return func(v string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return set(ctx, v)
		}
	}
	return control.Handlers{
		Status:      b.statusText,
		Sup:         b.statusLine,
		Coordinates: func() (string, error) { return "", errNotHere("binary log coordinates") },
		Applier:     func() (string, error) { return b.primaryCfg.Addr(), nil },
		Inspector:   func() (string, error) { return b.cfg.Conn.Addr(), nil },
		ChunkSize: control.Setting[int64]{Get: b.chunkMax.Load, Set: func(n int64) error {
			if n < MinChunkSize || n > MaxChunkSize {
				return fmt.Errorf("chunk-size %d is out of range: use %d to %d", n, MinChunkSize, MaxChunkSize)
			}
			b.chunkMax.Store(n)
			b.log.Info("chunk-size changed", zap.Int64("chunk_size", n))
			return nil
		}},
		DMLBatchSize: control.Setting[int64]{Get: func() int64 { return 0 }, Set: func(int64) error { return errNotHere("binlog replay") }},
		MaxLagMillis: control.Setting[int64]{Get: func() int64 { return th.MaxLag().Milliseconds() }, Set: func(ms int64) error {
			return th.SetMaxLag(time.Duration(ms) * time.Millisecond)
		}},
		NiceRatio:               control.Setting[float64]{Get: th.NiceRatio, Set: th.SetNiceRatio},
		MaxLoad:                 str(th.MaxLoad, onPrimary(th.SetMaxLoad)),
		CriticalLoad:            str(th.CriticalLoad, onPrimary(th.SetCriticalLoad)),
		ThrottleQuery:           str(th.ThrottleQuery, onPrimary(th.SetThrottleQuery)),
		ThrottleHTTP:            str(th.ThrottleHTTP, th.SetThrottleHTTP),
		ThrottleControlReplicas: str(th.ControlReplicas, th.SetControlReplicas),
		PostponeCutOverFlagFile: str(func() string { return "" }, func(string) error { return errNotHere("cut-over") }),
		Throttle: func() (string, error) {
			th.SetUserThrottle(true)
			return "throttled by the operator: no chunk runs until no-throttle", nil
		},
		NoThrottle: func() (string, error) {
			th.SetUserThrottle(false)
			return "operator throttle lifted", nil
		},
		Unpostpone:      func() (string, error) { return "", errNotHere("cut-over") },
		Revert:          func() (string, error) { return "", errNotHere("revert window") },
		EndRevertWindow: func() (string, error) { return "", errNotHere("revert window") },
		Panic: func() (string, error) {
			b.log.Warn("panic command received: stopping the backfill after the chunk in flight; --resume continues it")
			b.abort(ErrPanic)
			return "stopping: every chunk committed stays, and --resume continues after it", nil
		},
	}
}

// progress is a snapshot of the figures the status is made of.
type progress struct {
	scanned, estimated, affected, chunks int64
	percent                              float64
	eta                                  time.Duration // < 0: unknown
	throttled                            string        // the reason, "" when not throttled
}

func (b *backfill) snapshot() progress {
	p := progress{scanned: b.scanned.Load(), estimated: b.estimated.Load(), affected: b.affected.Load(), chunks: b.chunks.Load(), eta: -1}
	if b.done.Load() {
		p.estimated, p.eta = p.scanned, 0
	}
	// The estimate is the server's: never show more than 100 % nor an ETA below 0.
	p.estimated = max(p.estimated, p.scanned)
	if p.estimated > 0 {
		p.percent = 100 * float64(p.scanned) / float64(p.estimated)
	}
	if elapsed := time.Since(b.start); p.eta < 0 && p.scanned > b.scanned0 && elapsed > time.Second {
		rate := float64(p.scanned-b.scanned0) / elapsed.Seconds()
		p.eta = time.Duration(float64(p.estimated-p.scanned) / rate * float64(time.Second))
	}
	if b.throttle != nil {
		if on, reason := b.throttle.Check(); on {
			p.throttled = reason
		}
	}
	return p
}

// statusLine is the one-line status (sup, and the log's status line).
func (b *backfill) statusLine() string {
	p := b.snapshot()
	eta := "unknown"
	if p.eta >= 0 {
		eta = p.eta.Round(time.Second).String()
	}
	line := fmt.Sprintf("backfill %s: %d/%d rows (%.1f%%), %d affected, %d chunks, chunk size %d, elapsed %s, ETA %s",
		b.qtable, p.scanned, p.estimated, p.percent, p.affected, p.chunks, b.nextSizeNoMetric(), time.Since(b.start).Round(time.Second), eta)
	if p.throttled != "" {
		line += "; throttled: " + p.throttled
	}
	return line
}

func (b *backfill) nextSizeNoMetric() int64 {
	if b.cfg.ChunkTarget > 0 {
		return max(1, min(b.chunkSize.Load(), b.chunkMax.Load()))
	}
	return b.chunkMax.Load()
}

// statusText is the full status: the line, the statement and the throttle's settings.
func (b *backfill) statusText() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# %s\n", b.statusLine())
	fmt.Fprintf(&s, "# statement: %s\n", b.stmt.Text)
	fmt.Fprintf(&s, "# key: %s; checkpoint: %s row %s\n", keyLabel(b.key), b.ckpt.Qualified(), b.hint())
	th := b.throttle
	fmt.Fprintf(&s, "# max-lag-millis: %d; max-load: %q; critical-load: %q; nice-ratio: %v; throttle-query: %q; throttle-control-replicas: %q\n",
		th.MaxLag().Milliseconds(), th.MaxLoad(), th.CriticalLoad(), th.NiceRatio(), th.ThrottleQuery(), th.ControlReplicas())
	for addr, lag := range th.ReplicaLags() {
		fmt.Fprintf(&s, "# replica %s: lag %.3fs\n", addr, lag.Seconds())
	}
	return s.String()
}

func (b *backfill) logStatus() { b.log.Info(b.statusLine()) }

// observe updates the metrics every second and logs the status every StatusInterval, until ctx
// ends.
func (b *backfill) observe(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastStatus := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := b.snapshot()
		b.cfg.Metrics.SetRowsEstimated(p.estimated)
		b.cfg.Metrics.SetETA(p.eta)
		for addr, lag := range b.throttle.ReplicaLags() {
			b.cfg.Metrics.SetReplicaLag(addr, lag.Seconds())
		}
		if time.Since(lastStatus) >= b.cfg.StatusInterval {
			b.logStatus()
			lastStatus = time.Now()
		}
	}
}
