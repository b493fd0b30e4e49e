package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

const (
	// doppelUser is the account doppel runs as, so that its connections can be told from the
	// load's and killed.
	doppelUser  = "chaos_doppel"
	oracle      = "t_oracle"
	maxAttempts = 8
	// runLimit bounds one run, faults, resumes and checks included.
	runLimit = 5 * time.Minute
)

var key = []string{"k1", "k2"}

// createTable is the migrated table: a composite key of a case-insensitive string and an integer,
// and NULLs, multibyte text, JSON, BLOB and fractional times in the other columns.
const createTable = `CREATE TABLE t (
  k1 VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  k2 INT NOT NULL,
  n INT NULL,
  s VARCHAR(100) CHARACTER SET utf8mb4 NULL,
  j JSON NULL,
  b BLOB NULL,
  d DATETIME(3) NULL,
  PRIMARY KEY (k1, k2)
)`

// alters keep every column the load writes.
var alters = []string{
	"ADD COLUMN extra INT NULL",
	"ADD INDEX ix_n (n, k2)",
	"MODIFY n BIGINT NULL",
	"MODIFY s VARCHAR(150) CHARACTER SET utf8mb4 NULL, ADD INDEX ix_d (d)",
	"ADD COLUMN note TEXT NULL, ADD COLUMN flag TINYINT NOT NULL DEFAULT 1",
}

type chaosRun struct {
	o                    options
	sb                   *sandbox.Sandbox
	toPrimary, toReplica *proxy // doppel's way to each server
	seed                 uint64
	rng                  *rand.Rand
	schema               string

	mu   sync.Mutex
	proc *os.Process // the doppel running now
}

type runResult struct {
	faults      []string
	struck      []string // the faults that came while a doppel ran
	attempts    int
	rows        int64
	lost, wrong int
	err         error
	took        time.Duration
}

func (r *chaosRun) run(parent context.Context) (res runResult) {
	start := time.Now()
	defer func() { res.took = time.Since(start) }()
	ctx, cancel := context.WithTimeout(parent, runLimit)
	defer cancel()
	if err := r.setUp(ctx); err != nil {
		res.err = fmt.Errorf("setting up: %w", err)
		return res
	}
	db, err := dbconn.Open(r.sb.Primary.Config(), r.schema)
	if err != nil {
		res.err = err
		return res
	}
	defer db.Close()
	defer func() {
		if res.err == nil {
			_, _ = db.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE "+sqlbuild.QuoteIdent(r.schema))
		}
	}()
	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: r.schema, Table: "t", Oracle: oracle, Workers: 2, Rate: 150, Seed: r.seed})
	if err != nil {
		res.err = err
		return res
	}
	if err := gen.Seed(ctx, r.o.rows); err != nil {
		res.err = err
		return res
	}
	if err := r.sb.WaitReplica(ctx); err != nil {
		res.err = err
		return res
	}
	alter := alters[r.rng.IntN(len(alters))]
	plan := r.schedule()
	for _, f := range plan {
		res.faults = append(res.faults, f.name)
	}

	loadCtx, cancelLoad := context.WithCancel(ctx)
	loadDone := make(chan error, 1)
	go func() { loadDone <- gen.Run(loadCtx) }()
	stopLoad := sync.OnceValue(func() error { cancelLoad(); return <-loadDone })
	defer func() { _ = stopLoad() }()
	time.Sleep(500 * time.Millisecond)

	faultsDone := make(chan []string, 1)
	go func() { faultsDone <- r.inject(ctx, plan) }()
	dir, err := os.MkdirTemp("", "chaos")
	if err != nil {
		res.err = err
		return res
	}
	defer os.RemoveAll(dir)
	var last string
	migrated := false
	for res.attempts < maxAttempts && ctx.Err() == nil {
		res.attempts++
		flags := r.nextFlags(db, last)
		out, err := r.doppel(ctx, dir, alter, flags)
		if r.o.verbose {
			fmt.Printf("--- seed %d attempt %d %v\n%s\n", r.seed, res.attempts, flags, out)
		}
		if err == nil {
			migrated = true
			break
		}
		last = out
		// A failed attempt must have left the original alone: its definition is the oracle's.
		if err := sameDefinition(ctx, db); err != nil {
			res.err = fmt.Errorf("attempt %d failed and the original changed: %w\n%s", res.attempts, err, tail(out))
			return res
		}
		time.Sleep(time.Second)
	}
	res.struck = <-faultsDone
	if !migrated {
		res.err = fmt.Errorf("not migrated after %d attempts; last:\n%s", res.attempts, tail(last))
		return res
	}
	time.Sleep(500 * time.Millisecond) // writes go on into the new table
	if err := stopLoad(); err != nil {
		res.err = fmt.Errorf("the load: %w", err)
		return res
	}
	if st := gen.Stats(); st.Divergent > 0 {
		res.err = fmt.Errorf("the load saw the table and the oracle disagree %d times: %s", st.Divergent, strings.Join(st.Errors, "; "))
		return res
	}
	res.rows, res.lost, res.wrong, res.err = r.check(ctx, db, alter)
	return res
}

