package fidelity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/migration"
)

var sb *sandbox.Sandbox

// The sandbox runs in a time zone that is not UTC, as many servers do: a native ALTER converts
// TIMESTAMP to and from the other temporal types, text and numbers in the session's time zone, the
// server's default. Its max_allowed_packet is MySQL 5.7's default, 4 MB: the large-BLOB cells hold
// values whose escaped text does not fit in it.
const (
	serverTimeZone    = "+05:30"
	maxAllowedPacket  = "4M"
	chunkSize         = 10               // rows per copy chunk: every table spans several
	maxParallel       = 2                // source types migrated at once, on a 2-core machine that hosts both servers
	doppelTimeout     = time.Minute      // one doppel run: a few seconds
	hangAfter         = 15 * time.Second // more, and doppel has not returned after its context ended
	firstDoppelServer = 3000             // binlog server ids of the doppel runs: each run its own
)

func TestMain(m *testing.M) {
	sandbox.RunTests(m, sandbox.Options{ExtraArgs: []string{
		"--default-time-zone=" + serverTimeZone, "--max-allowed-packet=" + maxAllowedPacket,
	}}, &sb)
}

var serverIDs atomic.Uint32

func nextServerID() uint32 { return firstDoppelServer + serverIDs.Add(1) }

// TestMatrix migrates every source type of the matrix to each of its targets and compares the
// result with the native ALTER; see docs/testing.md.
func TestMatrix(t *testing.T) {
	var mu sync.Mutex
	var all []*sourceResult
	t.Run("source", func(t *testing.T) {
		sem := make(chan struct{}, maxParallel)
		for i := range matrix {
			src := &matrix[i]
			t.Run(src.name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				res := runSource(t, src)
				for _, r := range res {
					r.order = i
				}
				mu.Lock()
				all = append(all, res...)
				mu.Unlock()
			})
		}
	})
	summarize(t, all)
}

