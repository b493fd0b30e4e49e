// Package loadgen writes a random, realistic DML load to a table and, statement for statement, to an
// oracle table of the same schema, so that after any online schema change the two can be compared
// row by row: whatever the tool did, the table must hold exactly what the oracle holds once the same
// ALTER is applied to the oracle natively. It also compares two tables byte for byte.
//
// Each transaction is BEGIN; one operation on the table; the same statement on the oracle; COMMIT.
// Operations are inserts (always with explicit key values, so both tables get the same rows),
// updates of other columns, updates that change the key, deletes, INSERT … ON DUPLICATE KEY UPDATE
// and REPLACE. Values cover each column type's extremes and character sets on purpose.
package loadgen

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Config says what a Generator writes and how fast.
type Config struct {
	// DB is a pool on the primary. Its connection character set must be utf8mb4 (dbconn.Open's is),
	// so that identifiers beyond ASCII reach the server intact.
	DB     *sql.DB
	Schema string
	Table  string
	// Oracle is a table in Schema with the same columns as Table; every statement runs on both.
	Oracle string
	// Key are the columns of a unique key of NOT NULL columns that rows are addressed by. Empty means
	// the table's primary key, else its first such unique key.
	Key []string
	// Columns are the columns written besides the key. Empty means every column that is not
	// generated. Generated columns are never written.
	Columns []string
	// Unique are columns whose values must not repeat besides those of the table's unique keys,
	// such as the columns of a unique key an ALTER is about to add.
	Unique []string
	// Workers run transactions concurrently; 0 means 4.
	Workers int
	// Rate is the target number of transactions per second over all workers; 0 means as fast as
	// they go.
	Rate float64
	// TimeZone, when set, is the session time_zone of the generator's connections, such as "+05:30":
	// TIMESTAMP values are written and read in it.
	TimeZone string
	// Seed makes the random choices repeatable (up to the interleaving of workers); 0 picks one.
	Seed uint64
}

// Generator writes random transactions to a table and its oracle.
type Generator struct {
	cfg            Config
	target, oracle string // qualified names
	keyCols        []*column
	cols           []*column // written columns outside the key
	keys           *keySet
	seeds          atomic.Uint64
	stats          recorder
}

const (
	// sessionSQLMode is strict, so a generated value that does not fit its column is an error (a bug
	// of the generator shows up) instead of being silently cut; NO_AUTO_VALUE_ON_ZERO makes an
	// explicit 0 in an AUTO_INCREMENT column a 0 in both tables rather than each table's own next id;
	// zero dates stay allowed.
	sessionSQLMode = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"
	// lockWaitTimeout bounds how long a transaction waits for a row lock before it is retried: the
	// load must keep flowing, not queue behind one lock.
	lockWaitTimeout = 5
	// txTimeout bounds one transaction, including waits for locks at a cut-over.
	txTimeout         = 2 * time.Minute
	maxAttempts       = 3
	seedRowsPerInsert = 100
)

