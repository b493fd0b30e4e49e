package localtests

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

const (
	// seedRows are written before the migration; in chunks of at most chunkSize rows the copy takes
	// long enough (150 chunks or more) for the load to hit rows before, inside and after the chunk
	// being copied.
	seedRows  = 3000
	chunkSize = 20
	// The load: loadWorkers sessions writing loadRate transactions per second in total.
	loadWorkers = 4
	loadRate    = 200
	// loadAfter is how long the load goes on after doppel exits: writes right after the swap must
	// land in the new table.
	loadAfter = 500 * time.Millisecond
	// doppelTimeout bounds one doppel run; a case takes a few seconds, but on a slow machine running
	// other packages' tests beside it the replica lags and doppel rightly waits for it (two cases
	// went past 3 minutes so in a clean-clone CI run).
	doppelTimeout = 6 * time.Minute
)

// caseRun is one case being run in its own database.
type caseRun struct {
	t        *testing.T
	ctx      context.Context
	bin      string
	f        *fixture
	serverID uint32
	schema   string
	primary  *sql.DB
	replica  *sql.DB
	// replicaPause, when set, stops replication as doppel starts and resumes it after this long.
	replicaPause time.Duration
	// during, when set, runs while doppel runs, once it has started (to steer it).
	during func(p *doppelProc)
}

func newCase(t *testing.T, bin string, f *fixture, serverID uint32) *caseRun {
	c := &caseRun{t: t, ctx: context.Background(), bin: bin, f: f, serverID: serverID, schema: sb.NewDatabase(t)}
	var err error
	if c.primary, err = sb.Primary.DB(c.schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.primary.Close() })
	if c.replica, err = sb.Replica.DB(c.schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.replica.Close() })
	return c
}

func (c *caseRun) run() {
	c.runCreateSQL()
	if len(c.f.expectFailure) > 0 {
		c.runFailure()
	} else {
		c.runSuccess()
	}
}

// runCreateSQL runs create.sql on the primary, through a connection that allows several statements.
func (c *caseRun) runCreateSQL() {
	cfg := sb.Primary.Config()
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr, mc.DBName = cfg.User, cfg.Password, "tcp", cfg.Addr(), c.schema
	mc.MultiStatements = true
	mc.Collation = "utf8mb4_general_ci"
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		c.t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	if _, err := db.ExecContext(c.ctx, c.f.create); err != nil {
		c.t.Fatalf("create.sql: %v", err)
	}
}

// oracle is the name of the oracle table: <table>__oracle, the table's name cut short when that
// would exceed MySQL's 64 characters.
func (c *caseRun) oracle() string {
	const suffix, maxLen = "__oracle", 64
	name := []rune(c.f.table)
	if len(name)+len(suffix) > maxLen {
		name = name[:maxLen-len(suffix)]
	}
	return string(name) + suffix
}

func (c *caseRun) q(name string) string { return sqlbuild.QualifiedName(c.schema, name) }

func (c *caseRun) exec(query string) {
	c.t.Helper()
	if _, err := c.primary.ExecContext(c.ctx, query); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
}

// runSuccess migrates the table under load and checks the result against the natively altered oracle.
func (c *caseRun) runSuccess() {
	alt := c.setUp()
	res, st, during := c.migrateUnderLoad(alt)
	c.checkMigrated(res, st, during)
}

// setUp creates the oracle and seeds both tables, and tells what the load may write.
func (c *caseRun) setUp() altered {
	c.exec("CREATE TABLE " + c.q(c.oracle()) + " LIKE " + c.q(c.f.table))
	alt := c.probeAlter()
	if err := c.generator(nil, alt.unique).Seed(c.ctx, seedRows); err != nil {
		c.t.Fatal(err)
	}
	// The replica has the table and its rows before doppel looks at it.
	if err := sb.WaitReplica(c.ctx); err != nil {
		c.t.Fatal(err)
	}
	return alt
}

