// Command bench measures doppel next to the server's own ALTER TABLE and the other online schema
// change tools, side by side in one run on one sandbox (`make bench`; not part of `make test`). The
// sandbox is a primary and a replica with production durability (innodb_flush_log_at_trx_commit=1,
// sync_binlog=1) unless --durable=false; doppel and gh-ost read the replica's binlog, as they do
// by default in production. On a sysbench-like table of --rows rows it times:
//
//   - the native ALTER TABLE … ALGORITHM=COPY and ALGORITHM=INPLACE (both block or lag: the
//     replica replays them after the primary, serially);
//   - the floor: a plain chunked INSERT … SELECT into the altered copy, what any chunked copy costs;
//   - doppel on an idle table with its defaults, and with --defer-secondary-indexes;
//   - pt-online-schema-change when it is on PATH, gh-ost when --ghost gives its binary;
//   - doppel under a steady write load, and under it with a latency target, with the load's
//     latency before, during (per doppel phase) and after.
//
// For each it reports the primary's time, the time until the replica has the new table, the
// replica's peak lag (a heartbeat sampled every 100 ms), the CPU seconds of each server process and
// of the tool, the tool's peak memory and the cut-over's blocked time; it draws the loaded runs'
// latency and copy progress over time as SVG, and writes everything as JSON. --sizes sweeps table
// sizes instead, to show whether rows per second stay flat as the table grows.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

type options struct {
	doppel     string
	ghost      string
	rows       int
	sizes      string
	rate       float64
	alter      string
	out        string
	svgDir     string
	bufferPool string
	redoLog    string
	settle     time.Duration
	extra      string
	durable    bool
	runs       string
	variants   string
	parallel   int
}

// allRuns are the measurements --runs chooses from, in the order they run.
var allRuns = []string{"native-copy", "native-inplace", "floor", "floor-doppel", "floor-noindex", "floor-nobinlog", "doppel", "doppel-defer", "pt-osc", "gh-ost", "doppel-load", "doppel-latency"}

// defaultRuns are the measurements made without --runs: all but the floor's diagnostics, which
// take the copy apart (what the secondary indexes and the binlog cost) rather than compare tools.
var defaultRuns = slices.DeleteFunc(slices.Clone(allRuns), func(r string) bool { return r == "floor-noindex" || r == "floor-nobinlog" })

