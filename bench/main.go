// Command bench measures doppel against the server's own ALTER TABLE … ALGORITHM=COPY, side by side
// in one run on one sandbox (`make bench`; not part of `make test`). On a sysbench-like table of
// --rows rows it times:
//
//   - the native ALTER TABLE … ALGORITHM=COPY (it blocks writes while it runs);
//   - doppel on an idle table, with its secondary indexes deferred (the default) and kept;
//   - doppel under a steady write load, with the load's latency before, during and after the
//     migration and its longest stall.
//
// Each measurement gets a fresh copy of the table, and starts once the replica has caught up. It
// prints a table of wall times, rows/s, ratios to the native ALTER and doppel's peak RSS, and writes
// the same as JSON.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

type options struct {
	doppel     string
	rows       int
	rate       float64
	alter      string
	out        string
	bufferPool string
	settle     time.Duration
	extra      string
}

func main() {
	var o options
	flag.StringVar(&o.doppel, "doppel", "bin/doppel", "the doppel binary to measure")
	flag.IntVar(&o.rows, "rows", 2_000_000, "rows in the table")
	flag.Float64Var(&o.rate, "rate", 200, "write transactions per second of the load")
	flag.StringVar(&o.alter, "alter", "ADD COLUMN extra INT NULL, ADD INDEX idx_extra_k (k, extra)", "the ALTER to measure")
	flag.StringVar(&o.out, "out", "bench.json", "where to write the results as JSON")
	flag.StringVar(&o.bufferPool, "buffer-pool", "2G", "innodb_buffer_pool_size of the sandbox servers")
	flag.DurationVar(&o.settle, "load-phase", 10*time.Second, "how long the load runs before and after the migration")
	flag.StringVar(&o.extra, "doppel-args", "", "more doppel flags, space-separated")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Result is one measurement.
type Result struct {
	Name        string  `json:"name"`
	Seconds     float64 `json:"seconds"`
	RowsPerSec  float64 `json:"rows_per_sec"`
	VsNative    float64 `json:"vs_native"`
	PeakRSSMiB  float64 `json:"peak_rss_mib,omitempty"`
	BlockedMs   float64 `json:"cutover_blocked_ms,omitempty"`
	BlocksAll   bool    `json:"blocks_writes,omitempty"`
	Load        *Load   `json:"load,omitempty"`
	DoppelLines string  `json:"-"`
}

// Load is the write load's latency in the three phases of the loaded run.
type Load struct {
	Rate         float64 `json:"rate"`
	Before       Latency `json:"before"`
	During       Latency `json:"during"`
	After        Latency `json:"after"`
	LongestStall float64 `json:"longest_stall_ms"`
	// CutOverStall is the longest transaction running within a second of the swap.
	CutOverStall  float64 `json:"cutover_stall_ms"`
	Committed     int64   `json:"committed"`
	Failed        int64   `json:"failed"`
	OracleMatches bool    `json:"oracle_matches"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50, P95, P99, Max float64
	Count              int64
}

// Report is everything the run measured.
type Report struct {
	Date     string   `json:"date"`
	Server   string   `json:"server"`
	Rows     int      `json:"rows"`
	Alter    string   `json:"alter"`
	CPUs     int      `json:"cpus"`
	Results  []Result `json:"results"`
	Topology string   `json:"topology"`
}

const (
	schema = "bench"
	base   = "sbtest_base"
)

func say(format string, args ...any) { fmt.Printf("bench: "+format+"\n", args...) }

func run(ctx context.Context, o options) error {
	if _, err := os.Stat(o.doppel); err != nil {
		return fmt.Errorf("the doppel binary %s: %w (run make build)", o.doppel, err)
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{BufferPool: o.bufferPool})
	if err != nil {
		return err
	}
	defer func() {
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}()
	db, err := sb.CreateDatabase(ctx, schema)
	if err != nil {
		return err
	}
	defer db.Close()
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Server: sb.Flavor.Name() + " " + sb.Flavor.Version().String(),
		Rows: o.rows, Alter: o.alter, CPUs: cpus(), Topology: "primary + replica; doppel with --allow-on-master"}
	say("%s, %d rows, ALTER %s", rep.Server, o.rows, o.alter)
	start := time.Now()
	if err := loadgen.CreateSysbench(ctx, db, sb.Flavor.Name(), base, o.rows); err != nil {
		return err
	}
	if err := sb.WaitReplica(ctx); err != nil {
		return err
	}
	say("loaded the table in %s", time.Since(start).Round(time.Second))

	b := &bench{o: o, sb: sb, db: db}
	native, err := b.native(ctx)
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, native)
	for _, m := range []struct {
		name string
		args []string
		load bool
	}{
		{"doppel, idle", nil, false},
		{"doppel, idle, indexes kept during the copy", []string{"--defer-secondary-indexes=false"}, false},
		{fmt.Sprintf("doppel, under %.0f writes/s", o.rate), nil, true},
	} {
		r, err := b.doppelRun(ctx, m.name, m.args, m.load)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		r.VsNative = r.Seconds / native.Seconds
		rep.Results = append(rep.Results, r)
	}
	printReport(os.Stdout, rep)
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(js, '\n'), 0o644); err != nil {
		return err
	}
	say("wrote %s", o.out)
	return nil
}

type bench struct {
	o   options
	sb  *sandbox.Sandbox
	db  *sql.DB
	seq int
}

// fresh makes a new copy of the base table and waits until the replica has it too, so that every
// measurement starts from the same state.
func (b *bench) fresh(ctx context.Context) (string, error) {
	b.seq++
	name := fmt.Sprintf("sbtest%d", b.seq)
	for _, q := range []string{"CREATE TABLE " + name + " LIKE " + base, "INSERT INTO " + name + " SELECT * FROM " + base} {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("copying the base table: %w", err)
		}
	}
	return name, b.sb.WaitReplica(ctx)
}

func (b *bench) native(ctx context.Context) (Result, error) {
	name, err := b.fresh(ctx)
	if err != nil {
		return Result{}, err
	}
	say("native ALTER TABLE … ALGORITHM=COPY")
	start := time.Now()
	if _, err := b.db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(name)+" "+b.o.alter+", ALGORITHM=COPY"); err != nil {
		return Result{}, err
	}
	took := time.Since(start)
	say("  %s", took.Round(time.Millisecond))
	if err := b.sb.WaitReplica(ctx); err != nil {
		return Result{}, err
	}
	return Result{Name: "native ALTER TABLE … ALGORITHM=COPY", Seconds: took.Seconds(), RowsPerSec: float64(b.o.rows) / took.Seconds(), VsNative: 1, BlocksAll: true}, nil
}

// doppelRun migrates a fresh copy with the doppel binary; with load, a write load runs before,
// during and after, mirrored into an oracle that is checked at the end.
func (b *bench) doppelRun(ctx context.Context, name string, args []string, withLoad bool) (Result, error) {
	tbl, err := b.fresh(ctx)
	if err != nil {
		return Result{}, err
	}
	var oracle string
	if withLoad {
		oracle = tbl + "_oracle"
		for _, q := range []string{"CREATE TABLE " + oracle + " LIKE " + base, "INSERT INTO " + oracle + " SELECT * FROM " + base} {
			if _, err := b.db.ExecContext(ctx, q); err != nil {
				return Result{}, err
			}
		}
		if err := b.sb.WaitReplica(ctx); err != nil {
			return Result{}, err
		}
	}
	say("%s", name)
	p := b.sb.Primary.Config()
	cmdArgs := append([]string{
		"--host=" + p.Host, fmt.Sprintf("--port=%d", p.Port), "--user=" + p.User, "--allow-on-master",
		"--database=" + schema, "--table=" + tbl, "--alter=" + b.o.alter, "--execute", "--ok-to-drop-table",
		"--status-interval=5s", "--throttle-additional-flag-file=", "--serve-socket-file=/tmp/doppel-bench.sock",
	}, args...)
	if b.o.extra != "" {
		cmdArgs = append(cmdArgs, strings.Fields(b.o.extra)...)
	}
	var load *phasedLoad
	if withLoad {
		if load, err = startLoad(ctx, b.db, tbl, oracle, b.o.rate); err != nil {
			return Result{}, err
		}
		if err := load.phase(ctx, b.o.settle); err != nil { // before
			return Result{}, err
		}
	}
	cmd := exec.CommandContext(ctx, b.o.doppel, cmdArgs...)
	var logs strings.Builder
	cmd.Stdout = &logs
	cmd.Stderr = io.MultiWriter(&logs, prefixed{})
	start := time.Now()
	runErr := cmd.Run()
	took := time.Since(start)
	if runErr != nil {
		if load != nil {
			_ = load.stop() // doppel's failure is the one to report
		}
		return Result{}, fmt.Errorf("doppel failed: %w\n%s", runErr, logs.String())
	}
	r := Result{Name: name, Seconds: took.Seconds(), RowsPerSec: float64(b.o.rows) / took.Seconds()}
	// doppel reports its own peak memory: the child's rusage would also count what this process
	// held when it started doppel.
	r.PeakRSSMiB = summaryFigure(logs.String(), "peak memory ", "MiB")
	r.BlockedMs = summaryFigure(logs.String(), "table blocked ", "")
	say("  %s, peak RSS %.0f MiB", took.Round(time.Millisecond), r.PeakRSSMiB)
	if load != nil {
		load.cut()                                          // during
		if err := load.phase(ctx, b.o.settle); err != nil { // after
			return Result{}, err
		}
		r.Load, err = load.finish(ctx, b.db, tbl, oracle, b.o.alter, swapTime(logs.String()))
		if err != nil {
			return Result{}, err
		}
		r.Load.Rate = b.o.rate
	}
	return r, b.sb.WaitReplica(ctx)
}

// prefixed echoes doppel's log lines, indented, so a long run shows its progress.
type prefixed struct{}

func (prefixed) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		fmt.Println("    | " + l)
	}
	return len(p), nil
}

// swapTime reads when doppel logged the swap ("... INFO tables swapped ...", console format).
func swapTime(out string) time.Time {
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "tables swapped") {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 {
			if t, err := time.Parse("2006-01-02T15:04:05.000Z0700", f[0]); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// summaryFigure reads a figure from doppel's summary line: the number after label, in MiB when
// unit is "MiB", else a duration returned in milliseconds.
func summaryFigure(out, label, unit string) float64 {
	i := strings.Index(out, label)
	if i < 0 {
		return 0
	}
	f := strings.Fields(out[i+len(label):])
	if len(f) == 0 {
		return 0
	}
	text := strings.TrimRight(f[0], ".,")
	if unit == "MiB" {
		v, _ := strconv.ParseFloat(text, 64)
		return v
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0
	}
	return float64(d) / float64(time.Millisecond)
}

func cpus() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

func printReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\n%s, %d rows, %d CPUs, %s\nALTER %s\n\n", rep.Server, rep.Rows, rep.CPUs, rep.Topology, rep.Alter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\twall\trows/s\tvs native\tpeak RSS\tcut-over blocked")
	for _, r := range rep.Results {
		rss, blocked := "", ""
		if r.PeakRSSMiB > 0 {
			rss = fmt.Sprintf("%.0f MiB", r.PeakRSSMiB)
		}
		if r.BlockedMs > 0 {
			blocked = fmt.Sprintf("%.0f ms", r.BlockedMs)
		}
		if r.BlocksAll {
			blocked = "the whole ALTER"
		}
		fmt.Fprintf(tw, "%s\t%.2fs\t%.0f\t%.2fx\t%s\t%s\n", r.Name, r.Seconds, r.RowsPerSec, r.VsNative, rss, blocked)
	}
	tw.Flush()
	for _, r := range rep.Results {
		if r.Load == nil {
			continue
		}
		l := r.Load
		fmt.Fprintf(w, "\nwrite load at %.0f tx/s (%d committed, %d failed; migrated table = oracle: %v)\n", l.Rate, l.Committed, l.Failed, l.OracleMatches)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "phase\ttx\tp50\tp95\tp99\tmax")
		for _, p := range []struct {
			name string
			l    Latency
		}{{"before", l.Before}, {"during", l.During}, {"after", l.After}} {
			fmt.Fprintf(tw, "%s\t%d\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\n", p.name, p.l.Count, p.l.P50, p.l.P95, p.l.P99, p.l.Max)
		}
		tw.Flush()
		fmt.Fprintf(w, "longest stall during the migration: %.0f ms; around the cut-over: %.0f ms; p95 during / before: %.2fx\n",
			l.LongestStall, l.CutOverStall, l.During.P95/l.Before.P95)
	}
}
