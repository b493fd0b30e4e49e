// Command doppel-demo-migrate is `make demo-migrate`: a team's schema workflow on doppel. It starts
// a throwaway primary and replica, loads a table of 200,000 rows, writes a directory of versioned
// migrations (a new table, a nullable column, a backfill, an index on the big table, another new
// table), and runs `doppel migrate` over it as a deployer would: status, the
// pre-flight plan, the rollback test on a throwaway server, up under a write load (the big table's
// ALTER through the online copy), the history table, and a down. The big table is then compared row
// by row with an oracle that received the same writes and the same ALTER natively. It stops
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

type options struct {
	doppel string
	rows   int
	rate   float64
}

func main() {
	var o options
	flag.StringVar(&o.doppel, "doppel", "bin/doppel", "the doppel binary to run")
	flag.IntVar(&o.rows, "rows", 200_000, "rows in the big table")
	flag.Float64Var(&o.rate, "rate", 200, "write transactions per second on the big table during the deployment")
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
	schema = "shop"
	big    = "sbtest1"
	oracle = "sbtest1_oracle"
	// bigAlter is migration 4's change of the big table, which the oracle gets natively at the end.
	bigAlter = "ADD COLUMN extra INT NULL, ADD INDEX idx_extra_k (k, extra)"
)

// migrations is the demo's directory: golang-migrate's names, one Flyway name, each with its down.
var migrations = map[string]string{
	"0001_create_accounts.up.sql": `CREATE TABLE accounts (
  id INT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) NOT NULL
);
INSERT INTO accounts (name) VALUES ('ada'), ('grace'), ('edsger'), ('barbara');
`,
	"0001_create_accounts.down.sql": "DROP TABLE accounts;\n",
	"0002_add_display_name.up.sql": `-- expand: a nullable column, instant on the server
ALTER TABLE accounts ADD COLUMN display_name VARCHAR(50) NULL;
`,
	"0002_add_display_name.down.sql": "ALTER TABLE accounts DROP COLUMN display_name;\n",
	"V3__backfill_display_name.sql": `-- fill the new column in throttled key-range chunks, not in one big UPDATE
-- doppel:backfill
UPDATE accounts SET display_name = name WHERE display_name IS NULL;
`,
	"U3__backfill_display_name.sql": "UPDATE accounts SET display_name = NULL;\n",
	"0004_index_big_table.up.sql": `-- the big table: through doppel's online copy, the table readable and writable throughout
ALTER TABLE ` + big + ` ` + bigAlter + `;
`,
	"0004_index_big_table.down.sql": "ALTER TABLE " + big + " DROP INDEX idx_extra_k, DROP COLUMN extra;\n",
	"0005_orders.up.sql": `CREATE TABLE orders (
  id INT AUTO_INCREMENT PRIMARY KEY,
  account_id INT NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  KEY account (account_id)
);
`,
	"0005_orders.down.sql": "DROP TABLE orders;\n",
}