func main() {
	var o options
	flag.StringVar(&o.doppel, "doppel", "bin/doppel", "the doppel binary to measure")
	flag.StringVar(&o.ghost, "ghost", "", "a gh-ost binary to measure beside doppel (--chunk-size=10000); empty: no gh-ost")
	flag.IntVar(&o.rows, "rows", 2_000_000, "rows in the table")
	flag.StringVar(&o.sizes, "sizes", "", "a size sweep instead of the side-by-side table: millions of rows, such as 0.5,1,2,4 (doppel's defaults, idle)")
	flag.Float64Var(&o.rate, "rate", 200, "write transactions per second of the load")
	flag.StringVar(&o.alter, "alter", "ADD COLUMN extra INT NULL, ADD INDEX idx_extra_k (k, extra)", "the ALTER to measure")
	flag.StringVar(&o.out, "out", "bench.json", "where to write the results as JSON")
	flag.StringVar(&o.svgDir, "svg-dir", ".", "where to write the pictures of the loaded runs (bench-<run>.svg)")
	flag.StringVar(&o.bufferPool, "buffer-pool", "2G", "innodb_buffer_pool_size of the sandbox servers")
	flag.StringVar(&o.redoLog, "redo-log", "1G", "innodb_log_file_size of the sandbox servers, as production sizes it (empty: the server's default, 96M on MariaDB, whose checkpoints stall durable writes of this volume)")
	flag.DurationVar(&o.settle, "load-phase", 10*time.Second, "how long the load runs before and after the migration")
	flag.StringVar(&o.extra, "doppel-args", "", "more doppel flags for every doppel run, space-separated")
	flag.BoolVar(&o.durable, "durable", true, "production durability: innodb_flush_log_at_trx_commit=1, sync_binlog=1 (=false: 2 and 0, which flatter a chunked copy)")
	flag.StringVar(&o.variants, "doppel-variants", "", "more idle doppel runs after the default one, each with its own flags: \"--chunk-target-ms=500;--copy-workers=2\"")
	flag.IntVar(&o.parallel, "replica-parallel-threads", 0, "slave_parallel_threads of the replica (0, MariaDB's default: it applies serially)")
	flag.StringVar(&o.runs, "runs", strings.Join(defaultRuns, ","), "the measurements to make, of "+strings.Join(allRuns, ","))
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Report is everything the run measured.
type Report struct {
	Date     string   `json:"date"`
	Server   string   `json:"server"`
	Rows     int      `json:"rows"`
	Alter    string   `json:"alter"`
	CPUs     int      `json:"cpus"`
	Settings string   `json:"settings"`
	Topology string   `json:"topology"`
	Results  []Result `json:"results"`
	Sweep    []Result `json:"sweep,omitempty"`
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
	if o.ghost != "" {
		if _, err := os.Stat(o.ghost); err != nil {
			return fmt.Errorf("the gh-ost binary %s: %w", o.ghost, err)
		}
	}
	runs := map[string]bool{}
	for _, r := range strings.Split(o.runs, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(allRuns, r) {
			return fmt.Errorf("--runs: unknown run %q; choose from %s", r, strings.Join(allRuns, ","))
		}
		runs[r] = true
	}
	var sizes []int
	if o.sizes != "" {
		for _, s := range strings.Split(o.sizes, ",") {
			m, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || m <= 0 {
				return fmt.Errorf("--sizes: %q is not a number of millions of rows", s)
			}
			sizes = append(sizes, int(m*1e6))
		}
	}
	settings := "innodb_flush_log_at_trx_commit=1, sync_binlog=1"
	sbOpts := sandbox.Options{BufferPool: o.bufferPool}
	if o.durable {
		// The last of a repeated server option wins: these override the sandbox's own 2 and 0.
		sbOpts.ExtraArgs = []string{"--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1"}
	} else {
		settings = "innodb_flush_log_at_trx_commit=2, sync_binlog=0"
	}
	if o.redoLog != "" {
		sbOpts.ExtraArgs = append(sbOpts.ExtraArgs, "--innodb-log-file-size="+o.redoLog)
		settings += ", innodb_log_file_size=" + o.redoLog
	}
	// Both servers get it; only the replica applies a binlog.
	sbOpts.ExtraArgs = append(sbOpts.ExtraArgs, fmt.Sprintf("--slave-parallel-threads=%d", o.parallel))
	settings += fmt.Sprintf(", replica slave_parallel_threads=%d", o.parallel)
	sb, err := sandbox.Start(ctx, sbOpts)
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
	rdb, err := sb.Replica.DB(schema)
	if err != nil {
		return err
	}
	defer rdb.Close()
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Server: sb.Flavor.Name() + " " + sb.Flavor.Version().String(),
		Rows: o.rows, Alter: o.alter, CPUs: cpus(), Settings: settings + ", innodb_buffer_pool_size=" + o.bufferPool,
		Topology: "primary + replica on this machine; doppel and gh-ost read the replica's binlog, pt-online-schema-change checks its lag"}
	b := &bench{o: o, sb: sb, db: db, replica: rdb}
	hb, err := startHeartbeat(ctx, db)
	if err != nil {
		return err
	}
	defer hb.stop()
	b.hb = hb
	say("%s; %s", rep.Server, rep.Settings)

	if len(sizes) > 0 {
		if rep.Sweep, err = b.sweep(ctx, sizes); err != nil {
			return err
		}
		rep.Rows = 0
	} else {
		if err := b.loadBase(ctx, base, o.rows); err != nil {
			return err
		}
		if rep.Results, err = b.sideBySide(ctx, runs); err != nil {
			return err
		}
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
	o       options
	sb      *sandbox.Sandbox
	db      *sql.DB // the primary
	replica *sql.DB
	hb      *heartbeat
	seq     int
	base    string // the table each measurement copies
	rows    int
}

// loadBase creates the table the measurements copy.
func (b *bench) loadBase(ctx context.Context, name string, rows int) error {
	say("loading %d rows into %s", rows, name)
	start := time.Now()
	if err := loadgen.CreateSysbench(ctx, b.db, b.sb.Flavor.Name(), name, rows); err != nil {
		return err
	}
	if err := b.waitReplica(ctx); err != nil {
		return err
	}
	b.base, b.rows = name, rows
	say("loaded in %s", time.Since(start).Round(time.Second))
	return nil
}

// sideBySide makes the chosen measurements on the base table.
func (b *bench) sideBySide(ctx context.Context, runs map[string]bool) ([]Result, error) {
	var out []Result
	add := func(r Result, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		out = append(out, r)
		return nil
	}
	var idle *Result // doppel's default idle run: the load's runs are compared with it
	for _, name := range allRuns {
		if !runs[name] {
			continue
		}
		var err error
		switch name {
		case "native-copy":
			err = add(b.native(ctx, "COPY"))
		case "native-inplace":
			err = add(b.native(ctx, "INPLACE"))
		case "floor":
			err = add(b.floor(ctx, 10000, floorPlain))
		case "floor-doppel":
			err = add(b.floor(ctx, 10000, floorDoppel))
		case "floor-noindex":
			err = add(b.floor(ctx, 10000, floorNoIndex))
		case "floor-nobinlog":
			err = add(b.floor(ctx, 10000, floorNoBinlog))
		case "doppel":
			err = add(b.doppelRun(ctx, "doppel, defaults", nil, nil))
			if err != nil {
				break
			}
			idle = &out[len(out)-1]
			for _, v := range strings.Split(b.o.variants, ";") {
				if v = strings.TrimSpace(v); v != "" {
					if err = add(b.doppelRun(ctx, "doppel "+v, strings.Fields(v), nil)); err != nil {
						break
					}
				}
			}
		case "doppel-defer":
			err = add(b.doppelRun(ctx, "doppel --defer-secondary-indexes", []string{"--defer-secondary-indexes"}, nil))
		case "pt-osc":
			if _, lerr := exec.LookPath("pt-online-schema-change"); lerr != nil {
				say("pt-online-schema-change is not on PATH: not measured")
				continue
			}
			err = add(b.ptOSC(ctx))
		case "gh-ost":
			if b.o.ghost == "" {
				say("no --ghost: gh-ost not measured")
				continue
			}
			err = add(b.ghost(ctx))
		case "doppel-load":
			err = add(b.doppelRun(ctx, fmt.Sprintf("doppel, under %.0f writes/s", b.o.rate), nil, &loadSpec{rate: b.o.rate, svg: "load"}))
		case "doppel-latency":
			err = add(b.doppelRun(ctx, fmt.Sprintf("doppel --max-commit-latency, under %.0f writes/s", b.o.rate), nil,
				&loadSpec{rate: b.o.rate, svg: "latency-target", latencyTarget: true}))
		}
		if err != nil {
			// One tool failing says something about it, not about the others: report and go on.
			say("FAILED: %v", err)
			out = append(out, Result{Name: name, Note: "failed: " + firstLine(err.Error())})
		}
	}
	relate(out, idle)
	return out, nil
}

// relate fills the ratios: to the native COPY, to gh-ost, and a loaded run's to the idle one.
func relate(results []Result, idle *Result) {
	var native, ghost float64
	for _, r := range results {
		switch r.Kind {
		case kindNativeCopy:
			native = r.Seconds
		case kindGhost:
			ghost = r.Seconds
		}
	}
	for i := range results {
		r := &results[i]
		if native > 0 {
			r.VsNative = r.Seconds / native
		}
		if ghost > 0 {
			r.VsGhost = r.Seconds / ghost
		}
		if r.Load != nil && idle != nil {
			r.VsIdle = r.Seconds / idle.Seconds
		}
	}
}

// sweep runs doppel's defaults, idle, on tables of each size.
func (b *bench) sweep(ctx context.Context, sizes []int) ([]Result, error) {
	var out []Result
	for _, n := range sizes {
		name := fmt.Sprintf("sbtest_base_%d", n)
		if err := b.loadBase(ctx, name, n); err != nil {
			return nil, err
		}
		r, err := b.doppelRun(ctx, fmt.Sprintf("doppel, defaults, %d rows", n), nil, nil)
		if err != nil {
			return nil, err
		}
		r.Rows = n
		out = append(out, r)
		if _, err := b.db.ExecContext(ctx, "DROP TABLE "+name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fresh makes a new copy of the base table and waits until the replica has it too, so that every
// measurement starts from the same state.
func (b *bench) fresh(ctx context.Context) (string, error) {
	b.seq++
	name := fmt.Sprintf("sbtest%d", b.seq)
	for _, q := range []string{"CREATE TABLE " + name + " LIKE " + b.base, "INSERT INTO " + name + " SELECT * FROM " + b.base} {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("copying the base table: %w", err)
		}
	}
	return name, b.quiet(ctx)
}

// quiet waits until the replica has caught up, position and heartbeat.
func (b *bench) quiet(ctx context.Context) error {
	if err := b.waitReplica(ctx); err != nil {
		return err
	}
	return b.settle(ctx)
}

// settle waits until the replica is within 200 ms of the primary's heartbeat. Reaching the
// primary's binlog position as it was is not enough: behind a large copy the replica still has the
// heartbeats written meanwhile to apply, and a measurement starting then would count that lag.
func (b *bench) settle(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		lag, err := b.hb.lag(ctx, b.db, b.replica)
		if err != nil {
			return err
		}
		if lag < 200*time.Millisecond {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the replica still lags %s after five minutes", lag)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// drop removes what a measurement left, so the sandbox's buffer pool and disk stay the same size.
func (b *bench) drop(ctx context.Context, tables ...string) {
	for _, t := range tables {
		if _, err := b.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			say("dropping %s: %v", t, err)
		}
	}
}

// socketPath is a control socket of this bench's own, so that two benches on one machine do not
// share one.
func socketPath(tool string) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("%s-bench-%d.sock", tool, os.Getpid()))
}

func cpus() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

// waitReplica waits until the replica has applied everything the primary wrote, however long:
// the sandbox's own wait gives up after a minute, which a replica replaying a 4,000,000-row copy
// under sync_binlog=1 can take.
func (b *bench) waitReplica(ctx context.Context) error {
	var err error
	for range 30 {
		if err = b.sb.WaitReplica(ctx); err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
