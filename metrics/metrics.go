// Package metrics exports what a migration is doing as Prometheus metrics, named doppel_…, on a
// registry the caller gives. Every series carries the migration's database and table, so several
// migrations can share one Prometheus and one dashboard. docs/metrics.md lists them.
//
// Every method of *Metrics is safe on a nil receiver and does nothing there, so a package can take
// an optional *Metrics and call it without checking.
package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// eventTypes are the kinds of row events, named as binlog.Kind names them.
var eventTypes = []string{"insert", "update", "delete"}

// durationBuckets fit chunk copies, replay batches and cut-over locks alike: a few milliseconds
// when all is well, seconds when the server is busy, 10 s when something is wrong.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics holds the collectors of one migration. Its methods may be called from any goroutine.
type Metrics struct {
	now func() time.Time // replaced in tests

	state          *prometheus.GaugeVec
	stateStartTime prometheus.Gauge

	estimatedRows prometheus.Gauge
	copiedRows    prometheus.Counter
	chunkDuration prometheus.Histogram
	chunkSize     prometheus.Gauge

	eventsReceived *prometheus.CounterVec
	eventsApplied  *prometheus.CounterVec
	applyDuration  prometheus.Histogram
	backlog        prometheus.Gauge
	binlogLagBytes optionalGauge
	binlogLagSecs  optionalGauge
	replicaLag     *prometheus.GaugeVec

	throttled *prometheus.GaugeVec

	cutOverAttempts prometheus.Counter
	cutOverLock     prometheus.Histogram
	// The revert's own cut-over (--revert, --revert-window): the old table swapped back in.
	revertAttempts prometheus.Counter
	revertLock     prometheus.Histogram

	checksumDone  optionalGauge
	checksumTotal optionalGauge
	eta           optionalGauge

	mu              sync.Mutex // guards the fields below, which decide which series read 1
	currentState    string
	throttleReason  string // "" while not throttled
	throttledSince  time.Time
	throttledBefore time.Duration // throttled time of the periods that have ended
}

// New creates the metrics of the migration of database.table and registers them on reg. It fails
// if reg already holds them, for instance from a second Metrics for the same table. states are the
// states the migration goes through (migration.States): their series exist at 0 from the start, so
// a dashboard sees every phase before the run reaches it; a state not given still works, its series
// appears when it is first set.
func New(reg prometheus.Registerer, database, table string, states ...string) (*Metrics, error) {
	m := &Metrics{
		now: time.Now,
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doppel_state",
			Help: "1 for the phase the migration is in, 0 for the others.",
		}, []string{"state"}),
		stateStartTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doppel_state_start_time_seconds",
			Help: "When the current phase began, in seconds since the Unix epoch.",
		}),
		estimatedRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doppel_copy_estimated_rows",
			Help: "How many rows the copy is expected to insert (the server's estimate).",
		}),
		copiedRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doppel_copy_rows_total",
			Help: "Rows the copy has inserted into the ghost table.",
		}),
		chunkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doppel_copy_chunk_duration_seconds",
			Help:    "How long copying one chunk took, retries included.",
			Buckets: durationBuckets,
		}),
		chunkSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doppel_copy_chunk_size_rows",
			Help: "The current chunk size, in rows.",
		}),
		eventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doppel_binlog_events_received_total",
			Help: "Row events of the original table read from the binlog, by type.",
		}, []string{"type"}),
		eventsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doppel_binlog_events_applied_total",
			Help: "Row events of the original table replayed on the ghost table, by type.",
		}, []string{"type"}),
		applyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doppel_apply_batch_duration_seconds",
			Help:    "How long writing one batch of row events to the ghost table took, retries included.",
			Buckets: durationBuckets,
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doppel_binlog_backlog_events",
			Help: "Row events read from the binlog and not yet replayed.",
		}),
		binlogLagBytes: newOptionalGauge("doppel_binlog_lag_bytes",
			"How far the replayed binlog position is behind the server's current one, in bytes. Absent until measured."),
		binlogLagSecs: newOptionalGauge("doppel_binlog_lag_seconds",
			"How far the replay is behind the server, in seconds. Absent until measured."),
		replicaLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doppel_replica_lag_seconds",
			Help: "Replication lag of each replica doppel watches, in seconds.",
		}, []string{"replica"}),
		throttled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doppel_throttled",
			Help: "1 while the copy is throttled for this reason, 0 otherwise.",
		}, []string{"reason"}),
		cutOverAttempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doppel_cutover_attempts_total",
			Help: "Cut-over attempts started.",
		}),
		cutOverLock: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doppel_cutover_lock_duration_seconds",
			Help:    "How long each cut-over attempt kept the original table locked.",
			Buckets: durationBuckets,
		}),
		revertAttempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doppel_revert_cutover_attempts_total",
			Help: "Cut-over attempts of a revert (the old table swapped back in) started.",
		}),
		revertLock: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doppel_revert_cutover_lock_duration_seconds",
			Help:    "How long each cut-over attempt of a revert kept the migrated table locked.",
			Buckets: durationBuckets,
		}),
		checksumDone: newOptionalGauge("doppel_checksum_done_rows",
			"Rows the checksum has compared. Absent unless a checksum runs."),
		checksumTotal: newOptionalGauge("doppel_checksum_total_rows",
			"Rows the checksum is expected to compare. Absent unless a checksum runs."),
		eta: newOptionalGauge("doppel_eta_seconds",
			"Estimated seconds until the copy completes. Absent while unknown."),
	}
	// Series with known label values exist from the start, so rate() and dashboards see them at 0
	// before the first event rather than not at all.
	for _, p := range states {
		m.state.WithLabelValues(p)
	}
	for _, t := range eventTypes {
		m.eventsReceived.WithLabelValues(t)
		m.eventsApplied.WithLabelValues(t)
	}
	throttledSeconds := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "doppel_throttled_seconds_total",
		Help: "Time the copy has spent throttled, growing while it is.",
	}, m.throttledSeconds)

	all := group{
		m.state, m.stateStartTime,
		m.estimatedRows, m.copiedRows, m.chunkDuration, m.chunkSize,
		m.eventsReceived, m.eventsApplied, m.applyDuration, m.backlog,
		m.binlogLagBytes.vec, m.binlogLagSecs.vec, m.replicaLag,
		m.throttled, throttledSeconds,
		m.cutOverAttempts, m.cutOverLock, m.revertAttempts, m.revertLock,
		m.checksumDone.vec, m.checksumTotal.vec, m.eta.vec,
	}
	// One Register call: it either registers everything or nothing.
	labels := prometheus.Labels{"database": database, "table": table}
	if err := prometheus.WrapRegistererWith(labels, reg).Register(all); err != nil {
		return nil, fmt.Errorf("registering the metrics of %s.%s: %w", database, table, err)
	}
	return m, nil
}