// migrateUnderLoad runs doppel while the load runs, and the load on for loadAfter more. It returns
// doppel's result, the load's figures and how many transactions committed while doppel ran.
func (c *caseRun) migrateUnderLoad(alt altered) (doppelResult, loadgen.Stats, int64) {
	load := c.generator(alt.writable, alt.unique)
	stop := startLoad(c.ctx, load)
	defer func() { _ = stop() }() // on a t.Fatal below; the load's error is then moot
	c.waitForLoad(load)
	before := load.Stats().Committed
	p := c.startDoppel()
	if c.during != nil {
		c.during(p)
	}
	res := p.wait()
	during := load.Stats().Committed - before
	time.Sleep(loadAfter)
	if err := stop(); err != nil {
		c.t.Fatalf("the load: %v", err)
	}
	return res, load.Stats(), during
}

// checkMigrated checks a migration that must have succeeded.
func (c *caseRun) checkMigrated(res doppelResult, st loadgen.Stats, during int64) {
	t := c.t
	if res.code != 0 {
		t.Fatalf("doppel exited with %d; output:\n%s", res.code, tail(res.output))
	}
	defer func() {
		if t.Failed() {
			t.Logf("doppel's output:\n%s", tail(res.output))
		}
	}()
	c.checkLoad(st, during, res.output)
	for _, line := range strings.Split(res.output, "\n") {
		if strings.Contains(line, "\tWARN\t") || strings.Contains(line, "\tERROR\t") {
			t.Logf("doppel: %s", line) // worth a look even when the migration succeeded
		}
		if strings.HasPrefix(line, "doppel: migrated ") {
			t.Log(line) // how long the table was blocked at the cut-over, for the record
		}
	}

	c.exec("ALTER TABLE " + c.q(c.oracle()) + " " + c.f.alter)
	for _, col := range c.f.oracleDefaults {
		c.exec("UPDATE " + c.q(c.oracle()) + " SET " + sqlbuild.QuoteIdent(col) + " = DEFAULT")
	}
	c.checkSameDefinition(c.primary, c.f.table, c.primary, c.oracle())
	key := c.keyOf(c.primary, c.f.table)
	if len(c.f.numbered) > 0 {
		c.checkNumbered()
	} else if err := loadgen.Compare(c.ctx, c.primary, c.schema, c.f.table, c.oracle(), key); err != nil {
		t.Errorf("the migrated table does not hold what the oracle holds: %v", err)
	}
	c.checkHelperTables(c.f.table, map[string]bool{"_del": !hasFlag(c.f.args, "ok-to-drop-table")})

	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}
	c.checkSameDefinition(c.primary, c.f.table, c.replica, c.f.table)
	if err := c.compareWithReplica(c.f.table, key); err != nil {
		// The oracle never went through doppel: if it differs too, replication itself diverged.
		t.Errorf("the replica's table differs from the primary's: %v\n(the oracle on the replica: %v)", err, c.compareWithReplica(c.oracle(), key))
	}
}

func (c *caseRun) compareWithReplica(name string, key []string) error {
	return loadgen.CompareTables(c.ctx, loadgen.Side{DB: c.primary, Schema: c.schema, Table: name},
		loadgen.Side{DB: c.replica, Schema: c.schema, Table: name}, key)
}