// runSource runs one source type: its table with a column per target (migrated through the
// primary) and, for a key type, its table keyed by the type (migrated through the replica).
func runSource(t *testing.T, src *source) []*sourceResult {
	r := newRunner(t, src)
	main := newLayout(src, false)
	out := []*sourceResult{r.runTable(main)}
	if src.key {
		out = append(out, r.runTable(newLayout(src, true)))
	}
	bad, cells := 0, 0
	for _, res := range out {
		for _, o := range res.outcomes {
			cells++
			switch o.verdict {
			case wrong:
				bad++
			case refusedOK:
				t.Logf("refused up front, as the server refuses it: %s → %s (%s)", o.cell.src, o.cell.target, o.detail)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cells are WRONG (listed below the matrix's table)", bad, cells)
	}
	return out
}

// runner runs the cells of one source type in its own database.
type runner struct {
	t       *testing.T
	ctx     context.Context
	schema  string
	src     *source
	primary *sql.DB // doppel's session settings: for reading and comparing
	replica *sql.DB
	// native has the server's own sql_mode and time zone, as a user's session has them: the native
	// ALTERs run in it. data is native with the source's sql_mode, if it has one: the values are
	// written in it.
	native, data *sql.DB
}

// newRunner gives src a database of its own and the pools on it, closed when t ends.
func newRunner(t *testing.T, src *source) *runner {
	r := &runner{t: t, ctx: context.Background(), schema: sb.NewDatabase(t), src: src}
	var err error
	if r.primary, err = sb.Primary.DB(r.schema); err != nil {
		t.Fatal(err)
	}
	if r.replica, err = sb.Replica.DB(r.schema); err != nil {
		t.Fatal(err)
	}
	r.native, r.data = r.serverSession(""), r.serverSession(src.sqlMode)
	t.Cleanup(func() {
		for _, db := range []*sql.DB{r.primary, r.replica, r.native, r.data} {
			db.Close()
		}
	})
	return r
}

// serverSession opens a pool on the primary whose sessions keep the server's defaults (time zone,
// sql_mode unless sqlMode is given), unlike doppel's, so that no SET changes a pooled session.
func (r *runner) serverSession(sqlMode string) *sql.DB {
	c := sb.Primary.Config()
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr, mc.DBName = c.User, c.Password, "tcp", c.Addr(), r.schema
	mc.Collation = "utf8mb4_general_ci"
	if sqlMode != "" {
		mc.Params = map[string]string{"sql_mode": "'" + sqlMode + "'"}
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		r.t.Fatal(err)
	}
	return sql.OpenDB(connector)
}

// runTable finds with the server which cells of l a native ALTER accepts, runs doppel on each cell
// it refuses (doppel must refuse it too, up front) and on all accepted cells in one migration.
func (r *runner) runTable(l *layout) *sourceResult {
	res := &sourceResult{label: l.label(), rows: len(l.keys)}
	r.rebuild(l)
	accepted, refused := r.probe(l)
	if len(accepted) == 0 {
		r.t.Fatalf("%s: the server accepts none of its targets: the matrix needs at least one migration per table", l.label())
	}
	if !l.keyed {
		for _, c := range refused {
			res.add(r.refusal(l, c))
		}
	}
	r.migrate(l, accepted, res)
	return res
}

// session returns a connection of the native pool, or with dataMode of the data pool.
func (r *runner) session(dataMode bool) *sql.Conn {
	r.t.Helper()
	db := r.native
	if dataMode {
		db = r.data
	}
	conn, err := db.Conn(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return conn
}

func (r *runner) q(name string) string { return sqlbuild.QualifiedName(r.schema, name) }

// rebuild drops what an earlier run left of l's table and creates it and its oracle afresh, with
// the same rows, and waits until the replica has them.
func (r *runner) rebuild(l *layout) {
	r.t.Helper()
	conn := r.session(true)
	defer conn.Close()
	var stmts []string
	for _, n := range []string{l.name, l.oracle(), "_" + l.name + "_gho", "_" + l.name + "_ghc", "_" + l.name + "_del"} {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+r.q(n))
	}
	stmts = append(stmts, l.createSQL(r.q(l.name)), "CREATE TABLE "+r.q(l.oracle())+" LIKE "+r.q(l.name))
	for _, tbl := range []string{l.name, l.oracle()} {
		stmts = append(stmts, l.insertSQL(r.q(tbl))...)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(r.ctx, s); err != nil {
			r.t.Fatalf("setting up %s: %s: %v", l.label(), shortSQL(s), err)
		}
	}
	r.waitReplica()
}

func (r *runner) waitReplica() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// probe tries each cell's MODIFY natively on a temporary copy of the table (private to the
// session, not in the binlog) and sorts the cells into those the server accepts and those it
// refuses, with its reason.
func (r *runner) probe(l *layout) (accepted, refused []*cell) {
	r.t.Helper()
	conn := r.session(false)
	defer conn.Close()
	const probe = "_fidelity_probe"
	cols := sqlbuild.QuoteIdents(l.storedColumns())
	for _, c := range l.cells {
		if c.unchanged {
			continue
		}
		stmts := []string{
			"DROP TEMPORARY TABLE IF EXISTS " + r.q(probe),
			"CREATE TEMPORARY TABLE " + r.q(probe) + " LIKE " + r.q(l.name),
			"INSERT INTO " + r.q(probe) + " (" + cols + ") SELECT " + cols + " FROM " + r.q(l.name),
		}
		for _, s := range stmts {
			if _, err := conn.ExecContext(r.ctx, s); err != nil {
				r.t.Fatalf("probing %s: %s: %v", l.label(), shortSQL(s), err)
			}
		}
		if _, err := conn.ExecContext(r.ctx, "ALTER TABLE "+r.q(probe)+" "+c.modify()); err != nil {
			c.serverErr = err.Error()
			refused = append(refused, c)
		} else {
			accepted = append(accepted, c)
		}
	}
	if _, err := conn.ExecContext(r.ctx, "DROP TEMPORARY TABLE IF EXISTS "+r.q(probe)); err != nil {
		r.t.Fatal(err)
	}
	return accepted, refused
}

// doppelConfig is a migration of l's table with alter: through the primary (--allow-on-master),
// or for a keyed table through the replica, in chunks of chunkSize rows.
func (r *runner) doppelConfig(l *layout, alter string) migration.Config {
	c := migration.DefaultConfig()
	c.Conn = sb.Primary.Config()
	c.AllowOnMaster = true
	if l.keyed {
		c.Conn, c.AllowOnMaster = sb.Replica.Config(), false
	}
	c.Database, c.Table, c.Alter = r.schema, l.name, alter
	c.Execute = true
	c.ChunkSize = chunkSize
	c.ChunkTarget = 0 // always chunkSize rows, so the changes land before, in and after the copied range
	c.CopyWorkers = 1
	c.OkToDropTable = true
	c.CutOverLockTimeout = 2 * time.Second
	c.DefaultRetries = 3
	c.ServerID = nextServerID()
	// gh-ost's host-wide pause file must not pause the tests.
	c.Throttle.AdditionalFlagFile = ""
	return c
}

// errHung is doppel not returning although its context has ended.
var errHung = errors.New("doppel hung: it did not return after its context ended (its goroutines are in the log)")

// runDoppel runs doppel in-process. A run that does not return hangAfter its context ended is
// left behind (its goroutines are logged) and reported as errHung, so the matrix goes on.
func (r *runner) runDoppel(cfg migration.Config) (*migration.Result, error) {
	ctx, cancel := context.WithTimeout(r.ctx, doppelTimeout)
	defer cancel()
	type ended struct {
		res *migration.Result
		err error
	}
	done := make(chan ended, 1)
	go func() {
		res, err := migration.Run(ctx, cfg)
		done <- ended{res, err}
	}()
	select {
	case e := <-done:
		return e.res, e.err
	case <-time.After(doppelTimeout + hangAfter):
		r.t.Logf("doppel hung on %s.%s (%s); its goroutines:\n%s", cfg.Database, cfg.Table, cfg.Alter, doppelStacks())
		return nil, errHung
	}
}

// doppelStacks are the stacks of the goroutines running doppel's code or reading a result.
func doppelStacks() string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if (strings.Contains(g, "doppel-sql/doppel/") || strings.Contains(g, "database/sql.(*Rows)")) && !strings.Contains(g, "fidelity.") && !strings.Contains(g, "sandbox.") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}

// refusal runs doppel on one cell the server refuses: doppel must refuse it before creating
// anything, with the server's reason, and leave the table as it was.
func (r *runner) refusal(l *layout, c *cell) *outcome {
	r.t.Helper()
	o := &outcome{cell: c, phase: "refusal"}
	before := r.tables()
	cfg := r.doppelConfig(l, c.modify())
	_, err := r.runDoppel(cfg)
	reason := serverReason(c.serverErr)
	after := r.tables()
	switch {
	case err == nil:
		o.fail("migrated although the server refuses (%s)", c.serverErr)
	case errors.Is(err, errHung):
		o.fail("%v", err)
	case !migration.IsRefusal(err):
		o.fail("not refused up front as the server refuses it (%s); tables before the run %q, after %q: %s", reason, before, after, r.oneLine(err))
	case !strings.Contains(err.Error(), reason):
		o.fail("refused for another reason than the server's %q: %s", reason, r.oneLine(err))
	case after != before:
		o.fail("refused, but the tables changed from %q to %q", before, after)
	default:
		if d := r.diff(l, r.primary, l.name, r.primary, l.oracle()); d != "" {
			o.fail("refused, but the table changed: %s", d)
		} else {
			o.verdict = refusedOK
			o.detail = reason
		}
	}
	if o.verdict == wrong {
		r.rebuild(l)
	}
	return o
}

func (r *runner) tables() string {
	r.t.Helper()
	return sandbox.Tables(r.t, r.primary)
}

// migrate runs doppel on the cells in one migration, with the scripted changes made after the first
// chunk, and compares the result with the native ALTER. When doppel fails, the cells the server's
// error names are wrong and the others are tried again without them; when it names none (a
// refusal, a lost connection), the cells are split in halves, down to the ones that fail.
func (r *runner) migrate(l *layout, cells []*cell, res *sourceResult) {
	if len(cells) == 0 {
		return
	}
	a := r.attempt(l, cells, !res.unchangedDone)
	res.attempts++
	if a.err == nil {
		res.unchangedDone = true
		res.changes += a.changes
		res.replayed += a.replayed
		for _, o := range a.outcomes {
			res.add(o)
		}
		return
	}
	if c := unchangedNamed(l, cells, a.err); c != nil {
		// A column the ALTER leaves as it is fails: so will every migration of the table.
		u := l.unchanged()
		o := &outcome{cell: u, phase: a.phase()}
		o.fail("failed on %s, which this migration leaves unchanged: %s", c.col, r.oneLine(a.err))
		res.add(o)
		res.unchangedDone = true
		for _, c := range cells {
			o := &outcome{cell: c, phase: "not checked"}
			o.fail("every migration of the table fails on a column it leaves unchanged (see %s → %s)", u.src, u.target)
			res.add(o)
		}
		return
	}
	if errors.Is(a.err, errHung) {
		for _, c := range cells {
			o := &outcome{cell: c, phase: "hang"}
			o.fail("%v", a.err)
			res.add(o)
		}
		return
	}
	var named, rest []*cell
	for _, c := range cells {
		if !migration.IsRefusal(a.err) && c.namedIn(a.err.Error()) {
			named = append(named, c)
		} else {
			rest = append(rest, c)
		}
	}
	if len(named) == 0 && len(cells) > 1 {
		half := len(cells) / 2
		r.migrate(l, cells[:half], res)
		r.migrate(l, cells[half:], res)
		return
	}
	if len(named) == 0 {
		named, rest = cells, nil
	}
	for _, c := range named {
		o := &outcome{cell: c, phase: a.phase()}
		if migration.IsRefusal(a.err) {
			o.fail("refused although the server accepts it: %s", r.oneLine(a.err))
		} else {
			o.fail("failed: %s", r.oneLine(a.err))
		}
		res.add(o)
	}
	r.migrate(l, rest, res)
}

// unchangedNamed returns the column a migration of cells leaves unchanged that doppel's error
// names, or nil.
func unchangedNamed(l *layout, cells []*cell, err error) *cell {
	if migration.IsRefusal(err) {
		return nil
	}
	migrated := map[*cell]bool{}
	for _, c := range cells {
		migrated[c] = true
	}
	for _, c := range l.cells {
		if !migrated[c] && c.namedIn(err.Error()) {
			return c
		}
	}
	return nil
}

// attempt is one doppel migration of a set of cells.
type attempt struct {
	err      error
	changed  bool // the scripted changes had been made
	changes  int64
	replayed int64
	outcomes []*outcome
}

// phase tells from doppel's error where a failed migration stopped.
func (a *attempt) phase() string {
	msg := a.err.Error()
	switch {
	case migration.IsRefusal(a.err):
		return "refusal"
	case strings.Contains(msg, "replaying"):
		return "replay"
	case strings.Contains(msg, "copying chunk"):
		if a.changed {
			return "copy, after the changes"
		}
		return "copy"
	case a.changed:
		return "after the changes"
	}
	return "before the copy"
}

// attempt migrates the cells in one doppel run and compares them, and the unchanged column with
// them when checkUnchanged.
func (r *runner) attempt(l *layout, cells []*cell, checkUnchanged bool) *attempt {
	r.t.Helper()
	r.rebuild(l)
	alter := modifyAll(cells)
	a := &attempt{}
	script := l.script()
	var scriptErr error
	var once sync.Once
	cfg := r.doppelConfig(l, alter)
	cfg.Failpoint = func(step string) {
		if step != "copy:chunk" {
			return
		}
		once.Do(func() {
			a.changes, scriptErr = r.runScript(l, script)
			a.changed = true
		})
	}
	res, err := r.runDoppel(cfg)
	if errors.Is(err, errHung) {
		// The run still holds a and the script's results: nothing it wrote may be read.
		return &attempt{err: err}
	}
	if scriptErr != nil {
		r.t.Fatalf("the changes made during the run of %s: %v", l.label(), scriptErr)
	}
	if err != nil {
		a.err = err
		return a
	}
	a.replayed = res.ChangesApplied
	if !a.changed {
		r.t.Fatalf("%s: the copy ended before the changes were made: the table is too small for chunks of %d rows", l.label(), chunkSize)
	}
	converted := map[string]bool{}
	if res.Verified != nil {
		for _, u := range res.Verified.Converted {
			converted[strings.Fields(u)[0]] = true
		}
	}

	conn := r.session(false)
	defer conn.Close()
	if _, err := conn.ExecContext(r.ctx, "ALTER TABLE "+r.q(l.oracle())+" "+alter); err != nil {
		r.t.Fatalf("the native ALTER of the oracle of %s fails after the changes: %v", l.label(), err)
	}
	r.waitReplica()
	defs := r.definitionDiffs(l)
	rows := r.cellDiffs(l, r.primary, l.name, r.primary, l.oracle(), r.touchedKeys(l))
	replica := r.cellDiffs(l, r.primary, l.name, r.replica, l.name, nil)
	compared := cells
	if checkUnchanged {
		compared = append(compared[:len(compared):len(compared)], l.unchanged())
	}
	for _, c := range compared {
		o := &outcome{cell: c, verdict: equal, converted: converted[c.col] || converted["`"+c.col+"`"]}
		switch {
		case defs[c.col] != "":
			o.phase = "definition"
			o.fail("SHOW CREATE TABLE differs from the native ALTER's: %s", defs[c.col])
		case rows[c.col] != "":
			o.phase = valuesPhase(rows[c.col])
			o.fail("differs from the native ALTER: %s", rows[c.col])
		case replica[c.col] != "":
			o.phase = "replica"
			o.fail("the replica's table differs from the primary's: %s", replica[c.col])
		}
		a.outcomes = append(a.outcomes, o)
	}
	// Differences that belong to no single cell: the rows themselves, keys, table options.
	for what, d := range map[string]string{"definition": defs[""], "values": rows[""], "replica": replica[""]} {
		if d != "" {
			o := &outcome{cell: &cell{src: l.label(), target: "(the table: " + alter + ")"}, phase: what}
			o.fail("%s", d)
			a.outcomes = append(a.outcomes, o)
		}
	}
	return a
}

// valuesPhase names where differing values came from, by the rows cellDiffs found them in.
func valuesPhase(d string) string {
	copied, replayed := strings.Contains(d, rowCopied), strings.Contains(d, rowReplayed)
	switch {
	case copied && replayed:
		return "values: copy and replay"
	case copied:
		return "values: copy"
	case replayed:
		return "values: replay"
	}
	return "values"
}

// runScript makes the scripted changes on the table and, statement by statement, on its oracle,
// and returns how many rows of the table they changed.
func (r *runner) runScript(l *layout, script func(table string) []string) (int64, error) {
	conn := r.session(true)
	defer conn.Close()
	var n int64
	for _, tbl := range []string{l.name, l.oracle()} {
		for _, s := range script(r.q(tbl)) {
			res, err := conn.ExecContext(r.ctx, s)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", shortSQL(s), err)
			}
			if tbl == l.name {
				k, _ := res.RowsAffected()
				n += k
			}
		}
	}
	return n, nil
}

// serverReason is the server's refusal without the names and values: "Out of range value",
// "Data too long", "Incorrect datetime value", ...
func serverReason(msg string) string {
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "Error ") {
		msg = msg[i+2:]
	}
	cut := len(msg)
	for _, sep := range []string{": ", " for column", " at row", " '", " `", " for key"} {
		if i := strings.Index(msg, sep); i >= 0 && i < cut {
			cut = i
		}
	}
	return strings.TrimSpace(msg[:cut])
}

// oneLine is doppel's error on one line, without the advice that follows a failure and the
// database's name.
func (r *runner) oneLine(err error) string {
	s := strings.ReplaceAll(strings.Join(strings.Fields(err.Error()), " "), sqlbuild.QuoteIdent(r.schema)+".", "")
	if i := strings.Index(s, ". The original table is untouched."); i >= 0 {
		s = s[:i] + " [doppel: \"the original table is untouched\"" + map[bool]string{true: ", advises --resume]", false: "]"}[strings.Contains(s[i:], "--resume")]
	}
	return s
}

func shortSQL(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
