// Command soak is `make soak`: one long migration under a write load. It starts a throwaway primary
// and replica, loads a sysbench table of a few million rows and an oracle copy, and runs doppel on
// it for the whole duration (the cut-over is postponed until the end, so after the copy doppel
// keeps replaying, as a migration waiting for its operator does), throttling it from the socket for
// 10 s every 30 s. Every minute it prints doppel's resident memory, heap, goroutines, state, the
// replay's backlog and how old the last checkpoint is, read from doppel's own /metrics and its
// changelog table. At the end it releases the cut-over and compares the table with the oracle
// altered natively, row by row. It fails when a row differs or memory or goroutines grow after the
// copy.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

type options struct {
	doppel   string
	rows     int
	duration time.Duration
	rate     float64
}

const (
	schema = "soak"
	tbl    = "sbtest1"
	oracle = "sbtest1_oracle"
	alter  = "ADD COLUMN extra INT NULL, ADD INDEX idx_extra_k (k, extra)"
)

func main() {
	var o options
	flag.StringVar(&o.doppel, "doppel", "bin/doppel", "the doppel binary to run")
	flag.IntVar(&o.rows, "rows", 3_000_000, "rows in the table")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "how long doppel runs before the cut-over is released")
	flag.Float64Var(&o.rate, "rate", 200, "write transactions per second")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Printf("soak: "+format+"\n", args...) }

func run(ctx context.Context, o options) error {
	if _, err := os.Stat(o.doppel); err != nil {
		return fmt.Errorf("the doppel binary %s: %w (run make build)", o.doppel, err)
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{BufferPool: "1G"})
	if err != nil {
		return err
	}
	defer func() {
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "soak: stopping the sandbox:", err)
		}
	}()
	db, err := sb.CreateDatabase(ctx, schema)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := loadgen.CreateSysbench(ctx, db, sb.Flavor.Name(), tbl, o.rows); err != nil {
		return err
	}
	for _, q := range []string{"CREATE TABLE " + oracle + " LIKE " + tbl, "INSERT INTO " + oracle + " SELECT * FROM " + tbl} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := sb.WaitReplica(ctx); err != nil {
		return err
	}
	say("%s %s: %d rows and the oracle loaded in %s", sb.Flavor.Name(), sb.Flavor.Version(), o.rows, time.Since(start).Round(time.Second))

	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: tbl, Oracle: oracle, Workers: 4, Rate: o.rate})
	if err != nil {
		return err
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan error, 1)
	go func() { loadDone <- gen.Run(loadCtx) }()

	dir, err := os.MkdirTemp("", "soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	postpone, socket := filepath.Join(dir, "postpone"), filepath.Join(dir, "s.sock")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	metricsAddr := l.Addr().String()
	l.Close()
	r := sb.Replica.Config()
	cmd := exec.CommandContext(ctx, o.doppel, "--host="+r.Host, "--port="+strconv.Itoa(r.Port), "--user="+r.User,
		"--database="+schema, "--table="+tbl, "--alter="+alter, "--execute",
		"--postpone-cut-over-flag-file="+postpone, "--serve-socket-file="+socket, "--metrics-address="+metricsAddr,
		"--throttle-additional-flag-file="+filepath.Join(dir, "none"), "--status-interval=1m")
	logs, err := os.Create(filepath.Join(dir, "doppel.log"))
	if err != nil {
		return err
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	migStart := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	// exited is closed when doppel has exited; waitErr is then its exit.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	samples, err := watch(ctx, o, db, socket, metricsAddr, exited)
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		out, _ := os.ReadFile(logs.Name())
		return fmt.Errorf("%w (%w)\n%s", err, waitErr, lastLines(string(out), 20))
	}
	if err := os.Remove(postpone); err != nil {
		return err
	}
	<-exited
	if err := waitErr; err != nil {
		out, _ := os.ReadFile(logs.Name())
		return fmt.Errorf("doppel: %w\n%s", err, lastLines(string(out), 20))
	}
	took := time.Since(migStart)
	time.Sleep(time.Second)
	stopLoad()
	if err := <-loadDone; err != nil {
		return err
	}
	st := gen.Stats()
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(oracle)+" "+alter); err != nil {
		return fmt.Errorf("the native ALTER on the oracle: %w", err)
	}
	cmpErr := loadgen.Compare(ctx, db, schema, tbl, oracle, []string{"id"})
	printSamples(samples)
	say("doppel ran %s; the load committed %d transactions (%d failed, %d saw the table and the oracle disagree)", took.Round(time.Second), st.Committed, st.Failed, st.Divergent)
	if cmpErr != nil {
		return fmt.Errorf("the migrated table differs from the oracle: %w", cmpErr)
	}
	say("the migrated table equals the oracle altered natively, row by row")
	if st.Divergent > 0 {
		return errors.New("the load saw the table and the oracle disagree")
	}
	return flat(samples)
}

