package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kind tells the ratios which result is which.
type kind string

const (
	kindNativeCopy kind = "native-copy"
	kindNative     kind = "native"
	kindFloor      kind = "floor"
	kindDoppel     kind = "doppel"
	kindGhost      kind = "gh-ost"
	kindPtOSC      kind = "pt-osc"
)

// Result is one measurement.
type Result struct {
	Name string `json:"name"`
	Kind kind   `json:"kind"`
	Rows int    `json:"rows,omitempty"`
	// Seconds is the primary's time: from starting the tool (or the statement) to its end.
	Seconds float64 `json:"seconds"`
	// ReplicaSeconds is from the same start until the replica has applied everything the primary
	// wrote: until the replica has the new table.
	ReplicaSeconds float64 `json:"replica_seconds"`
	RowsPerSec     float64 `json:"rows_per_sec"`
	VsNative       float64 `json:"vs_native_copy,omitempty"`
	VsGhost        float64 `json:"vs_ghost,omitempty"`
	VsIdle         float64 `json:"vs_idle,omitempty"`
	// PeakLagMs is the largest replica lag sampled (every 100 ms) from the start until the replica
	// caught up.
	PeakLagMs float64 `json:"peak_replica_lag_ms"`
	// CPU is CPU seconds spent meanwhile, by process: "primary", "replica" and the tool's.
	CPU        map[string]float64 `json:"cpu_seconds"`
	PeakRSSMiB float64            `json:"peak_rss_mib,omitempty"`
	BlockedMs  float64            `json:"cutover_blocked_ms,omitempty"`
	BlocksAll  bool               `json:"blocks_writes,omitempty"`
	// Phases are doppel's own phase times, as it prints them.
	Phases string `json:"phases,omitempty"`
	Load   *Load  `json:"load,omitempty"`
	Note   string `json:"note,omitempty"`

	timeline *timeline
}

// measurement samples the replica's lag, the servers' CPU and a tool's memory while one
// measurement runs.
type measurement struct {
	b       *bench
	start   time.Time
	cpu0    map[string]float64
	tool    *exec.Cmd
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	peakLag time.Duration
	peakAt  time.Duration // when the peak lag was sampled, after the start
	lags    []sample      // the replica's lag over time
	peakRSS float64       // the tool's VmHWM, MiB
}

type sample struct {
	at    time.Time
	value float64
}

func (b *bench) begin(ctx context.Context) *measurement {
	m := &measurement{b: b, start: time.Now(), cpu0: b.serverCPU(), done: make(chan struct{})}
	ctx, m.stop = context.WithCancel(ctx)
	go m.sample(ctx)
	return m
}

// sample reads the replica's lag from the bench's heartbeat, and the tool's peak memory, every
// 100 ms.
func (m *measurement) sample(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lag, err := m.b.hb.lag(ctx, m.b.db, m.b.replica)
		m.mu.Lock()
		if err == nil {
			if lag > m.peakLag {
				m.peakAt = time.Since(m.start)
			}
			m.peakLag = max(m.peakLag, lag)
			m.lags = append(m.lags, sample{time.Now(), float64(lag) / float64(time.Second)})
		}
		if m.tool != nil && m.tool.Process != nil {
			m.peakRSS = max(m.peakRSS, vmHWM(m.tool.Process.Pid))
		}
		m.mu.Unlock()
	}
}

func (m *measurement) watch(cmd *exec.Cmd) {
	m.mu.Lock()
	m.tool = cmd
	m.mu.Unlock()
}

