package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/backfill"
	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/migration"
	"github.com/doppel-sql/doppel/workflow"
)

// migrateFlags are the flags of doppel migrate besides doppel's own, which its online steps use.
type migrateFlags struct {
	dir, historyTable, output, testHost string
	onlineThreshold                     string
	statementLockWait                   time.Duration
	statementRetries                    int
	deployLockWait                      time.Duration
	allowDataLoss                       bool
}

const migrateUsage = `doppel migrate runs a directory of versioned migrations: golang-migrate's 0001_name.up.sql and
0001_name.down.sql, or Flyway's V1__name.sql and U1__name.sql. Each statement runs the best way: instant
changes natively, ALTERs of big tables through doppel's online copy, backfills in chunks, the rest natively.

Usage:
  doppel migrate --dir=DIR --database=DB [connection flags] COMMAND [N]

Commands:
  status          which migrations are applied, pending, changed or failed
  validate        read every file, compare checksums with the history; exit 1 on any problem
  plan [N]        the pre-flight report of the next N (all) pending migrations; --output=json for CI.
                  Exit 0 safe, 1 needs care, 2 refused, 3 error
  up [N]          apply the next N (all) pending migrations (with --execute; without it, the plan)
  down [N]        revert the last N (1) applied migrations with their down scripts (with --execute)
  repair          remove failed runs and record edited checksums in the history (with --execute)
  test            run every pending migration up, down, up on a throwaway server holding the current
                  schema; fails when a down does not restore it exactly

--host is the primary. doppel's own flags (throttling, hooks, socket, checkpoint; doppel --help) apply
to the online steps. docs/migrations.md has worked examples.

Flags of doppel migrate:
`

