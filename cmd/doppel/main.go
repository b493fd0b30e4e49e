// Command doppel changes the schema of a live MySQL or MariaDB table without blocking it: it copies
// the table into a ghost table with the new schema while replaying every change from the binlog,
// then swaps the two atomically.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/metrics"
	"github.com/doppel-sql/doppel/migration"
)

// serveMetrics serves /metrics and /healthz on addr for the whole run and puts the collectors in
// cfg. The port is bound at once, so a port in use stops doppel before it changes anything.
func serveMetrics(ctx context.Context, addr string, cfg *migration.Config) (stop func(), err error) {
	reg := metrics.NewRegistry()
	m, err := metrics.New(reg, cfg.Database, cfg.Table, migration.States()...)
	if err != nil {
		return nil, err
	}
	cfg.Health = &migration.Health{}
	srv, err := metrics.Listen(addr, reg, cfg.Health.Check)
	if err != nil {
		return nil, fmt.Errorf("--metrics-address: %w", err)
	}
	cfg.Metrics = m
	return serveUntilStopped(ctx, srv, cfg.Logger), nil
}

// serveUntilStopped serves srv until stop is called, beyond ctx's end: the last figures stay
// readable while the run winds down.
func serveUntilStopped(ctx context.Context, srv *metrics.Server, log *zap.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx); err != nil {
			log.Warn("the metrics server stopped", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("address", srv.Addr().String()))
	return func() { cancel(); <-done }
}

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := cloneArgs(os.Args[1:])
	hideSecretArgs(os.Args[1:])
	code := run(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit code: 0 when the table was swapped (or, without
// --execute, could be), 1 when the migration failed or was refused, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "plan":
			return runPlan(ctx, args[1:], stdout, stderr)
		case "ctl":
			return runCtl(ctx, args[1:], stdout, stderr)
		case "migrate":
			return runMigrate(ctx, args[1:], stdout, stderr)
		case "backfill":
			return runBackfill(ctx, args[1:], stdout, stderr)
		}
	}
	fs, o := newFlagSet(stderr)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flagHelp) {
			writeHelp(stdout, fs)
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	if o.help {
		writeHelp(stdout, fs)
		return 0
	}
	if o.checkFlag {
		return 0 // every flag given exists: Parse would have failed otherwise
	}
	if o.version {
		fmt.Fprintln(stdout, "doppel", version)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "doppel: unexpected argument %q (flags take the form --name=value)\n", fs.Arg(0))
		return 2
	}
	// On a terminal, a live progress bar replaces the periodic status line; logs scroll above it.
	var bar *progressBar
	logOut := stderr
	if f, ok := stderr.(*os.File); ok && isTerminal(f) && o.logFormat != "json" {
		bar = &progressBar{w: stderr}
		logOut = bar
		defer bar.Close()
	}
	logger, err := newLogger(logOut, o.logFormat, o.debug, o.quiet)
	if err != nil {
		fmt.Fprintln(stderr, "doppel:", err)
		return 2
	}
	defer func() { _ = logger.Sync() }()
	cfg, err := o.config(fs)
	if err != nil {
		fmt.Fprintln(stderr, "doppel:", err)
		return 2
	}
	for _, note := range o.notes {
		logger.Info(note)
	}
	cfg.Logger = logger
	cfg.Out = stdout
	if bar != nil {
		cfg.OnProgress = bar.Update
	}
	cfg.Failpoint = failpointFromEnv(stderr)
	if o.metricsAddress != "" {
		stopMetrics, err := serveMetrics(ctx, o.metricsAddress, &cfg)
		if err != nil {
			fmt.Fprintln(stderr, "doppel:", err)
			return 1
		}
		defer stopMetrics()
	}
	if len(o.tables) > 1 || len(o.alters) > 1 {
		return runGroup(ctx, o, cfg, logger, stdout, stderr)
	}
	res, err := migration.Run(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		logger.Error("migration failed", zap.Error(err))
		fmt.Fprintf(stderr, "doppel: %v\n", err)
		// Say what became of the table only when it is known; a refusal says nothing was created.
		switch {
		case migration.Swapped(err):
			fmt.Fprintf(stderr, "doppel: the tables were swapped: %s is the migrated table.\n", sqlbuild.QualifiedName(cfg.Database, cfg.Table))
		case migration.Untouched(err) && !migration.IsRefusal(err):
			fmt.Fprintf(stderr, "doppel: the original table %s is untouched.\n", sqlbuild.QualifiedName(cfg.Database, cfg.Table))
		}
		return 1
	}
	if res.DryRun {
		return 0
	}
	if res.Instant {
		fmt.Fprintf(stdout, "doppel: altered %s natively with ALGORITHM=INSTANT in %s; no copy was needed.\n",
			sqlbuild.QualifiedName(cfg.Database, cfg.Table), res.Duration.Round(time.Millisecond))
		return 0
	}
	if res.Reverted {
		fmt.Fprintf(stdout, "doppel: reverted %s in %s: %s swapped back in, %d changes replayed into it, table blocked %s at the revert's cut-over, peak memory %.0f MiB.\n",
			sqlbuild.QualifiedName(cfg.Database, cfg.Table), res.Duration.Round(time.Millisecond), cfg.OldTable, res.ChangesApplied,
			res.CutOver.Blocked.Round(time.Millisecond), peakRSSMiB())
	} else {
		fmt.Fprintf(stdout, "doppel: migrated %s in %s: %d rows copied, %d changes replayed, table blocked %s at the cut-over, peak memory %.0f MiB.\n",
			sqlbuild.QualifiedName(cfg.Database, cfg.Table), res.Duration.Round(time.Millisecond), res.RowsCopied, res.ChangesApplied,
			res.CutOver.Blocked.Round(time.Millisecond), peakRSSMiB())
	}
	if w := res.Window; w != nil && w.Reverted {
		fmt.Fprintf(stdout, "doppel: reverted in the revert window: the original table is back, %d changes made since the swap replayed into it; table blocked %s at the revert's cut-over (%s at the migration's).\n",
			w.ChangesApplied, w.CutOver.Blocked.Round(time.Millisecond), res.CutOver.Blocked.Round(time.Millisecond))
	} else if w != nil {
		fmt.Fprintf(stdout, "doppel: the revert window closed without a revert (%d changes replayed into the old table meanwhile).\n", w.ChangesApplied)
	}
	if v := res.Verified; v != nil {
		fmt.Fprintf(stdout, "doppel: verified before the swap: %d rows compared in %d chunks", v.Rows, v.Chunks)
		if v.Repaired > 0 {
			fmt.Fprintf(stdout, ", %d chunks re-copied", v.Repaired)
		}
		if len(v.Converted) > 0 {
			fmt.Fprintf(stdout, "; compared after the server's own conversion: %s", strings.Join(v.Converted, ", "))
		}
		fmt.Fprintln(stdout, ".")
	}
	fmt.Fprintf(stdout, "doppel: phases: %s.\n", phaseTimes(res.Phases))
	if rh := res.Rehearsal; rh != nil {
		fmt.Fprintf(stdout, "doppel: rehearsal report (what the run on the primary will cost): %s\n", rehearsalReport(res))
		fmt.Fprintf(stdout, "doppel: rehearsal done: the tables were swapped and swapped back; %s is the original, %s the migrated table.\n",
			sqlbuild.QualifiedName(cfg.Database, cfg.Table), sqlbuild.QualifiedName(cfg.Database, rh.Migrated))
		if rh.ReplicationStopped {
			fmt.Fprintln(stdout, "doppel: replication is stopped on this replica so that you can compare them; drop the migrated table and START SLAVE (START REPLICA) when done.")
		}
	}
	if res.OldTable != "" {
		kept := "the original table"
		if res.Reverted || (res.Window != nil && res.Window.Reverted) {
			kept = "the migrated table"
		}
		fmt.Fprintf(stdout, "doppel: %s is kept as %s; drop it when you no longer need it (doppel --revert --old-table=%s swaps it back in while the binlogs since last).\n",
			kept, sqlbuild.QualifiedName(cfg.Database, res.OldTable), res.OldTable)
	}
	return 0
}