// SetState records the phase the migration entered (migration.State's String()).
func (m *Metrics) SetState(state string) {
	if m == nil {
		return
	}
	state = orUnknown(state) // "" is how this type says "no state yet"
	m.mu.Lock()
	defer m.mu.Unlock()
	if state == m.currentState {
		return
	}
	if m.currentState != "" {
		m.state.WithLabelValues(m.currentState).Set(0)
	}
	m.state.WithLabelValues(state).Set(1)
	m.currentState = state
	m.stateStartTime.Set(unixSeconds(m.now()))
}

// SetRowsEstimated records how many rows the copy is expected to insert. Once the copy is done,
// setting it to the rows copied makes the progress exactly 100 %.
func (m *Metrics) SetRowsEstimated(rows int64) {
	if m == nil {
		return
	}
	m.estimatedRows.Set(float64(rows))
}

// ObserveChunk records one copied chunk: how long it took and how many rows it inserted.
func (m *Metrics) ObserveChunk(d time.Duration, rows int64) {
	if m == nil {
		return
	}
	m.chunkDuration.Observe(d.Seconds())
	addCount(m.copiedRows, rows)
}

// SetChunkSize records the chunk size in rows, when the run starts and whenever it changes.
func (m *Metrics) SetChunkSize(rows int64) {
	if m == nil {
		return
	}
	m.chunkSize.Set(float64(rows))
}

// AddEventsReceived counts n row events of the given type (insert, update, delete) read from the
// binlog for the original table.
func (m *Metrics) AddEventsReceived(eventType string, n int) {
	if m == nil {
		return
	}
	addCount(m.eventsReceived.WithLabelValues(orUnknown(eventType)), int64(n))
}

// AddEventsApplied counts n row events of the given type that are now replayed on the ghost table,
// counted before a batch collapses several changes of one row into one write.
func (m *Metrics) AddEventsApplied(eventType string, n int) {
	if m == nil {
		return
	}
	addCount(m.eventsApplied.WithLabelValues(orUnknown(eventType)), int64(n))
}

// ObserveApplyBatch records how long writing one batch to the ghost table took.
func (m *Metrics) ObserveApplyBatch(d time.Duration) {
	if m == nil {
		return
	}
	m.applyDuration.Observe(d.Seconds())
}

// SetBacklog records how many row events have been read from the binlog and not yet replayed.
func (m *Metrics) SetBacklog(events int64) {
	if m == nil {
		return
	}
	m.backlog.Set(float64(events))
}