// New inspects the table and reads the keys of the rows it already holds.
func New(ctx context.Context, cfg Config) (*Generator, error) {
	if cfg.DB == nil || cfg.Schema == "" || cfg.Table == "" || cfg.Oracle == "" {
		return nil, errors.New("loadgen: DB, Schema, Table and Oracle are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	g := &Generator{
		cfg:    cfg,
		target: sqlbuild.QualifiedName(cfg.Schema, cfg.Table),
		oracle: sqlbuild.QualifiedName(cfg.Schema, cfg.Oracle),
		keys:   newKeySet(),
	}
	g.seeds.Store(cfg.Seed)
	t, err := table.Inspect(ctx, cfg.DB, cfg.Schema, cfg.Table)
	if err != nil {
		return nil, fmt.Errorf("loadgen: inspecting the table: %w", err)
	}
	if err := g.chooseColumns(ctx, t); err != nil {
		return nil, fmt.Errorf("loadgen: %s: %w", g.target, err)
	}
	if err := g.checkOracle(ctx); err != nil {
		return nil, err
	}
	if err := g.sampleKeys(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// chooseColumns decides the key and the written columns and prepares their value generators.
func (g *Generator) chooseColumns(ctx context.Context, t *table.Table) error {
	jsonCols, err := jsonColumns(ctx, g.cfg.DB, t)
	if err != nil {
		return err
	}
	unique := map[string]bool{}
	for _, name := range g.cfg.Unique {
		unique[strings.ToLower(name)] = true
	}
	for _, ix := range t.Indexes {
		if ix.Unique {
			for _, c := range ix.Columns {
				unique[strings.ToLower(c.Name)] = true
			}
		}
	}
	keyNames := g.cfg.Key
	if len(keyNames) == 0 {
		if keyNames, err = KeyColumns(t); err != nil {
			return err
		}
	}
	build := func(name string) (*column, error) {
		c := t.Column(name)
		if c == nil {
			return nil, fmt.Errorf("no column %q", name)
		}
		if c.Generated {
			return nil, fmt.Errorf("column %s is generated: it cannot be written", c.Name)
		}
		return newColumn(*c, jsonCols[strings.ToLower(c.Name)], unique[strings.ToLower(c.Name)])
	}
	isKey := map[string]bool{}
	for _, name := range keyNames {
		c, err := build(name)
		if err != nil {
			return fmt.Errorf("key: %w", err)
		}
		if c.Nullable {
			return fmt.Errorf("key column %s is nullable: rows cannot be addressed by it", c.Name)
		}
		c.unique = true
		g.keyCols = append(g.keyCols, c)
		isKey[strings.ToLower(c.Name)] = true
	}
	names := g.cfg.Columns
	if len(names) == 0 {
		for _, c := range t.Columns {
			if !c.Generated {
				names = append(names, c.Name)
			}
		}
	}
	for _, name := range names {
		if isKey[strings.ToLower(name)] {
			continue
		}
		c, err := build(name)
		if err != nil {
			return err
		}
		g.cols = append(g.cols, c)
	}
	return nil
}

// KeyColumns returns the columns of the key a table's rows are best addressed by: the primary key,
// else the first unique key whose columns are all NOT NULL (and not prefixes).
func KeyColumns(t *table.Table) ([]string, error) {
	for _, ix := range t.Indexes { // PRIMARY first
		if !ix.Unique || ix.Expression {
			continue
		}
		usable := true
		for _, ic := range ix.Columns {
			c := t.Column(ic.Name)
			usable = usable && c != nil && !c.Nullable && ic.SubPart == 0
		}
		if usable {
			return ix.ColumnNames(), nil
		}
	}
	return nil, fmt.Errorf("%s.%s has no unique key of NOT NULL columns to address rows by", t.Schema, t.Name)
}

var jsonCheck = regexp.MustCompile("^json_valid\\(`((?:[^`]|``)+)`\\)$")

// jsonColumns finds the JSON columns: MySQL has a json type; MariaDB's JSON is LONGTEXT with a
// json_valid() CHECK constraint, which information_schema shows.
func jsonColumns(ctx context.Context, db *sql.DB, t *table.Table) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range t.Columns {
		if c.DataType == "json" {
			out[strings.ToLower(c.Name)] = true
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("reading the check constraints of %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var clause string
		if err := rows.Scan(&clause); err != nil {
			return nil, fmt.Errorf("reading the check constraints of %s.%s: %w", t.Schema, t.Name, err)
		}
		if m := jsonCheck.FindStringSubmatch(clause); m != nil {
			out[strings.ToLower(strings.ReplaceAll(m[1], "``", "`"))] = true
		}
	}
	return out, rows.Err()
}

// checkOracle makes sure the oracle has every written column, so a wrong oracle fails here and not
// as a stream of failed transactions.
func (g *Generator) checkOracle(ctx context.Context) error {
	o, err := table.Inspect(ctx, g.cfg.DB, g.cfg.Schema, g.cfg.Oracle)
	if err != nil {
		return fmt.Errorf("loadgen: inspecting the oracle table: %w", err)
	}
	for _, c := range g.written() {
		if o.Column(c.Name) == nil {
			return fmt.Errorf("loadgen: the oracle %s lacks column %s", g.oracle, c.Name)
		}
	}
	return nil
}

// written returns the key columns followed by the other written columns.
func (g *Generator) written() []*column {
	return append(append([]*column(nil), g.keyCols...), g.cols...)
}

// session returns a connection set up for the generator's transactions.
func (g *Generator) session(ctx context.Context) (*sql.Conn, error) {
	conn, err := g.cfg.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("loadgen: connecting: %w", err)
	}
	stmts := []string{
		"SET SESSION sql_mode = '" + sessionSQLMode + "'",
		fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", lockWaitTimeout),
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			dbconn.Discard(conn)
			return nil, fmt.Errorf("loadgen: setting up the session (%s): %w", s, err)
		}
	}
	if g.cfg.TimeZone != "" {
		if _, err := conn.ExecContext(ctx, "SET SESSION time_zone = ?", g.cfg.TimeZone); err != nil {
			dbconn.Discard(conn)
			return nil, fmt.Errorf("loadgen: setting time_zone %q: %w", g.cfg.TimeZone, err)
		}
	}
	return conn, nil
}

// sampleKeys reads the keys of the rows the table holds. It reads through a generator session, so
// TIMESTAMP keys come back in the time zone they are written in.
func (g *Generator) sampleKeys(ctx context.Context) error {
	conn, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer dbconn.Discard(conn)
	exprs := make([]string, len(g.keyCols))
	for i, c := range g.keyCols {
		exprs[i] = sampleExpr(c)
	}
	rows, err := conn.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+g.target)
	if err != nil {
		return fmt.Errorf("loadgen: reading the keys of %s: %w", g.target, err)
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(exprs))
	dest := make([]any, len(exprs))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("loadgen: reading the keys of %s: %w", g.target, err)
		}
		key := make([]value, len(raw))
		for i, c := range g.keyCols {
			if key[i], err = parseSample(c, raw[i]); err != nil {
				return fmt.Errorf("loadgen: reading the keys of %s: %w", g.target, err)
			}
		}
		g.keys.put(row{key: key, id: identity(g.keyCols, key)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("loadgen: reading the keys of %s: %w", g.target, err)
	}
	return nil
}

// Seed inserts n new rows into the table and the oracle, in batches of multi-row INSERTs.
func (g *Generator) Seed(ctx context.Context, n int) error {
	conn, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer dbconn.Discard(conn)
	r := g.rand()
	for n > 0 {
		batch := min(n, seedRowsPerInsert)
		var err error
		// A batch fails as a whole when a value collides under a unique key outside the tracked
		// key; new random values almost always succeed.
		for attempt := 0; attempt < maxAttempts; attempt++ {
			if err = g.seedBatch(ctx, conn, r, batch); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("loadgen: seeding %s: %w", g.target, err)
		}
		n -= batch
	}
	return nil
}

func (g *Generator) seedBatch(ctx context.Context, conn *sql.Conn, r *rand.Rand, n int) error {
	var rows []row
	var tuples []string
	for len(rows) < n {
		k, ok := g.freshKey(r)
		if !ok {
			break // the key's domain is (nearly) full
		}
		rows = append(rows, k)
		tuples = append(tuples, "("+literals(append(append([]value(nil), k.key...), g.randomValues(r, g.cols)...))+")")
	}
	if len(rows) == 0 {
		return nil
	}
	cols := sqlbuild.QuoteIdents(columnNames(g.written()))
	stmt := func(t string) string {
		return "INSERT INTO " + t + " (" + cols + ") VALUES " + strings.Join(tuples, ", ")
	}
	_, err := g.exec(ctx, conn, stmt)
	for _, k := range rows {
		if err == nil {
			g.keys.put(k)
		} else {
			g.keys.release(k.id)
		}
	}
	return err
}

// Run writes transactions with the configured workers until ctx ends. A transaction under way when
// ctx ends is finished first, so that when Run returns no transaction is in flight. Failed
// transactions are counted in Stats, not returned; Run returns an error only when it cannot start.
func (g *Generator) Run(ctx context.Context) error {
	conns := make([]*sql.Conn, 0, g.cfg.Workers)
	for range g.cfg.Workers {
		c, err := g.session(ctx)
		if err != nil {
			for _, c := range conns {
				dbconn.Discard(c)
			}
			return err
		}
		conns = append(conns, c)
	}
	var interval time.Duration
	if g.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(g.cfg.Workers) / g.cfg.Rate)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.work(ctx, c, interval)
		}()
	}
	wg.Wait()
	return nil
}

