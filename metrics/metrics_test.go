package metrics

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time for the tests.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Unix(1_700_000_000, 0)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// labels is the label set of a series of shop.orders, plus the label pairs kv.
func labels(kv ...string) map[string]string {
	m := map[string]string{"database": "shop", "table": "orders"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// newTestMetrics returns the metrics of shop.orders on a registry of their own, on a fake clock.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry, *clock) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, "shop", "orders", "validating", "preparing", "copying", "failed")
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	m.now = c.now
	return m, reg, c
}

// value returns the value of the series name{want} and whether it exists. The labels must match
// exactly, so a series without database and table is not found. For a histogram, name_count and
// name_sum read its count and sum.
func value(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		part := strings.TrimPrefix(name, mf.GetName())
		if part != "" && (mf.GetType() != dto.MetricType_HISTOGRAM || (part != "_count" && part != "_sum")) {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !sameLabels(m.GetLabel(), want) {
				continue
			}
			switch {
			case part == "_count":
				return float64(m.GetHistogram().GetSampleCount()), true
			case part == "_sum":
				return m.GetHistogram().GetSampleSum(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			}
			t.Fatalf("%s: unexpected metric type %s", name, mf.GetType())
		}
	}
	return 0, false
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}

func TestMethods(t *testing.T) {
	type series struct {
		name   string
		labels map[string]string
		want   float64
		absent bool
	}
	tests := []struct {
		name string
		do   func(m *Metrics, c *clock)
		want []series
	}{
		{
			name: "no state set yet",
			do:   func(*Metrics, *clock) {},
			want: []series{
				{name: "doppel_state", labels: labels("state", "copying"), want: 0},
				{name: "doppel_state", labels: labels("state", "failed"), want: 0},
				{name: "doppel_binlog_events_received_total", labels: labels("type", "delete"), want: 0},
				{name: "doppel_binlog_events_applied_total", labels: labels("type", "insert"), want: 0},
				{name: "doppel_throttled_seconds_total", labels: labels(), want: 0},
				{name: "doppel_eta_seconds", labels: labels(), absent: true},
				{name: "doppel_binlog_lag_bytes", labels: labels(), absent: true},
				{name: "doppel_binlog_lag_seconds", labels: labels(), absent: true},
				{name: "doppel_checksum_done_rows", labels: labels(), absent: true},
				{name: "doppel_checksum_total_rows", labels: labels(), absent: true},
			},
		},
		{
			name: "SetState marks only the current phase and when it began",
			do: func(m *Metrics, c *clock) {
				m.SetState("preparing")
				c.advance(90 * time.Second)
				m.SetState("copying")
			},
			want: []series{
				{name: "doppel_state", labels: labels("state", "preparing"), want: 0},
				{name: "doppel_state", labels: labels("state", "copying"), want: 1},
				{name: "doppel_state", labels: labels("state", "validating"), want: 0},
				{name: "doppel_state_start_time_seconds", labels: labels(), want: 1_700_000_090},
			},
		},
		{
			name: "SetState again in the same phase keeps its start time",
			do: func(m *Metrics, c *clock) {
				m.SetState("copying")
				c.advance(time.Minute)
				m.SetState("copying")
			},
			want: []series{
				{name: "doppel_state", labels: labels("state", "copying"), want: 1},
				{name: "doppel_state_start_time_seconds", labels: labels(), want: 1_700_000_000},
			},
		},
		{
			name: "SetState with a phase not known in advance",
			do: func(m *Metrics, _ *clock) {
				m.SetState("copying")
				m.SetState("verifying")
			},
			want: []series{
				{name: "doppel_state", labels: labels("state", "verifying"), want: 1},
				{name: "doppel_state", labels: labels("state", "copying"), want: 0},
			},
		},
		{
			name: "SetRowsEstimated",
			do:   func(m *Metrics, _ *clock) { m.SetRowsEstimated(1_000_000) },
			want: []series{{name: "doppel_copy_estimated_rows", labels: labels(), want: 1_000_000}},
		},
		{
			name: "ObserveChunk counts rows and times chunks",
			do: func(m *Metrics, _ *clock) {
				m.ObserveChunk(20*time.Millisecond, 1000)
				m.ObserveChunk(30*time.Millisecond, 500)
			},
			want: []series{
				{name: "doppel_copy_rows_total", labels: labels(), want: 1500},
				{name: "doppel_copy_chunk_duration_seconds_count", labels: labels(), want: 2},
				{name: "doppel_copy_chunk_duration_seconds_sum", labels: labels(), want: 0.05},
			},
		},
		{
			name: "ObserveChunk ignores a negative row count rather than panicking",
			do:   func(m *Metrics, _ *clock) { m.ObserveChunk(time.Millisecond, -1) },
			want: []series{
				{name: "doppel_copy_rows_total", labels: labels(), want: 0},
				{name: "doppel_copy_chunk_duration_seconds_count", labels: labels(), want: 1},
			},
		},
		{
			name: "SetChunkSize",
			do:   func(m *Metrics, _ *clock) { m.SetChunkSize(2000) },
			want: []series{{name: "doppel_copy_chunk_size_rows", labels: labels(), want: 2000}},
		},
		{
			name: "AddEventsReceived by type",
			do: func(m *Metrics, _ *clock) {
				m.AddEventsReceived("update", 3)
				m.AddEventsReceived("update", 2)
				m.AddEventsReceived("insert", 1)
			},
			want: []series{
				{name: "doppel_binlog_events_received_total", labels: labels("type", "update"), want: 5},
				{name: "doppel_binlog_events_received_total", labels: labels("type", "insert"), want: 1},
				{name: "doppel_binlog_events_received_total", labels: labels("type", "delete"), want: 0},
				{name: "doppel_binlog_events_applied_total", labels: labels("type", "update"), want: 0},
			},
		},
		{
			name: "AddEventsApplied by type",
			do:   func(m *Metrics, _ *clock) { m.AddEventsApplied("delete", 7) },
			want: []series{
				{name: "doppel_binlog_events_applied_total", labels: labels("type", "delete"), want: 7},
				{name: "doppel_binlog_events_received_total", labels: labels("type", "delete"), want: 0},
			},
		},
		{
			name: "ObserveApplyBatch",
			do:   func(m *Metrics, _ *clock) { m.ObserveApplyBatch(5 * time.Millisecond) },
			want: []series{
				{name: "doppel_apply_batch_duration_seconds_count", labels: labels(), want: 1},
				{name: "doppel_apply_batch_duration_seconds_sum", labels: labels(), want: 0.005},
			},
		},
		{
			name: "SetBacklog",
			do:   func(m *Metrics, _ *clock) { m.SetBacklog(42) },
			want: []series{{name: "doppel_binlog_backlog_events", labels: labels(), want: 42}},
		},
		{
			name: "SetBinlogLag",
			do:   func(m *Metrics, _ *clock) { m.SetBinlogLag(4096, 1.5) },
			want: []series{
				{name: "doppel_binlog_lag_bytes", labels: labels(), want: 4096},
				{name: "doppel_binlog_lag_seconds", labels: labels(), want: 1.5},
			},
		},
		{
			name: "SetReplicaLag per replica",
			do: func(m *Metrics, _ *clock) {
				m.SetReplicaLag("r1:3306", 2.5)
				m.SetReplicaLag("r2:3306", 0.25)
				m.SetReplicaLag("r1:3306", 3)
			},
			want: []series{
				{name: "doppel_replica_lag_seconds", labels: labels("replica", "r1:3306"), want: 3},
				{name: "doppel_replica_lag_seconds", labels: labels("replica", "r2:3306"), want: 0.25},
			},
		},
		{
			name: "SetThrottled",
			do:   func(m *Metrics, _ *clock) { m.SetThrottled("replica-lag") },
			want: []series{{name: "doppel_throttled", labels: labels("reason", "replica-lag"), want: 1}},
		},
		{
			name: "SetThrottled with another reason moves the 1",
			do: func(m *Metrics, _ *clock) {
				m.SetThrottled("replica-lag")
				m.SetThrottled("flag-file")
			},
			want: []series{
				{name: "doppel_throttled", labels: labels("reason", "replica-lag"), want: 0},
				{name: "doppel_throttled", labels: labels("reason", "flag-file"), want: 1},
			},
		},
		{
			name: "SetThrottled without a reason",
			do:   func(m *Metrics, _ *clock) { m.SetThrottled("") },
			want: []series{{name: "doppel_throttled", labels: labels("reason", "unknown"), want: 1}},
		},
		{
			name: "SetNotThrottled",
			do: func(m *Metrics, _ *clock) {
				m.SetThrottled("load")
				m.SetNotThrottled()
			},
			want: []series{{name: "doppel_throttled", labels: labels("reason", "load"), want: 0}},
		},
		{
			name: "AddCutOverAttempt",
			do: func(m *Metrics, _ *clock) {
				m.AddCutOverAttempt()
				m.AddCutOverAttempt()
			},
			want: []series{{name: "doppel_cutover_attempts_total", labels: labels(), want: 2}},
		},
		{
			name: "ObserveCutOverLock",
			do:   func(m *Metrics, _ *clock) { m.ObserveCutOverLock(40 * time.Millisecond) },
			want: []series{
				{name: "doppel_cutover_lock_duration_seconds_count", labels: labels(), want: 1},
				{name: "doppel_cutover_lock_duration_seconds_sum", labels: labels(), want: 0.04},
			},
		},
		{
			name: "revert cut-over",
			do: func(m *Metrics, _ *clock) {
				m.AddRevertCutOverAttempt()
				m.ObserveRevertCutOverLock(20 * time.Millisecond)
			},
			want: []series{
				{name: "doppel_revert_cutover_attempts_total", labels: labels(), want: 1},
				{name: "doppel_revert_cutover_lock_duration_seconds_count", labels: labels(), want: 1},
				{name: "doppel_revert_cutover_lock_duration_seconds_sum", labels: labels(), want: 0.02},
				{name: "doppel_cutover_attempts_total", labels: labels(), want: 0},
			},
		},
		{
			name: "SetChecksumProgress",
			do:   func(m *Metrics, _ *clock) { m.SetChecksumProgress(10, 100) },
			want: []series{
				{name: "doppel_checksum_done_rows", labels: labels(), want: 10},
				{name: "doppel_checksum_total_rows", labels: labels(), want: 100},
			},
		},
		{
			name: "SetETA",
			do:   func(m *Metrics, _ *clock) { m.SetETA(90 * time.Second) },
			want: []series{{name: "doppel_eta_seconds", labels: labels(), want: 90}},
		},
		{
			name: "SetETAUnknown removes the ETA",
			do: func(m *Metrics, _ *clock) {
				m.SetETA(90 * time.Second)
				m.SetETAUnknown()
			},
			want: []series{{name: "doppel_eta_seconds", labels: labels(), absent: true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, reg, c := newTestMetrics(t)
			tc.do(m, c)
			for _, s := range tc.want {
				got, ok := value(t, reg, s.name, s.labels)
				switch {
				case s.absent && ok:
					t.Errorf("%s%v = %v, want no series", s.name, s.labels, got)
				case !s.absent && !ok:
					t.Errorf("%s%v: no such series", s.name, s.labels)
				case !s.absent && math.Abs(got-s.want) > 1e-9:
					t.Errorf("%s%v = %v, want %v", s.name, s.labels, got, s.want)
				}
			}
		})
	}
}

// The throttled time grows while the copy is throttled, not only when it resumes, and a change of
// reason does not start a new period.
func TestThrottledSeconds(t *testing.T) {
	m, reg, c := newTestMetrics(t)
	steps := []struct {
		name    string
		do      func()
		advance time.Duration
		want    float64
	}{
		{name: "never throttled", do: func() {}, advance: 10 * time.Second, want: 0},
		{name: "throttled for 2s", do: func() { m.SetThrottled("replica-lag") }, advance: 2 * time.Second, want: 2},
		{name: "same reason again", do: func() { m.SetThrottled("replica-lag") }, advance: time.Second, want: 3},
		{name: "another reason", do: func() { m.SetThrottled("load") }, advance: 3 * time.Second, want: 6},
		{name: "released", do: m.SetNotThrottled, advance: time.Minute, want: 6},
		{name: "released twice", do: m.SetNotThrottled, advance: time.Second, want: 6},
		{name: "throttled again", do: func() { m.SetThrottled("flag-file") }, advance: 500 * time.Millisecond, want: 6.5},
	}
	for _, s := range steps {
		s.do()
		c.advance(s.advance)
		got, _ := value(t, reg, "doppel_throttled_seconds_total", labels())
		if math.Abs(got-s.want) > 1e-9 {
			t.Fatalf("%s: doppel_throttled_seconds_total = %v, want %v", s.name, got, s.want)
		}
	}
}

// Every method does nothing on a nil *Metrics, so packages can take an optional one. The methods
// are found by reflection, so a method added later is checked too.
func TestNilSafe(t *testing.T) {
	var m *Metrics
	v := reflect.ValueOf(m)
	for i := range v.NumMethod() {
		method := v.Type().Method(i)
		args := make([]reflect.Value, method.Type.NumIn()-1)
		for j := range args {
			args[j] = reflect.Zero(method.Type.In(j + 1))
		}
		t.Run(method.Name, func(t *testing.T) {
			v.Method(i).Call(args)
		})
	}
}

// Several migrations can share a registry; the same table twice is refused, and leaves nothing
// half registered.
func TestSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	orders, err := New(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	users, err := New(reg, "shop", "users")
	if err != nil {
		t.Fatalf("a second table on the same registry: %v", err)
	}
	if _, err := New(reg, "shop", "orders"); err == nil {
		t.Fatal("New accepted shop.orders twice on one registry")
	}
	orders.SetChunkSize(1000)
	users.SetChunkSize(50)
	for table, want := range map[string]float64{"orders": 1000, "users": 50} {
		got, ok := value(t, reg, "doppel_copy_chunk_size_rows", map[string]string{"database": "shop", "table": table})
		if !ok || got != want {
			t.Errorf("chunk size of shop.%s = %v (present %v), want %v", table, got, ok, want)
		}
	}
}

// exercise calls every method once with a value that makes its series exist, as a running
// migration would.
func exercise(m *Metrics) {
	m.SetState("copying")
	m.SetRowsEstimated(1000)
	m.ObserveChunk(10*time.Millisecond, 100)
	m.SetChunkSize(100)
	m.AddEventsReceived("insert", 1)
	m.AddEventsApplied("insert", 1)
	m.ObserveApplyBatch(time.Millisecond)
	m.SetBacklog(0)
	m.SetBinlogLag(100, 0.1)
	m.SetReplicaLag("replica1:3306", 0.5)
	m.SetThrottled("replica-lag")
	m.SetNotThrottled()
	m.AddCutOverAttempt()
	m.ObserveCutOverLock(30 * time.Millisecond)
	m.AddRevertCutOverAttempt()
	m.ObserveRevertCutOverLock(20 * time.Millisecond)
	m.SetChecksumProgress(10, 1000)
	m.SetETAUnknown()
	m.SetETA(time.Minute)
}

// recorder is a Registerer that keeps what is registered, to ask it for its descriptors.
type recorder struct{ c prometheus.Collector }

func (r *recorder) Register(c prometheus.Collector) error { r.c = c; return nil }
func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}
func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// After exercise every metric doppel describes has a series, so the docs and dashboard tests below
// see every metric.
func TestExerciseCoversEveryMetric(t *testing.T) {
	var r recorder
	m, err := New(&r, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	exercise(m)
	descs := make(chan *prometheus.Desc)
	go func() { r.c.Describe(descs); close(descs) }()
	var described []string
	for d := range descs {
		described = append(described, d.String())
	}
	collected := map[string]bool{}
	metrics := make(chan prometheus.Metric)
	go func() { r.c.Collect(metrics); close(metrics) }()
	for mt := range metrics {
		collected[mt.Desc().String()] = true
	}
	if len(described) == 0 {
		t.Fatal("nothing was registered")
	}
	for _, d := range described {
		if !collected[d] {
			t.Errorf("no series after exercise: %s", d)
		}
	}
}

// The methods may be called from many goroutines while Prometheus scrapes (run with -race).
func TestConcurrentUse(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				exercise(m)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if got, _ := value(t, reg, "doppel_cutover_attempts_total", labels()); got != 200 {
		t.Errorf("doppel_cutover_attempts_total = %v, want 200", got)
	}
}

// The names, units and help texts follow Prometheus' conventions.
func TestLint(t *testing.T) {
	m, reg, _ := newTestMetrics(t)
	exercise(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestNewRegistry(t *testing.T) {
	reg := NewRegistry()
	if _, err := New(reg, "shop", "orders", "validating"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", "doppel_state"} {
		if !slices.Contains(names, want) {
			t.Errorf("the registry has no %s", want)
		}
	}
}