// SetBinlogLag records how far the replay is behind the server: in bytes of binlog between the
// replayed position and the server's current one, and in seconds.
func (m *Metrics) SetBinlogLag(bytes int64, seconds float64) {
	if m == nil {
		return
	}
	m.binlogLagBytes.set(float64(bytes))
	m.binlogLagSecs.set(seconds)
}

// SetReplicaLag records the replication lag of one replica, named by host:port.
func (m *Metrics) SetReplicaLag(replica string, seconds float64) {
	if m == nil {
		return
	}
	m.replicaLag.WithLabelValues(orUnknown(replica)).Set(seconds)
}

// SetThrottled records that the copy is throttled, and why; calling it again with another reason
// changes the reason without ending the throttled period. The reason is the kind of signal
// (replica-lag, max-load, flag-file, …), not the message logged: every distinct value is a series
// of its own, so a message with a lag or a time in it would make a new series at every change.
func (m *Metrics) SetThrottled(reason string) {
	if m == nil {
		return
	}
	reason = orUnknown(reason) // "" is how this type says "not throttled"
	m.mu.Lock()
	defer m.mu.Unlock()
	if reason == m.throttleReason {
		return
	}
	if m.throttleReason == "" {
		m.throttledSince = m.now()
	} else {
		m.throttled.WithLabelValues(m.throttleReason).Set(0)
	}
	m.throttled.WithLabelValues(reason).Set(1)
	m.throttleReason = reason
}

// SetNotThrottled records that the copy may proceed again.
func (m *Metrics) SetNotThrottled() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.throttleReason == "" {
		return
	}
	m.throttledBefore += m.now().Sub(m.throttledSince)
	m.throttled.WithLabelValues(m.throttleReason).Set(0)
	m.throttleReason = ""
}

// throttledSeconds is read at every scrape, so the total includes the period still going on: a
// copy throttled for an hour shows an hour, not zero until it resumes.
func (m *Metrics) throttledSeconds() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	total := m.throttledBefore
	if m.throttleReason != "" {
		total += m.now().Sub(m.throttledSince)
	}
	return total.Seconds()
}

// AddCutOverAttempt counts a cut-over attempt as it starts.
func (m *Metrics) AddCutOverAttempt() {
	if m == nil {
		return
	}
	m.cutOverAttempts.Inc()
}

// ObserveCutOverLock records how long one cut-over attempt, successful or not, kept the original
// table locked: the stall the application saw.
func (m *Metrics) ObserveCutOverLock(d time.Duration) {
	if m == nil {
		return
	}
	m.cutOverLock.Observe(d.Seconds())
}

// AddRevertCutOverAttempt counts a revert's cut-over attempt as it starts.
func (m *Metrics) AddRevertCutOverAttempt() {
	if m == nil {
		return
	}
	m.revertAttempts.Inc()
}

// ObserveRevertCutOverLock records how long one cut-over attempt of a revert kept the migrated
// table locked.
func (m *Metrics) ObserveRevertCutOverLock(d time.Duration) {
	if m == nil {
		return
	}
	m.revertLock.Observe(d.Seconds())
}

// SetChecksumProgress records how many rows the checksum has compared, of how many.
func (m *Metrics) SetChecksumProgress(done, total int64) {
	if m == nil {
		return
	}
	m.checksumDone.set(float64(done))
	m.checksumTotal.set(float64(total))
}

// SetETA records the estimated time until the copy completes.
func (m *Metrics) SetETA(d time.Duration) {
	if m == nil {
		return
	}
	m.eta.set(d.Seconds())
}

// SetETAUnknown removes the ETA: when there is no recent copy rate (or no copy), doppel exports no
// value rather than a wrong one. An absent series is also what Grafana shows as "unknown", where a
// NaN would break max() and comparisons.
func (m *Metrics) SetETAUnknown() {
	if m == nil {
		return
	}
	m.eta.clear()
}

// addCount adds n to a counter. A negative n is a caller's bug; dropping it is better than the
// panic a counter raises, which would stop the migration for a metric.
func addCount(c prometheus.Counter, n int64) {
	if n > 0 {
		c.Add(float64(n))
	}
}

// orUnknown keeps label values non-empty: Prometheus reads an empty label as no label at all.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// optionalGauge is a gauge that is absent from /metrics until it is set, and again after clear: a
// value doppel does not know is left out rather than exported as 0. It is a vector without labels,
// whose only series exists only while set.
type optionalGauge struct{ vec *prometheus.GaugeVec }

func newOptionalGauge(name, help string) optionalGauge {
	return optionalGauge{prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, nil)}
}

func (g optionalGauge) set(v float64) { g.vec.WithLabelValues().Set(v) }
func (g optionalGauge) clear()        { g.vec.Reset() }

// group registers several collectors as one.
type group []prometheus.Collector

func (cs group) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

func (cs group) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}