// runMigrate is `doppel migrate`. Its exit codes: 0 done, 1 failed or refused, 2 a bad command line;
// `plan` exits like doppel plan (0 safe, 1 needs care, 2 refused, 3 error).
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := newFlagSet(stderr)
	fs.Init("doppel migrate", flag.ContinueOnError)
	mf := &migrateFlags{}
	fs.StringVar(&mf.dir, "dir", "", "the directory of migration files (required)")
	fs.StringVar(&mf.historyTable, "history-table", workflow.DefaultHistoryTable, "the history table, in --database, or db.table")
	fs.StringVar(&mf.output, "output", "text", "text or json (plan, status)")
	fs.StringVar(&mf.onlineThreshold, "online-threshold", "32MiB", "ALTERs of tables at least this large (data and indexes; B, KiB, MiB, GiB) run through the online copy, unless instant")
	fs.DurationVar(&mf.statementLockWait, "statement-lock-wait", 5*time.Second, "a native statement waits at most this long for a table's lock (lock_wait_timeout), then is retried")
	fs.IntVar(&mf.statementRetries, "statement-retries", 20, "attempts of a native statement that timed out waiting for a lock")
	fs.DurationVar(&mf.deployLockWait, "deploy-lock-wait", 10*time.Minute, "how long to wait for another deployer of the same database to finish")
	fs.BoolVar(&mf.allowDataLoss, "allow-data-loss", false, "accept up scripts that lose data (DROP TABLE, DROP COLUMN, narrowed types); down scripts may always")
	fs.StringVar(&mf.testHost, "test-host", "", "for test: a server host:port (same user and password) to test on, instead of a throwaway sandbox")
	ours := map[string]bool{"dir": true, "history-table": true, "output": true, "online-threshold": true, "statement-lock-wait": true, "statement-retries": true, "deploy-lock-wait": true, "allow-data-loss": true, "test-host": true, "database": true, "execute": true}
	fs.Usage = func() {
		fmt.Fprint(stdout, migrateUsage)
		fs.VisitAll(func(f *flag.Flag) {
			if ours[f.Name] {
				writeFlag(stdout, f)
			}
		})
	}
	// Flags may come before and after the command: "--dir=m up 2 --execute".
	var rest []string
	for {
		if err := parseFlags(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.Usage()
				return 0
			}
			fmt.Fprintln(stderr, err)
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.help || len(rest) == 0 {
		fs.Usage()
		if len(rest) == 0 && !o.help {
			return 2
		}
		return 0
	}
	command, n, err := migrateCommand(rest)
	if err == nil && (o.table != "" || o.alter != "") {
		err = errors.New("doppel migrate: --table and --alter are for one ALTER; migrate reads its statements from --dir")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	threshold, err := parseSize(mf.onlineThreshold)
	threshold = max(threshold, 1) // 0: every ALTER that is not instant runs online
	if err != nil {
		fmt.Fprintf(stderr, "doppel migrate: --online-threshold: %v\n", err)
		return 2
	}
	fail := 1
	if command == "plan" {
		fail = 3
	}
	logger, err := newLogger(stderr, o.logFormat, o.debug, o.quiet)
	if err != nil {
		fmt.Fprintln(stderr, "doppel migrate:", err)
		return 2
	}
	defer func() { _ = logger.Sync() }()
	base, err := o.config(fs)
	if err != nil {
		fmt.Fprintln(stderr, "doppel migrate:", err)
		return 2
	}
	base.Logger, base.Out, base.Execute = logger, stdout, true
	// The migrations run on --host, the primary: so do their online steps.
	base.AllowOnMaster = base.AllowOnMaster || (!base.MigrateOnReplica && !base.TestOnReplica && base.AssumeMasterHost == "")
	db, err := dbconn.Open(base.Conn, o.database)
	if err != nil {
		fmt.Fprintln(stderr, "doppel migrate:", err)
		return fail
	}
	defer db.Close()
	cfg := workflow.Config{
		DB: db, Database: o.database, Dir: mf.dir, HistoryTable: mf.historyTable, Execute: o.execute,
		Online:          &onlineEngine{base: base, socketGiven: o.socketFile != "", metricsAddress: o.metricsAddress},
		Backfiller:      &backfillEngine{base: base},
		OnlineThreshold: threshold, LockWaitTimeout: mf.statementLockWait, Retries: mf.statementRetries,
		DeployLockWait: mf.deployLockWait, AllowDataLoss: mf.allowDataLoss, Out: stdout, Logger: logger,
	}
	w, err := workflow.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "doppel migrate:", err)
		return fail
	}
	switch command {
	case "status":
		st, err := w.Status(ctx)
		if err == nil {
			err = writeStatus(stdout, st, mf.output)
		}
		return report(stderr, err)
	case "validate":
		probs, err := w.Validate(ctx)
		if err != nil {
			return report(stderr, err)
		}
		for _, p := range probs {
			fmt.Fprintln(stdout, "invalid:", p)
		}
		if len(probs) > 0 {
			return 1
		}
		fmt.Fprintf(stdout, "doppel migrate validate: %d migrations read, the history agrees.\n", len(w.Migrations()))
		return 0
	case "plan":
		p, err := w.PlanUp(ctx, n)
		if err != nil {
			fmt.Fprintln(stderr, "doppel migrate plan:", err)
			return 3
		}
		if mf.output == "json" {
			err = p.WriteJSON(stdout)
		} else {
			err = p.WriteText(stdout)
		}
		if err != nil {
			fmt.Fprintln(stderr, "doppel migrate plan:", err)
			return 3
		}
		return p.ExitCode()
	case "up":
		_, err := w.Up(ctx, n)
		return report(stderr, err)
	case "down":
		_, err := w.Down(ctx, max(n, 1))
		return report(stderr, err)
	case "repair":
		done, err := w.Repair(ctx)
		for _, d := range done {
			if o.execute {
				fmt.Fprintln(stdout, "repaired:", d)
			} else {
				fmt.Fprintln(stdout, "would repair:", d)
			}
		}
		if err == nil && len(done) == 0 {
			fmt.Fprintln(stdout, "doppel migrate repair: nothing to repair.")
		} else if err == nil && !o.execute {
			fmt.Fprintln(stdout, "doppel migrate repair: without --execute nothing changed.")
		}
		return report(stderr, err)
	default: // test
		lines, err := migrateTest(ctx, w, base.Conn, o.database, mf.testHost, logger)
		for _, l := range lines {
			fmt.Fprintln(stdout, l)
		}
		if err == nil && len(lines) == 0 {
			fmt.Fprintln(stdout, "doppel migrate test: no migration is pending: nothing to test.")
		}
		return report(stderr, err)
	}
}

func report(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintln(stderr, "doppel migrate:", err)
		return 1
	}
	return 0
}

func writeStatus(w io.Writer, st []workflow.Status, output string) error {
	if output == "json" {
		return workflow.WriteStatusJSON(w, st)
	}
	return workflow.WriteStatus(w, st)
}

// migrateCommand reads "COMMAND [N]".
func migrateCommand(rest []string) (string, int, error) {
	command := rest[0]
	switch command {
	case "status", "validate", "plan", "up", "down", "repair", "test":
	default:
		return "", 0, fmt.Errorf("doppel migrate: unknown command %q: use status, validate, plan, up, down, repair or test", command)
	}
	n := 0
	switch {
	case len(rest) > 2:
		return "", 0, fmt.Errorf("doppel migrate %s: unexpected %q", command, rest[2])
	case len(rest) == 2:
		if command != "up" && command != "down" && command != "plan" {
			return "", 0, fmt.Errorf("doppel migrate %s takes no count (%q)", command, rest[1])
		}
		v, err := strconv.Atoi(rest[1])
		if err != nil || v < 1 {
			return "", 0, fmt.Errorf("doppel migrate %s %s: the count is a number of migrations, 1 or more", command, rest[1])
		}
		n = v
	}
	return command, n, nil
}