// setUp creates the run's database, the table and the oracle, and doppel's account once.
func (r *chaosRun) setUp(ctx context.Context) error {
	admin, err := r.sb.Primary.DB("")
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, q := range []string{
		"CREATE USER IF NOT EXISTS '" + doppelUser + "'@'%'",
		"GRANT ALL ON *.* TO '" + doppelUser + "'@'%'",
		"CREATE DATABASE " + sqlbuild.QuoteIdent(r.schema),
		"USE " + sqlbuild.QuoteIdent(r.schema),
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []string{"USE " + sqlbuild.QuoteIdent(r.schema), createTable, "CREATE TABLE " + oracle + " LIKE t"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// nextFlags says how the next attempt starts: a first run, a resume of the stopped one, or, when
// a resume was refused (the run cannot be continued), a new run over its leftovers.
func (r *chaosRun) nextFlags(db *sql.DB, last string) []string {
	if last == "" {
		return nil
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_t_gho'").Scan(&n); err != nil || n == 0 {
		return []string{"--initially-drop-ghost-table"}
	}
	if strings.Contains(last, "--resume:") || strings.Contains(last, "cannot be continued") {
		return []string{"--initially-drop-ghost-table"}
	}
	return []string{"--resume"}
}

// doppel runs one attempt to its end and returns its output.
func (r *chaosRun) doppel(ctx context.Context, dir, alter string, extra []string) (string, error) {
	args := append([]string{
		"--host=127.0.0.1", "--port=" + strconv.Itoa(r.toReplica.addr().Port), "--user=" + doppelUser,
		"--assume-master-host=" + r.toPrimary.addr().String(),
		"--database=" + r.schema, "--table=t", "--alter=" + alter, "--execute",
		"--chunk-size=20", "--nice-ratio=3", "--cut-over-lock-timeout-seconds=2", "--default-retries=20",
		"--replica-server-id=" + strconv.FormatUint(4000+r.seed%1000, 10),
		"--serve-socket-file=" + filepath.Join(dir, "s.sock"), "--initially-drop-socket-file",
		"--throttle-additional-flag-file=" + filepath.Join(dir, "none"), "--status-interval=10s",
	}, extra...)
	cmd := exec.CommandContext(ctx, r.o.doppel, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.proc = cmd.Process
	r.mu.Unlock()
	err := cmd.Wait()
	r.mu.Lock()
	r.proc = nil
	r.mu.Unlock()
	return out.String(), err
}

// running says whether a doppel runs now.
func (r *chaosRun) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc != nil
}

// signal sends sig to the doppel running now, if any.
func (r *chaosRun) signal(sig syscall.Signal) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return false
	}
	return r.proc.Signal(sig) == nil
}

// sameDefinition checks that the original still has the oracle's definition (the ALTER has not
// reached it).
func sameDefinition(ctx context.Context, db *sql.DB) error {
	show := func(name string) (string, error) {
		var n, ddl string
		err := db.QueryRowContext(ctx, "SHOW CREATE TABLE "+sqlbuild.QuoteIdent(name)).Scan(&n, &ddl)
		return strings.Replace(ddl, "`"+name+"`", "`x`", 1), err
	}
	a, err := show("t")
	if err != nil {
		return err
	}
	b, err := show(oracle)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("the table's definition changed:\n%s", a)
	}
	return nil
}

// check applies the ALTER to the oracle natively and compares: the migrated table with the oracle,
// and the replica's table with the primary's.
func (r *chaosRun) check(ctx context.Context, db *sql.DB, alter string) (rows int64, lost, wrong int, err error) {
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+oracle+" "+alter); err != nil {
		return 0, 0, 0, fmt.Errorf("the native ALTER on the oracle: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+oracle).Scan(&rows); err != nil {
		return 0, 0, 0, err
	}
	var m *loadgen.Mismatch
	if err := loadgen.Compare(ctx, db, r.schema, "t", oracle, key); errors.As(err, &m) {
		return rows, int(m.Extra), int(m.Differing + m.Missing), fmt.Errorf("%w: %w", errLost, err)
	} else if err != nil {
		return rows, 0, 0, err
	}
	if err := r.sb.WaitReplica(ctx); err != nil {
		return rows, 0, 0, err
	}
	rdb, err := dbconn.Open(r.sb.Replica.Config(), r.schema)
	if err != nil {
		return rows, 0, 0, err
	}
	defer rdb.Close()
	if err := loadgen.CompareTables(ctx, loadgen.Side{DB: db, Schema: r.schema, Table: "t"}, loadgen.Side{DB: rdb, Schema: r.schema, Table: "t"}, key); err != nil {
		return rows, 0, 0, fmt.Errorf("the replica differs from the primary: %w", err)
	}
	return rows, 0, 0, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