// phaseTimes says how long each phase took: "check 40ms, prepare 12ms, copy 17.2s, …".
func phaseTimes(phases []migration.PhaseTime) string {
	parts := make([]string, len(phases))
	for i, p := range phases {
		parts[i] = p.Phase + " " + p.Duration.Round(time.Millisecond).String()
	}
	return strings.Join(parts, ", ")
}

// parseFlags parses args without the flag package's own output: a bad flag is one line (the
// closest known flag for an unknown one), never the whole usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	usage := fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		return errors.New(unknownFlag(fs, name))
	}
	return fmt.Errorf("doppel: %s (doppel --help lists every flag)", strings.Replace(err.Error(), " -", " --", 1))
}

// rehearsalReport sums up a --test-on-replica run in one line: the copy's time and rate, the
// rehearsed replica's peak lag, the changes replayed, the verification and the cut-over's blocked
// time.
func rehearsalReport(res *migration.Result) string {
	var copyTime time.Duration
	for _, p := range res.Phases {
		if p.Phase == "copy" {
			copyTime += p.Duration
		}
	}
	rate := "-"
	if copyTime > 0 {
		rate = fmt.Sprintf("%.0f rows/s", float64(res.RowsCopied)/copyTime.Seconds())
	}
	verified := "not verified (--checksum=false)"
	if v := res.Verified; v != nil {
		verified = fmt.Sprintf("verified equal (%d rows, %d chunks re-copied)", v.Rows, v.Repaired)
	}
	return fmt.Sprintf("copy %d rows in %s (%s); peak replica lag %s; %d changes replayed; %s; cut-over blocked %s",
		res.RowsCopied, copyTime.Round(time.Millisecond), rate, res.PeakLag.Round(time.Millisecond),
		res.ChangesApplied, verified, res.CutOver.Blocked.Round(time.Millisecond))
}
