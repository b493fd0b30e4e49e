package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backfill holds the collectors of one backfill (doppel backfill): its own doppel_backfill_…
// series, so a backfill and a migration of the same table can share a registry. Like *Metrics,
// every method is safe on a nil receiver.
type Backfill struct {
	estimated     prometheus.Gauge
	scanned       prometheus.Counter
	affected      prometheus.Counter
	chunkDuration prometheus.Histogram
	chunkSize     prometheus.Gauge
	replicaLag    *prometheus.GaugeVec
	throttled     *prometheus.GaugeVec
	eta           optionalGauge

	mu             sync.Mutex
	throttleReason string // "" while not throttled
}

// NewBackfill creates the metrics of a backfill of database.table and registers them on reg.
func NewBackfill(reg prometheus.Registerer, database, table string) (*Backfill, error) {
	b := &Backfill{
		estimated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doppel_backfill_estimated_rows",
			Help: "Rows of the table the backfill is expected to go through (the server's estimate).",
		}),
		scanned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doppel_backfill_rows_scanned_total",
			Help: "Rows of the table in the key ranges the backfill has done.",
		}),
		affected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doppel_backfill_rows_affected_total",
			Help: "Rows the backfill's statement changed (UPDATE) or inserted (INSERT … SELECT), as the server counts them.",
		}),
		chunkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doppel_backfill_chunk_duration_seconds",
			Help:    "How long one chunk's transaction took, retries included.",
			Buckets: durationBuckets,
		}),
		chunkSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doppel_backfill_chunk_size_rows",
			Help: "The size of the next chunk, in rows of the key.",
		}),
		replicaLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doppel_backfill_replica_lag_seconds",
			Help: "Replication lag of each replica the backfill watches, in seconds.",
		}, []string{"replica"}),
		throttled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doppel_backfill_throttled",
			Help: "1 while the backfill is throttled for this reason, 0 otherwise.",
		}, []string{"reason"}),
		eta: newOptionalGauge("doppel_backfill_eta_seconds",
			"Estimated seconds until the backfill completes. Absent while unknown."),
	}
	all := group{b.estimated, b.scanned, b.affected, b.chunkDuration, b.chunkSize, b.replicaLag, b.throttled, b.eta.vec}
	labels := prometheus.Labels{"database": database, "table": table}
	if err := prometheus.WrapRegistererWith(labels, reg).Register(all); err != nil {
		return nil, fmt.Errorf("registering the backfill metrics of %s.%s: %w", database, table, err)
	}
	return b, nil
}

// SetRowsEstimated records how many rows the backfill is expected to go through.
func (b *Backfill) SetRowsEstimated(rows int64) {
	if b == nil {
		return
	}
	b.estimated.Set(float64(rows))
}

// ObserveChunk records one chunk: how long its transaction took, the rows of its key range and
// the rows the statement affected.
func (b *Backfill) ObserveChunk(d time.Duration, scanned, affected int64) {
	if b == nil {
		return
	}
	b.chunkDuration.Observe(d.Seconds())
	addCount(b.scanned, scanned)
	addCount(b.affected, affected)
}

// SetChunkSize records the size of the next chunk.
func (b *Backfill) SetChunkSize(rows int64) {
	if b == nil {
		return
	}
	b.chunkSize.Set(float64(rows))
}

// SetReplicaLag records the lag of one replica, named by host:port.
func (b *Backfill) SetReplicaLag(replica string, seconds float64) {
	if b == nil {
		return
	}
	b.replicaLag.WithLabelValues(orUnknown(replica)).Set(seconds)
}

// SetThrottled records that the backfill is throttled for reason, a signal's fixed kind
// (replica-lag, max-load, …), as for Metrics.SetThrottled.
func (b *Backfill) SetThrottled(reason string) {
	if b == nil {
		return
	}
	reason = orUnknown(reason)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.throttleReason != "" {
		b.throttled.WithLabelValues(b.throttleReason).Set(0)
	}
	b.throttled.WithLabelValues(reason).Set(1)
	b.throttleReason = reason
}

// SetNotThrottled records that the backfill may proceed again.
func (b *Backfill) SetNotThrottled() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.throttleReason != "" {
		b.throttled.WithLabelValues(b.throttleReason).Set(0)
		b.throttleReason = ""
	}
}

// SetETA records the estimated time until the backfill completes; a negative d removes it
// (unknown).
func (b *Backfill) SetETA(d time.Duration) {
	if b == nil {
		return
	}
	if d < 0 {
		b.eta.clear()
		return
	}
	b.eta.set(d.Seconds())
}