// generator returns a load generator on the table and its oracle writing columns (all when nil),
// keeping the values of the unique columns distinct.
func (c *caseRun) generator(columns, unique []string) *loadgen.Generator {
	c.t.Helper()
	g, err := loadgen.New(c.ctx, loadgen.Config{
		DB: c.primary, Schema: c.schema, Table: c.f.table, Oracle: c.oracle(), Columns: columns, Unique: unique,
		Workers: loadWorkers, Rate: float64(cmp.Or(c.f.loadRate, loadRate)), TimeZone: c.f.timeZone,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return g
}

// startLoad runs the load in the background; stop ends it, waits until no transaction is in
// flight and returns its error (the first call; later calls return nil).
func startLoad(ctx context.Context, load *loadgen.Generator) (stop func() error) {
	loadCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- load.Run(loadCtx) }()
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
}

// waitForLoad returns once the load has committed a first few transactions, so that doppel starts
// on a table that is being written.
func (c *caseRun) waitForLoad(g *loadgen.Generator) {
	deadline := time.Now().Add(10 * time.Second)
	for g.Stats().Committed < 10 {
		if time.Now().After(deadline) {
			c.t.Fatalf("the load does not get going: %+v", g.Stats().Errors)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var replayedRE = regexp.MustCompile(`(\d+) changes replayed`)

// checkLoad makes sure the load really ran alongside the migration, and that no transaction failed
// or saw the table and the oracle disagree.
func (c *caseRun) checkLoad(st loadgen.Stats, during int64, output string) {
	t := c.t
	t.Logf("load: %d committed (%d while doppel ran), %d conflicts; latency p50 %v p95 %v p99 %v",
		st.Committed, during, st.Conflicts, st.Percentile(0.5), st.Percentile(0.95), st.Percentile(0.99))
	divergent := st.Divergent
	if len(c.f.noWrite) > 0 || len(c.f.numbered) > 0 {
		// The columns the load leaves alone legitimately differ between the table and the oracle
		// after the swap, and a REPLACE resets them: the counts of changed rows can differ. So does
		// a numbered column (an added AUTO_INCREMENT): a REPLACE that writes a row's own values
		// again changes nothing in the oracle (1 row counted) but renumbers it in the table (2).
		// The comparison at the end still checks every row.
		divergent = 0
	}
	if st.Failed > 0 || divergent > 0 {
		t.Errorf("load: %d transactions failed, %d saw the table and the oracle differ: %s",
			st.Failed, divergent, strings.Join(st.Errors, " | "))
	}
	if during < 20 {
		t.Errorf("only %d transactions committed while doppel ran: the load did not overlap the migration", during)
	}
	m := replayedRE.FindStringSubmatch(output)
	if m == nil {
		t.Errorf("doppel's output does not say how many changes it replayed:\n%s", tail(output))
	} else if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("doppel replayed no change from the binlog: the load did not overlap the copy")
	}
}

// altered describes the table as the ALTER leaves it, as far as the load needs to know.
type altered struct {
	// writable are the columns the load may write: those of the table that the ALTER keeps under
	// the same name and that are not generated, less the case's no_write.
	writable []string
	// unique are the columns of the altered table's unique keys: their values must not repeat,
	// or a unique key the ALTER adds would reject the load's rows.
	unique []string
}

// probeAlter applies the ALTER to a TEMPORARY copy of the table, which is private to this session
// and not written to the binlog, and reads the result. A partitioned table cannot be TEMPORARY: when
// the table or the altered one is partitioned, the copy is a real table, dropped at once (before
// doppel starts).
func (c *caseRun) probeAlter() altered {
	t := c.t
	conn, err := c.primary.Conn(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	probe := c.q("_localtests_probe")
	temporary := "TEMPORARY "
	// The partition engine refuses TEMPORARY (1478), and InnoDB a FULLTEXT index on a temporary
	// table (1796): then the probe is an ordinary table.
	noTemporary := func(err error) bool {
		var me *mysql.MySQLError
		return errors.As(err, &me) && (me.Number == 1478 || me.Number == 1796)
	}
	if _, err = conn.ExecContext(c.ctx, "CREATE TEMPORARY TABLE "+probe+" LIKE "+c.q(c.f.table)); err == nil {
		if _, err = conn.ExecContext(c.ctx, "ALTER TABLE "+probe+" "+c.f.alter); noTemporary(err) {
			if _, err := conn.ExecContext(c.ctx, "DROP TEMPORARY TABLE "+probe); err != nil {
				t.Fatal(err)
			}
		}
	}
	if noTemporary(err) {
		temporary = ""
		c.exec("CREATE TABLE " + probe + " LIKE " + c.q(c.f.table))
		_, err = conn.ExecContext(c.ctx, "ALTER TABLE "+probe+" "+c.f.alter)
	}
	if err != nil {
		t.Fatalf("applying the ALTER to a copy: %v", err)
	}
	after := columnsOf(t, conn, probe)
	var a altered
	a.unique = uniqueColumnsOf(t, conn, probe)
	if _, err := conn.ExecContext(c.ctx, "DROP "+temporary+"TABLE "+probe); err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{}
	for _, n := range c.f.noWrite {
		skip[strings.ToLower(n)] = true
	}
	for _, col := range columnsOf(t, conn, c.q(c.f.table)) {
		name := strings.ToLower(col.name)
		kept, ok := findColumn(after, name)
		if !col.generated && ok && !kept.generated && !skip[name] {
			a.writable = append(a.writable, col.name)
		}
	}
	return a
}

// uniqueColumnsOf reads the columns of the unique keys of a table with SHOW INDEX, which also sees
// temporary tables.
func uniqueColumnsOf(t *testing.T, conn *sql.Conn, qualified string) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW INDEX FROM "+qualified)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]sql.RawBytes, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for i, n := range names {
			row[n] = string(vals[i])
		}
		if row["Non_unique"] == "0" && row["Column_name"] != "" {
			out = append(out, row["Column_name"])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type columnInfo struct {
	name      string
	generated bool
}

func findColumn(cols []columnInfo, lowerName string) (columnInfo, bool) {
	for _, c := range cols {
		if strings.ToLower(c.name) == lowerName {
			return c, true
		}
	}
	return columnInfo{}, false
}

// columnsOf reads SHOW COLUMNS, which also sees temporary tables.
func columnsOf(t *testing.T, conn *sql.Conn, qualified string) []columnInfo {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW COLUMNS FROM "+qualified)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []columnInfo
	for rows.Next() {
		var field, typ, null, key, extra []byte
		var def sql.RawBytes
		if err := rows.Scan(&field, &typ, &null, &key, &def, &extra); err != nil {
			t.Fatal(err)
		}
		out = append(out, columnInfo{name: string(field), generated: bytes.Contains(bytes.ToUpper(extra), []byte("GENERATED"))})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// keyOf returns the key rows of the table are compared by.
func (c *caseRun) keyOf(db *sql.DB, name string) []string {
	c.t.Helper()
	if c.f.compareKey != nil {
		return c.f.compareKey
	}
	tbl, err := table.Inspect(c.ctx, db, c.schema, name)
	if err != nil {
		c.t.Fatal(err)
	}
	key, err := loadgen.KeyColumns(tbl)
	if err != nil {
		c.t.Fatal(err)
	}
	return key
}

// checkNumbered checks a table whose ALTER adds AUTO_INCREMENT columns (the case's numbered): every
// row has a number in each, no number repeats, and every other column equals the oracle's. The
// comparison is made on copies of both tables without those columns, matched by a unique key that
// does not use them.
func (c *caseRun) checkNumbered() {
	t := c.t
	for _, n := range c.f.numbered {
		var rows, numbered, distinct int64
		q := fmt.Sprintf("SELECT COUNT(*), COUNT(%s), COUNT(DISTINCT %s) FROM %s", sqlbuild.QuoteIdent(n), sqlbuild.QuoteIdent(n), c.q(c.f.table))
		if err := c.primary.QueryRowContext(c.ctx, q).Scan(&rows, &numbered, &distinct); err != nil {
			t.Fatal(err)
		}
		if numbered != rows || distinct != rows {
			t.Errorf("column %s numbers %d of %d rows with %d distinct numbers", n, numbered, rows, distinct)
		}
	}
	var cols []string
	for _, col := range c.storedColumns(c.f.table) {
		if !slices.ContainsFunc(c.f.numbered, func(n string) bool { return strings.EqualFold(n, col) }) {
			cols = append(cols, col)
		}
	}
	copies := map[string]string{c.f.table: "_localtests_cmp_table", c.oracle(): "_localtests_cmp_oracle"}
	for from, to := range copies {
		c.exec("CREATE TABLE " + c.q(to) + " LIKE " + c.q(from))
		for _, n := range c.f.numbered {
			c.exec("ALTER TABLE " + c.q(to) + " DROP COLUMN " + sqlbuild.QuoteIdent(n))
		}
		c.exec("INSERT INTO " + c.q(to) + " (" + sqlbuild.QuoteIdents(cols) + ") SELECT " + sqlbuild.QuoteIdents(cols) + " FROM " + c.q(from))
	}
	key := c.keyOf(c.primary, copies[c.f.table])
	if err := loadgen.Compare(c.ctx, c.primary, c.schema, copies[c.f.table], copies[c.oracle()], key); err != nil {
		t.Errorf("the migrated table does not hold what the oracle holds (numbered columns aside): %v", err)
	}
}

var autoIncrementRE = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// showCreate returns SHOW CREATE TABLE of name (or the view's definition), with the name itself and
// the AUTO_INCREMENT counter taken out.
func (c *caseRun) showCreate(db *sql.DB, name string) string {
	c.t.Helper()
	rows, err := db.QueryContext(c.ctx, "SHOW CREATE TABLE "+c.q(name))
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		c.t.Fatal(err)
	}
	if !rows.Next() {
		c.t.Fatalf("SHOW CREATE TABLE %s returned nothing: %v", name, rows.Err())
	}
	vals := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		c.t.Fatal(err)
	}
	ddl := strings.Replace(string(vals[1]), sqlbuild.QuoteIdent(name), "`<table>`", 1)
	return autoIncrementRE.ReplaceAllString(ddl, "")
}

func (c *caseRun) checkSameDefinition(dbA *sql.DB, a string, dbB *sql.DB, b string) {
	c.t.Helper()
	if da, db := c.showCreate(dbA, a), c.showCreate(dbB, b); da != db {
		c.t.Errorf("SHOW CREATE TABLE differs:\n%s:\n%s\n%s:\n%s", a, da, b, db)
	}
}

// helperTables returns which of doppel's helper tables for name exist: _gho, _ghc and _del.
func (c *caseRun) helperTables(name string) map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	for suffix, helper := range helperNames(name) {
		ok, err := table.Exists(c.ctx, c.primary, c.schema, helper)
		if err != nil {
			c.t.Fatal(err)
		}
		out[suffix] = ok
	}
	return out
}

// helperNames are the names of doppel's helper tables for name, by gh-ost's suffix.
func helperNames(name string) map[string]string {
	return map[string]string{"_gho": table.GhostName(name), "_ghc": table.ChangelogName(name), "_del": table.OldName(name)}
}

// checkHelperTables checks that exactly the wanted helper tables of name exist.
func (c *caseRun) checkHelperTables(name string, want map[string]bool) {
	c.t.Helper()
	got := c.helperTables(name)
	for suffix, helper := range helperNames(name) {
		if got[suffix] != want[suffix] {
			c.t.Errorf("table %s exists: %v, want %v", helper, got[suffix], want[suffix])
		}
	}
}

// runFailure runs doppel on a case it must refuse, and checks that nothing changed.
func (c *caseRun) runFailure() {
	t := c.t
	isTable := c.isBaseTable(c.f.table)
	ddl := c.showCreate(c.primary, c.f.table)
	if isTable {
		// The oracle is a copy of the rows create.sql wrote: the table must still hold them.
		cols := sqlbuild.QuoteIdents(c.storedColumns(c.f.table))
		c.exec("CREATE TABLE " + c.q(c.oracle()) + " LIKE " + c.q(c.f.table))
		c.exec("INSERT INTO " + c.q(c.oracle()) + " (" + cols + ") SELECT " + cols + " FROM " + c.q(c.f.table))
	}
	names := []string{c.f.table}
	for _, a := range c.f.args {
		if v, ok := flagValue(a, "table"); ok {
			names = append(names, v)
		}
	}
	helpers := map[string]map[string]bool{}
	for _, n := range names {
		helpers[n] = c.helperTables(n)
	}
	// The replica has everything create.sql did before doppel inspects it there.
	if err := sb.WaitReplica(c.ctx); err != nil {
		t.Fatal(err)
	}

	res := c.doppel()
	if res.code == 0 {
		t.Fatalf("doppel succeeded, want a failure saying %q; output:\n%s", c.f.expectFailure, tail(res.output))
	}
	for _, want := range c.f.expectFailure {
		if !strings.Contains(res.output, want) {
			t.Errorf("doppel's output lacks %q:\n%s", want, tail(res.output))
		}
	}
	if after := c.showCreate(c.primary, c.f.table); after != ddl {
		t.Errorf("the table's definition changed:\nbefore:\n%s\nafter:\n%s", ddl, after)
	}
	if isTable {
		if err := loadgen.Compare(c.ctx, c.primary, c.schema, c.f.table, c.oracle(), c.storedColumns(c.f.table)); err != nil {
			t.Errorf("the table's rows changed: %v", err)
		}
	}
	// doppel neither created nor dropped a helper table (leftovers of create.sql stay).
	for _, n := range names {
		c.checkHelperTables(n, helpers[n])
	}
	if c.f.planDiffers == "" {
		c.checkPlanRefuses()
	}
}

// planFlags are the flags of a case that doppel plan takes too: those that decide whether a
// migration refuses the change.
var planFlags = []string{"alter", "database", "table", "approve-renamed-columns", "skip-renamed-columns", "allow-unique-key-change", "allow-zero-in-date",
	"include-triggers", "trigger-suffix", "remove-trigger-suffix-if-exists", "allow-nullable-unique-key", "discard-foreign-keys", "skip-foreign-key-checks"}

// checkPlanRefuses runs doppel plan on a case a migration refuses: it must refuse it too (exit 2),
// saying what the migration said.
func (c *caseRun) checkPlanRefuses() {
	cfg := sb.Primary.Config()
	args := []string{"plan", "--host=" + cfg.Host, "--port=" + strconv.Itoa(cfg.Port), "--user=" + cfg.User, "--database=" + c.schema, "--table=" + c.f.table}
	for _, a := range c.f.args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if slices.Contains(planFlags, name) {
			args = append(args, a)
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.bin, args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		c.t.Errorf("doppel plan did not refuse what the migration refuses (%v); add plan_differs with the reason if it should not:\n%s", err, tail(string(out)))
		return
	}
	for _, want := range c.f.expectFailure {
		if !strings.Contains(string(out), want) {
			c.t.Errorf("doppel plan's refusal lacks %q:\n%s", want, tail(string(out)))
		}
	}
}

func (c *caseRun) isBaseTable(name string) bool {
	var typ string
	err := c.primary.QueryRowContext(c.ctx, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		c.schema, name).Scan(&typ)
	if err != nil {
		c.t.Fatalf("looking up %s: %v", name, err)
	}
	return typ == "BASE TABLE"
}

// storedColumns returns the table's columns that are not generated, invisible ones included.
func (c *caseRun) storedColumns(name string) []string {
	tbl, err := table.Inspect(c.ctx, c.primary, c.schema, name)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, col := range tbl.Columns {
		if !col.Generated {
			out = append(out, col.Name)
		}
	}
	return out
}

type doppelResult struct {
	code   int
	output string
}

// doppel runs the doppel binary on the case to its end.
func (c *caseRun) doppel() doppelResult {
	c.t.Helper()
	return c.startDoppel().wait()
}

// A doppelProc is a running doppel.
type doppelProc struct {
	c       *caseRun
	cmd     *exec.Cmd
	out     *syncBuffer
	socket  string // its control socket
	start   time.Time
	cleanup []func() // run by wait, last first
}

// startDoppel starts the doppel binary on the case: against the replica (gh-ost's default
// topology), or the primary when the case passes --allow-on-master.
func (c *caseRun) startDoppel() *doppelProc {
	c.t.Helper()
	p := &doppelProc{c: c, out: &syncBuffer{}}
	server := sb.Replica
	if hasFlag(c.f.args, "allow-on-master") {
		server = sb.Primary
	}
	cfg := server.Config()
	// The control socket goes to a directory of the case's own: its default path in /tmp is named
	// after database and table, which another run of these tests on this machine can share.
	sockDir, err := os.MkdirTemp("", "dpl")
	if err != nil {
		c.t.Fatal(err)
	}
	p.cleanup = append(p.cleanup, func() { os.RemoveAll(sockDir) })
	p.socket = filepath.Join(sockDir, "doppel.sock")
	args := []string{
		"--host=" + cfg.Host, "--port=" + strconv.Itoa(cfg.Port), "--user=" + cfg.User,
		"--database=" + c.schema, "--execute",
		"--chunk-size=" + strconv.Itoa(chunkSize), "--replica-server-id=" + strconv.Itoa(int(c.serverID)),
		"--serve-socket-file=" + p.socket,
	}
	// A --table in extra_args names the table instead (a repeated --table pairs with an --alter).
	if !slices.ContainsFunc(c.f.args, func(a string) bool { _, ok := flagValue(a, "table"); return ok }) {
		args = append(args, "--table="+c.f.table)
	}
	args = append(args, c.f.args...)
	ctx, cancel := context.WithTimeout(c.ctx, doppelTimeout)
	p.cleanup = append(p.cleanup, cancel)
	p.cmd = exec.CommandContext(ctx, c.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if c.replicaPause > 0 {
		resume := c.pauseReplication()
		timer := time.AfterFunc(c.replicaPause, resume)
		p.cleanup = append(p.cleanup, func() {
			timer.Stop()
			resume() // at once when doppel exited early
		})
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		p.runCleanup()
		c.t.Fatalf("starting doppel: %v", err)
	}
	return p
}

// wait waits for doppel to exit and returns its exit code and output.
func (p *doppelProc) wait() doppelResult {
	p.c.t.Helper()
	err := p.cmd.Wait()
	p.runCleanup()
	p.c.t.Logf("doppel ran %v", time.Since(p.start).Round(time.Millisecond))
	var exit *exec.ExitError
	switch {
	case err == nil:
		return doppelResult{code: 0, output: p.out.String()}
	case errors.As(err, &exit) && exit.ProcessState.Exited():
		return doppelResult{code: exit.ExitCode(), output: p.out.String()}
	}
	p.c.t.Fatalf("running doppel: %v\n%s", err, tail(p.out.String()))
	return doppelResult{}
}

func (p *doppelProc) runCleanup() {
	for i := len(p.cleanup) - 1; i >= 0; i-- {
		p.cleanup[i]()
	}
	p.cleanup = nil
}

// waitFor returns once doppel's output holds text; the test fails if it does not within a minute,
// or if doppel exits first.
func (p *doppelProc) waitFor(text string) {
	p.c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.out.String(), text) {
		if time.Now().After(deadline) {
			p.c.t.Fatalf("doppel did not say %q within a minute:\n%s", text, tail(p.out.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command sends one interactive command over doppel's control socket and returns the answer. The
// socket appears a moment after doppel starts: it is retried for ten seconds.
func (p *doppelProc) command(line string) string {
	p.c.t.Helper()
	var conn net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if conn, err = net.Dial("unix", p.socket); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.c.t.Fatalf("connecting to doppel's control socket: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		p.c.t.Fatalf("sending %q to doppel: %v", line, err)
	}
	answer, err := io.ReadAll(conn)
	if err != nil {
		p.c.t.Fatalf("reading doppel's answer to %q: %v", line, err)
	}
	return string(answer)
}

// syncBuffer is a bytes.Buffer that doppel's output can be written to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pauseReplication stops replication on the replica and returns the function that starts it again
// (once, however often it is called).
func (c *caseRun) pauseReplication() (resume func()) {
	c.t.Helper()
	if _, err := c.replica.ExecContext(c.ctx, sb.Flavor.StopReplicaSQL()); err != nil {
		c.t.Fatalf("stopping replication: %v", err)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			if _, err := c.replica.ExecContext(c.ctx, sb.Flavor.StartReplicaSQL()); err != nil {
				c.t.Errorf("starting replication again: %v", err)
			}
		})
	}
	c.t.Cleanup(resume)
	return resume
}

// tail returns the end of a long output, which is where doppel says what went wrong.
func tail(s string) string {
	const keep = 4000
	if len(s) <= keep {
		return s
	}
	return fmt.Sprintf("[… %d bytes]\n%s", len(s)-keep, s[len(s)-keep:])
}