// sample is one minute's reading of doppel.
type sample struct {
	at                     time.Duration
	state                  string
	rssMiB, heapMiB        float64
	goroutines             float64
	backlog                float64
	checkpointAge          time.Duration
	copiedRows, copyTarget float64
}

// watch samples doppel every minute and toggles the operator's throttle, until the duration ends.
func watch(ctx context.Context, o options, db *sql.DB, socket, metricsAddr string, exited <-chan struct{}) ([]sample, error) {
	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	var samples []sample
	nextSample := start.Add(time.Minute)
	for time.Since(start) < o.duration {
		select {
		case <-ctx.Done():
			return samples, ctx.Err()
		case <-exited:
			return samples, errors.New("doppel exited before the end of the soak")
		case <-tick.C:
		}
		// Throttled by the operator for 10 s of every 30.
		phase := int(time.Since(start)/time.Second) % 30
		command := ""
		switch {
		case phase < 5:
			command = "throttle"
		case phase >= 10 && phase < 15:
			command = "no-throttle"
		}
		if command != "" {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, _ = control.Send(cctx, "unix", socket, command)
			cancel()
		}
		if time.Now().After(nextSample) {
			nextSample = nextSample.Add(time.Minute)
			s, err := read(ctx, db, metricsAddr)
			if err != nil {
				return samples, err
			}
			s.at = time.Since(start)
			samples = append(samples, s)
			say("%s: %s, RSS %.0f MiB, heap %.0f MiB, %0.f goroutines, backlog %.0f, checkpoint %s old",
				s.at.Round(time.Minute), s.state, s.rssMiB, s.heapMiB, s.goroutines, s.backlog, s.checkpointAge.Round(time.Second))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = control.Send(cctx, "unix", socket, "no-throttle")
	return samples, nil
}

// read scrapes doppel's /metrics and reads its checkpoint's time.
func read(ctx context.Context, db *sql.DB, metricsAddr string) (sample, error) {
	var s sample
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		base, labels, _ := strings.Cut(name, "{")
		switch base {
		case "process_resident_memory_bytes":
			s.rssMiB = v / (1 << 20)
		case "go_memstats_heap_inuse_bytes":
			s.heapMiB = v / (1 << 20)
		case "go_goroutines":
			s.goroutines = v
		case "doppel_binlog_backlog_events":
			s.backlog = v
		case "doppel_copy_rows_total":
			s.copiedRows = v
		case "doppel_copy_estimated_rows":
			s.copyTarget = v
		case "doppel_state":
			if v == 1 {
				if _, st, ok := strings.Cut(labels, `state="`); ok {
					s.state, _, _ = strings.Cut(st, `"`)
				}
			}
		}
	}
	var micros int64
	q := "SELECT TIMESTAMPDIFF(MICROSECOND, last_update, NOW(6)) FROM " + sqlbuild.QuoteIdent(table.ChangelogName(tbl)) + " WHERE hint = 'checkpoint'"
	if err := db.QueryRowContext(ctx, q).Scan(&micros); err == nil {
		s.checkpointAge = time.Duration(micros) * time.Microsecond
	}
	return s, sc.Err()
}

func printSamples(samples []sample) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "minute\tstate\tRSS MiB\theap MiB\tgoroutines\tbacklog\tcheckpoint age\t")
	for _, s := range samples {
		fmt.Fprintf(w, "%d\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t\n", int(s.at/time.Minute), s.state, s.rssMiB, s.heapMiB, s.goroutines, s.backlog, s.checkpointAge.Round(time.Second))
	}
	w.Flush()
}

// flat fails when memory or goroutines grow once the copy is done: a leak in the replay, the
// throttler or the socket would show there.
func flat(samples []sample) error {
	var after []sample
	for _, s := range samples {
		if s.state != "copying" && s.state != "" {
			after = append(after, s)
		}
	}
	if len(after) < 3 {
		return nil
	}
	first, last := after[0], after[len(after)-1]
	if last.rssMiB > first.rssMiB*1.5+20 || last.goroutines > first.goroutines+10 {
		return fmt.Errorf("doppel grew while it replayed: RSS %.0f → %.0f MiB, goroutines %.0f → %.0f", first.rssMiB, last.rssMiB, first.goroutines, last.goroutines)
	}
	say("flat after the copy: RSS %.0f → %.0f MiB, goroutines %.0f → %.0f over %s", first.rssMiB, last.rssMiB, first.goroutines, last.goroutines, (last.at - first.at).Round(time.Minute))
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