// parseSize reads a size in bytes: "32MiB", "1GiB", "500000" (bytes); K, M, G are read as KiB, MiB, GiB.
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "BbKkMmGgIi")
	unit := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s[len(num):], "B"), "b"))
	mult := map[string]int64{"": 1, "K": 1 << 10, "KI": 1 << 10, "M": 1 << 20, "MI": 1 << 20, "G": 1 << 30, "GI": 1 << 30}[unit]
	v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 || v < 0 {
		return 0, fmt.Errorf("%q is not a size: write it as 32MiB, 1GiB or a number of bytes", s)
	}
	return v * mult, nil
}

// onlineEngine runs a migration's big ALTERs with package migration, configured by doppel's flags.
type onlineEngine struct {
	base           migration.Config
	socketGiven    bool
	metricsAddress string // served for each online step, while it runs
}

var _ workflow.Online = (*onlineEngine)(nil)

func (e *onlineEngine) config(table, alter string) migration.Config {
	c := e.base
	c.Table, c.Alter = table, alter
	// Several migrations may change one table online: each keeps its original under its own name
	// (_T_<time>_del) unless --ok-to-drop-table drops it.
	c.TimestampOldTable = c.TimestampOldTable || !c.OkToDropTable
	if !e.socketGiven {
		c.SocketPath = control.DefaultSocketPath(c.Database, table)
	}
	return c
}

// Check refuses what a migration with these flags refuses, in its words.
func (e *onlineEngine) Check(ctx context.Context, table, alter string) error {
	c := e.config(table, alter)
	db, err := dbconn.Open(c.Conn, "")
	if err != nil {
		return err
	}
	defer db.Close()
	return migration.CheckRequest(ctx, c, db)
}

func (e *onlineEngine) Alter(ctx context.Context, table, alter string, resume bool) error {
	c := e.config(table, alter)
	c.Resume = resume
	if e.metricsAddress != "" {
		stop, err := serveMetrics(ctx, e.metricsAddress, &c)
		if err != nil {
			return err
		}
		defer stop()
	}
	_, err := migration.Run(ctx, c)
	return err
}

// AlterGroup runs the changes of several tables together (migration.RunGroup): each its own run,
// swapped in one RENAME. The metrics and the TCP port follow the first table; each table has its
// own socket (--serve-socket-file, with ".<table>" appended after the first).
func (e *onlineEngine) AlterGroup(ctx context.Context, changes []workflow.OnlineChange) error {
	cfgs := make([]migration.Config, len(changes))
	for i, ch := range changes {
		c := e.config(ch.Table, ch.Alter)
		c.Resume = ch.Resume
		if i > 0 {
			c.TCPAddr, c.OnProgress = "", nil
			if e.socketGiven {
				c.SocketPath += "." + ch.Table
			}
		}
		cfgs[i] = c
	}
	if e.metricsAddress != "" {
		stop, err := serveMetrics(ctx, e.metricsAddress, &cfgs[0])
		if err != nil {
			return err
		}
		defer stop()
	}
	_, err := migration.RunGroup(ctx, cfgs)
	return err
}

// backfillEngine runs a migration's backfills (the statements after a -- doppel:backfill line) with
// package backfill, configured by the same flags as the online steps: the same connection,
// throttles, chunk sizes and retries. Its checkpoint is the script run's, so an interrupted
// `doppel migrate up` continues the backfill where it stopped.
type backfillEngine struct {
	base migration.Config
}

var _ workflow.Backfiller = (*backfillEngine)(nil)

func (e *backfillEngine) Backfill(ctx context.Context, _ *sql.DB, stmt, run string) error {
	c := backfill.DefaultConfig()
	c.Conn, c.Database, c.SQL = e.base.Conn, e.base.Database, stmt
	c.Execute, c.Continue, c.CheckpointKey = true, true, run
	c.ChunkSize = min(max(e.base.ChunkSize, backfill.MinChunkSize), backfill.MaxChunkSize)
	c.ChunkTarget = min(e.base.ChunkTarget, backfill.MaxChunkTarget)
	c.Retries, c.Throttle, c.PanicFlagFile = e.base.DefaultRetries, e.base.Throttle, e.base.PanicFlagFile
	c.StatusInterval, c.Logger, c.Out = e.base.StatusInterval, e.base.Logger, e.base.Out
	_, err := backfill.Run(ctx, c)
	return err
}
