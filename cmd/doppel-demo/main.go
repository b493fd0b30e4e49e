// Command doppel-demo is `make demo`: it starts a throwaway primary and replica, loads a table of
// 1,000,000 rows, times the server's own ALTER TABLE … ALGORITHM=COPY on a copy of it, then migrates
// the table live with doppel while a write load runs against it, and checks the result row by row
// against an oracle table that received the same writes and the same ALTER natively. It stops
// everything when done, also on failure or Ctrl-C.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

type options struct {
	doppel string
	rows   int
	rate   float64
	alter  string
}

func main() {
	var o options
	flag.StringVar(&o.doppel, "doppel", "bin/doppel", "the doppel binary to run")
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in the demo table")
	flag.Float64Var(&o.rate, "rate", 200, "write transactions per second during the migration")
	flag.StringVar(&o.alter, "alter", "ADD COLUMN extra INT NULL, ADD INDEX idx_extra_k (k, extra)", "the ALTER to run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

const (
	schema = "demo"
	tbl    = "sbtest1"
	oracle = "sbtest1_oracle"
	native = "sbtest1_native"
)

func say(format string, args ...any) {
	fmt.Printf("demo: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	if _, err := os.Stat(o.doppel); err != nil {
		return fmt.Errorf("the doppel binary %s: %w (run make build)", o.doppel, err)
	}
	say("starting a primary and a replica")
	sb, err := sandbox.Start(ctx, sandbox.Options{BufferPool: "512M"})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the sandbox")
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}()
	say("%s %s, primary on %s, replica on %s", sb.Flavor.Name(), sb.Flavor.Version(), sb.Primary.Config().Addr(), sb.Replica.Config().Addr())
	db, err := sb.CreateDatabase(ctx, schema)
	if err != nil {
		return err
	}
	defer db.Close()

	start := time.Now()
	if err := load(ctx, db, sb.Flavor, o.rows); err != nil {
		return err
	}
	say("loaded %d rows into %s.%s and two copies of it in %s", o.rows, schema, tbl, time.Since(start).Round(time.Second))
	if err := sb.WaitReplica(ctx); err != nil {
		return err
	}

	say("the server's own ALTER TABLE … ALGORITHM=COPY on %s (it blocks writes while it runs):", native)
	nativeStart := time.Now()
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(native)+" "+o.alter+", ALGORITHM=COPY"); err != nil {
		return fmt.Errorf("native ALTER: %w", err)
	}
	nativeTook := time.Since(nativeStart)
	say("  took %s", nativeTook.Round(time.Millisecond))
	if err := sb.WaitReplica(ctx); err != nil {
		return err
	}

	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: tbl, Oracle: oracle, Workers: 4, Rate: o.rate})
	if err != nil {
		return err
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan error, 1)
	go func() { loadDone <- gen.Run(loadCtx) }()
	say("write load started: %.0f transactions/s of inserts, updates (some changing the key) and deletes", o.rate)
	time.Sleep(2 * time.Second)

	r := sb.Replica.Config()
	args := []string{
		"--host=" + r.Host, fmt.Sprintf("--port=%d", r.Port), "--user=" + r.User,
		"--database=" + schema, "--table=" + tbl, "--alter=" + o.alter,
		"--execute", "--status-interval=3s",
	}
	say("running: %s %v", o.doppel, args)
	cmd := exec.CommandContext(ctx, o.doppel, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	migStart := time.Now()
	migErr := cmd.Run()
	migTook := time.Since(migStart)
	time.Sleep(time.Second) // writes keep landing in the new table after the swap
	stopLoad()
	if err := <-loadDone; err != nil {
		return err
	}
	if migErr != nil {
		return fmt.Errorf("doppel: %w", migErr)
	}
	stats := gen.Stats()

	say("checking the result: the same ALTER on the oracle, then a row-by-row comparison")
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(oracle)+" "+o.alter); err != nil {
		return fmt.Errorf("altering the oracle: %w", err)
	}
	if err := loadgen.Compare(ctx, db, schema, tbl, oracle, []string{"id"}); err != nil {
		return fmt.Errorf("the migrated table differs from the oracle: %w", err)
	}
	if err := sb.WaitReplica(ctx); err != nil {
		return err
	}
	rdb, err := dbconn.Open(sb.Replica.Config(), schema)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := loadgen.CompareTables(ctx, loadgen.Side{DB: db, Schema: schema, Table: tbl}, loadgen.Side{DB: rdb, Schema: schema, Table: tbl}, []string{"id"}); err != nil {
		return fmt.Errorf("the replica differs from the primary: %w", err)
	}

	fmt.Println()
	say("result")
	say("  rows                          %d", o.rows)
	say("  native ALGORITHM=COPY         %s (writes blocked throughout)", nativeTook.Round(time.Millisecond))
	say("  doppel, live, under writes    %s (%.2fx the native ALTER)", migTook.Round(time.Millisecond), migTook.Seconds()/nativeTook.Seconds())
	say("  write load                    %d transactions committed, %d failed; latency p50 %s, p95 %s, p99 %s, max %s",
		stats.Committed, stats.Failed, stats.Percentile(0.5).Round(time.Microsecond), stats.Percentile(0.95).Round(time.Microsecond),
		stats.Percentile(0.99).Round(time.Microsecond), stats.Percentile(1).Round(time.Microsecond))
	say("  migrated table = oracle       yes, row by row; the replica equals the primary")
	if stats.Failed > 0 || stats.Divergent > 0 {
		return errors.New("the write load saw failed or divergent transactions")
	}
	return nil
}

// load creates the sysbench-like table, the oracle and the copy for the native ALTER.
func load(ctx context.Context, db *sql.DB, f dbconn.Flavor, rows int) error {
	if err := loadgen.CreateSysbench(ctx, db, f.Name(), tbl, rows); err != nil {
		return err
	}
	for _, s := range []string{"CREATE TABLE " + oracle + " LIKE " + tbl, "INSERT INTO " + oracle + " SELECT * FROM " + tbl,
		"CREATE TABLE " + native + " LIKE " + tbl, "INSERT INTO " + native + " SELECT * FROM " + tbl} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("copying the demo table: %w", err)
		}
	}
	return nil
}