// work is one worker: a transaction every interval (or back to back) until ctx ends.
func (g *Generator) work(ctx context.Context, conn *sql.Conn, interval time.Duration) {
	defer func() {
		if conn != nil {
			dbconn.Discard(conn)
		}
	}()
	r := g.rand()
	next := time.Now()
	for {
		if interval > 0 {
			next = next.Add(interval)
			wait := time.Until(next)
			if wait < -time.Second {
				next = time.Now() // fell far behind (a long lock): do not burst to catch up
			}
			if wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err := g.transact(ctx, conn, r); isConnError(err) {
			// The connection is gone (a timeout closed it, the server restarted): go on with a new
			// one as soon as the server takes connections again.
			dbconn.Discard(conn)
			conn = nil
			for conn == nil {
				var err error
				if conn, err = g.session(ctx); err != nil {
					if ctx.Err() != nil {
						return
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
		}
	}
}

// transact runs one random operation, retrying lock conflicts, and records the outcome.
func (g *Generator) transact(ctx context.Context, conn *sql.Conn, r *rand.Rand) error {
	o := g.nextOp(r)
	if o == nil {
		return nil
	}
	// Once started, a transaction is finished even when ctx ends: a commit cut short could leave
	// the caller comparing tables while it still lands.
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), txTimeout)
	defer cancel()
	start := time.Now()
	var err error
	for attempt := 1; ; attempt++ {
		var affected [2]int64
		affected, err = g.exec(txCtx, conn, o.sql)
		if err == nil {
			g.stats.commit(o.name, time.Since(start), affected[0] == 0)
			if affected[0] != affected[1] {
				g.stats.diverge(fmt.Sprintf("%s changed %d rows in the table and %d in the oracle", o.name, affected[0], affected[1]))
			}
			break
		}
		if g.valueTaken(err) && attempt < maxAttempts {
			// The random value is already another row's under a unique key of the table: the table's
			// statement failed first and the transaction rolled back on both sides; draw again.
			o.done(false)
			if o = g.nextOp(r); o == nil {
				return nil
			}
			continue
		}
		if !isConflict(err) {
			g.stats.fail(fmt.Errorf("%s: %w", o.name, err))
			break
		}
		g.stats.conflict()
		if attempt == maxAttempts {
			break
		}
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
	o.done(err == nil)
	return err
}

// exec runs stmt on the table and then on the oracle in one transaction, and returns the rows each
// statement changed.
func (g *Generator) exec(ctx context.Context, conn *sql.Conn, stmt func(table string) string) (affected [2]int64, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return affected, err
	}
	for i, name := range []string{g.target, g.oracle} {
		res, err := tx.ExecContext(ctx, stmt(name))
		if err != nil {
			_ = tx.Rollback() // the statement's error is the one to report
			return affected, &stmtError{table: name, err: err}
		}
		if affected[i], err = res.RowsAffected(); err != nil {
			_ = tx.Rollback()
			return affected, err
		}
	}
	return affected, tx.Commit()
}

// stmtError is a statement's failure on one of the two tables.
type stmtError struct {
	table string
	err   error
}

func (e *stmtError) Error() string { return fmt.Sprintf("on %s: %v", e.table, e.err) }
func (e *stmtError) Unwrap() error { return e.err }

// valueTaken reports whether err is a duplicate key on the table's own statement, the first of the
// transaction: a random value that another row holds (two workers can draw the same). Nothing was
// written; a duplicate on the oracle's statement, after the table's succeeded, is a divergence and
// is not this.
func (g *Generator) valueTaken(err error) bool {
	var se *stmtError
	var me *mysql.MySQLError
	return errors.As(err, &se) && se.table == g.target && errors.As(err, &me) && me.Number == 1062
}

// rand returns a random source for one goroutine.
func (g *Generator) rand() *rand.Rand {
	s := g.seeds.Add(0x9E3779B97F4A7C15)
	return rand.New(rand.NewPCG(s, s>>7))
}

// isConflict reports whether err is a lock conflict worth retrying: a deadlock, a lock wait timeout,
// or a table definition changed under a transaction (a swap can cause one).
func isConflict(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1205, 1213, 1412, 1614:
		return true
	}
	return false
}

func isConnError(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, sql.ErrConnDone)
}