func say(format string, args ...any) {
	fmt.Printf("demo: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	if _, err := os.Stat(o.doppel); err != nil {
		return fmt.Errorf("the doppel binary %s: %w (run make build)", o.doppel, err)
	}
	dir, err := os.MkdirTemp("", "doppel-demo-migrations-")
	if err != nil {
		return fmt.Errorf("making the migrations directory: %w", err)
	}
	defer os.RemoveAll(dir)
	for name, text := range migrations {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	say("starting a primary and a replica")
	sb, err := sandbox.Start(ctx, sandbox.Options{BufferPool: "256M"})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the sandbox")
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}()
	db, err := sb.CreateDatabase(ctx, schema)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := loadgen.CreateSysbench(ctx, db, sb.Flavor.Name(), big, o.rows); err != nil {
		return err
	}
	for _, s := range []string{"CREATE TABLE " + oracle + " LIKE " + big, "INSERT INTO " + oracle + " SELECT * FROM " + big} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("copying the big table for the oracle: %w", err)
		}
	}
	say("loaded %d rows into %s.%s; the migrations are in %s:", o.rows, schema, big, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing the migrations: %w", err)
	}
	for _, e := range entries {
		say("  %s", e.Name())
	}

	p := sb.Primary.Config()
	conn := []string{"--host=" + p.Host, fmt.Sprintf("--port=%d", p.Port), "--user=" + p.User, "--database=" + schema, "--dir=" + dir,
		"--online-threshold=4MiB", "--throttle-control-replicas=" + sb.Replica.Config().Addr()}
	migrate := func(args ...string) error {
		args = append(append([]string{"migrate"}, conn...), args...)
		fmt.Println()
		say("$ doppel %s", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, o.doppel, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	for _, step := range [][]string{{"status"}, {"plan"}, {"test"}} {
		if err := migrate(step...); err != nil {
			return fmt.Errorf("doppel migrate %s: %w", step[0], err)
		}
	}

	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: schema, Table: big, Oracle: oracle, Workers: 4, Rate: o.rate})
	if err != nil {
		return err
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan error, 1)
	go func() { loadDone <- gen.Run(loadCtx) }()
	fmt.Println()
	say("write load started on %s: %.0f transactions/s of inserts, updates (some changing the key) and deletes", big, o.rate)
	upErr := migrate("up", "--execute", "--status-interval=3s")
	time.Sleep(time.Second) // writes keep landing in the migrated table after the swap
	stopLoad()
	if err := <-loadDone; err != nil {
		return err
	}
	if upErr != nil {
		return fmt.Errorf("doppel migrate up: %w", upErr)
	}
	if err := migrate("status"); err != nil {
		return fmt.Errorf("doppel migrate status: %w", err)
	}

	fmt.Println()
	say("the history table:")
	if err := printHistory(ctx, db); err != nil {
		return err
	}
	say("checking the big table: the same ALTER on the oracle, then a row-by-row comparison")
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+oracle+" "+bigAlter); err != nil {
		return fmt.Errorf("altering the oracle: %w", err)
	}
	if err := loadgen.Compare(ctx, db, schema, big, oracle, []string{"id"}); err != nil {
		return fmt.Errorf("the migrated table differs from the oracle: %w", err)
	}
	var missing int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts WHERE display_name IS NULL OR display_name <> name").Scan(&missing); err != nil {
		return fmt.Errorf("checking the backfill: %w", err)
	}
	if missing > 0 {
		return fmt.Errorf("the backfill left %d accounts without their display name", missing)
	}
	say("  equal, row by row; every account has its display name")

	if err := migrate("down", "1", "--execute"); err != nil {
		return fmt.Errorf("doppel migrate down: %w", err)
	}
	stats := gen.Stats()
	fmt.Println()
	say("write load during the deployment: %d transactions committed, %d failed; latency p50 %s, p95 %s, p99 %s",
		stats.Committed, stats.Failed, stats.Percentile(0.5).Round(time.Microsecond), stats.Percentile(0.95).Round(time.Microsecond),
		stats.Percentile(0.99).Round(time.Microsecond))
	if stats.Failed > 0 || stats.Divergent > 0 {
		return errors.New("the write load saw failed or divergent transactions")
	}
	return nil
}

// printHistory prints the history table as a deployer would look at it.
func printHistory(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT installed_rank, version, direction, script, LEFT(checksum, 12), duration_ms, statements, success FROM doppel_schema_history ORDER BY installed_rank")
	if err != nil {
		return fmt.Errorf("reading the history table: %w", err)
	}
	defer rows.Close()
	say("  %-4s %-7s %-4s %-34s %-13s %8s  %-5s %s", "rank", "version", "dir", "script", "checksum", "ms", "ok", "how each statement ran")
	for rows.Next() {
		var rank, ms int64
		var version, dir, script, sum, stmts string
		var ok bool
		if err := rows.Scan(&rank, &version, &dir, &script, &sum, &ms, &stmts, &ok); err != nil {
			return fmt.Errorf("reading the history table: %w", err)
		}
		say("  %-4d %-7s %-4s %-34s %-13s %8d  %-5t %s", rank, version, dir, script, sum+"…", ms, ok, stmts)
	}
	return rows.Err()
}