// end waits for the replica to catch up and fills r's primary-independent figures; primary is
// when the tool ended on the primary.
func (m *measurement) end(ctx context.Context, r *Result, primary time.Time) error {
	r.Seconds = primary.Sub(m.start).Seconds()
	err := m.b.waitReplica(ctx)
	r.ReplicaSeconds = time.Since(m.start).Seconds()
	m.stop()
	<-m.done
	if err != nil {
		return fmt.Errorf("waiting for the replica: %w", err)
	}
	rows := r.Rows
	if rows == 0 {
		rows = m.b.rows
	}
	r.RowsPerSec = float64(rows) / r.Seconds
	r.PeakLagMs = float64(m.peakLag) / float64(time.Millisecond)
	r.CPU = map[string]float64{}
	for name, v := range m.b.serverCPU() {
		r.CPU[name] = v - m.cpu0[name]
	}
	if m.tool != nil && m.tool.ProcessState != nil {
		st := m.tool.ProcessState
		r.CPU["tool"] = (st.UserTime() + st.SystemTime()).Seconds()
	}
	if r.PeakRSSMiB == 0 {
		r.PeakRSSMiB = m.peakRSS
	}
	if r.timeline != nil {
		r.timeline.lags = m.lags
	}
	say("  primary %.2fs, replica %.2fs, peak lag %.2fs at %.1fs; the heartbeat's slowest commit %s", r.Seconds, r.ReplicaSeconds, r.PeakLagMs/1000,
		m.peakAt.Seconds(), m.b.hb.slowest(m.start).Round(time.Millisecond))
	return nil
}

// serverCPU is the CPU seconds each server process has spent so far (/proc/PID/stat).
func (b *bench) serverCPU() map[string]float64 {
	return map[string]float64{"primary": procCPU(b.sb.Primary.PID()), "replica": procCPU(b.sb.Replica.PID())}
}

// procCPU is utime + stime of a process, in seconds; 0 when it cannot be read.
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// vmHWM is a process's peak resident memory in MiB (/proc/PID/status); 0 when it is gone.
func vmHWM(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kib, _ := strconv.ParseFloat(f[0], 64)
				return kib / 1024
			}
		}
	}
	return 0
}

// heartbeat writes the time into a one-row table on the primary every 100 ms; the replica's copy
// of it tells the replica's lag whatever the tool measures for itself. Its commits' latency is a
// baseline of the primary's commit latency.
type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	commit []sample // latency of each write, in seconds
}

func startHeartbeat(ctx context.Context, db *sql.DB) (*heartbeat, error) {
	for _, q := range []string{
		"CREATE TABLE heartbeat (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)",
		"INSERT INTO heartbeat VALUES (1, NOW(6))",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("creating the heartbeat table: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	h := &heartbeat{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			if _, err := db.ExecContext(ctx, "UPDATE heartbeat SET ts = NOW(6) WHERE id = 1"); err == nil {
				h.mu.Lock()
				h.commit = append(h.commit, sample{start, time.Since(start).Seconds()})
				h.mu.Unlock()
			}
		}
	}()
	return h, nil
}

func (h *heartbeat) stop() {
	h.cancel()
	<-h.done
}

// lag is how far the replica's heartbeat is behind the primary's: the time between the last
// heartbeat committed on the primary and the last one applied on the replica, to the heartbeat's
// 100 ms. Comparing the two rows, not the replica's row with the clock, keeps a heartbeat whose
// commit waits on the primary (behind a large transaction's binlog write) from counting as lag.
func (h *heartbeat) lag(ctx context.Context, primary, replica *sql.DB) (time.Duration, error) {
	// Microseconds since a fixed date: no time zone or driver setting involved.
	const q = "SELECT TIMESTAMPDIFF(MICROSECOND, '2000-01-01', ts) FROM heartbeat WHERE id = 1"
	var p, r int64
	if err := primary.QueryRowContext(ctx, q).Scan(&p); err != nil {
		return 0, err
	}
	if err := replica.QueryRowContext(ctx, q).Scan(&r); err != nil {
		return 0, err
	}
	return time.Duration(max(p-r, 0)) * time.Microsecond, nil
}

// commitP95 is the 95th percentile of the heartbeat's commit latency since from.
func (h *heartbeat) commitP95(from time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var v []float64
	for _, s := range h.commit {
		if !s.at.Before(from) {
			v = append(v, s.value)
		}
	}
	return time.Duration(percentile(v, 0.95) * float64(time.Second))
}

// slowest is the heartbeat's slowest commit since from: a writer that stalls makes the replica
// look lagging.
func (h *heartbeat) slowest(from time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var worst float64
	for _, s := range h.commit {
		if !s.at.Before(from) {
			worst = max(worst, s.value)
		}
	}
	return time.Duration(worst * float64(time.Second))
}