// Stats are the counts and latencies of the transactions run so far.
type Stats struct {
	Committed int64
	// Failed transactions were rolled back for an error other than a lock conflict.
	Failed int64
	// Conflicts are attempts that hit a deadlock or lock wait timeout (and were retried or given up).
	Conflicts int64
	// Divergent transactions changed a different number of rows in the table and in the oracle: the
	// two held different rows at that moment.
	Divergent int64
	// Errors are the first few distinct failures and divergences, for a report.
	Errors []string
	// Ops counts the committed transactions of each operation (insert, update, update-key, delete,
	// upsert, replace).
	Ops map[string]OpStats
	// Latencies of the committed transactions, from BEGIN to the end of COMMIT (retries included),
	// in ascending order.
	Latencies []time.Duration
}

// OpStats count the committed transactions of one operation.
type OpStats struct {
	Committed int64
	// Unchanged transactions changed no row: the row was not found, or got the values it had.
	// Many of them mean the operations miss their rows.
	Unchanged int64
}

// Percentile returns the latency below which a fraction p (0..1) of the transactions committed.
func (s Stats) Percentile(p float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(s.Latencies)-1))
	return s.Latencies[max(0, min(i, len(s.Latencies)-1))]
}

// Stats returns a snapshot of the counts and latencies.
func (g *Generator) Stats() Stats { return g.stats.snapshot() }

const maxErrors = 5

type recorder struct {
	mu                                      sync.Mutex
	committed, failed, conflicts, divergent int64
	errors                                  []string
	latencies                               []time.Duration
	ends                                    []time.Time // when each committed, in the same order
	ops                                     map[string]OpStats
}

func (r *recorder) commit(op string, d time.Duration, unchanged bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.committed++
	r.latencies = append(r.latencies, d)
	r.ends = append(r.ends, time.Now())
	if r.ops == nil {
		r.ops = map[string]OpStats{}
	}
	s := r.ops[op]
	s.Committed++
	if unchanged {
		s.Unchanged++
	}
	r.ops[op] = s
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	r.note(err.Error())
}

func (r *recorder) diverge(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.divergent++
	r.note(msg)
}

func (r *recorder) conflict() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conflicts++
}

// note keeps the first few distinct messages; r.mu is held.
func (r *recorder) note(msg string) {
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if len(r.errors) >= maxErrors {
		return
	}
	for _, e := range r.errors {
		if e == msg {
			return
		}
	}
	r.errors = append(r.errors, msg)
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{Committed: r.committed, Failed: r.failed, Conflicts: r.conflicts, Divergent: r.divergent,
		Errors: append([]string(nil), r.errors...), Latencies: append([]time.Duration(nil), r.latencies...), Ops: map[string]OpStats{}}
	for op, o := range r.ops {
		s.Ops[op] = o
	}
	sort.Slice(s.Latencies, func(i, j int) bool { return s.Latencies[i] < s.Latencies[j] })
	return s
}
