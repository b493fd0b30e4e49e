package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// native runs the ALTER on the primary with the given algorithm; the replica replays it after.
func (b *bench) native(ctx context.Context, algorithm string) (Result, error) {
	r := Result{Name: "native ALTER TABLE … ALGORITHM=" + algorithm, Kind: kindNative, BlocksAll: algorithm == "COPY"}
	if algorithm == "COPY" {
		r.Kind = kindNativeCopy
	}
	name, err := b.fresh(ctx)
	if err != nil {
		return r, err
	}
	defer b.drop(ctx, name)
	say("%s", r.Name)
	m := b.begin(ctx)
	if _, err := b.db.ExecContext(ctx, "ALTER TABLE "+sqlbuild.QuoteIdent(name)+" "+b.o.alter+", ALGORITHM="+algorithm); err != nil {
		return r, err
	}
	if algorithm == "INPLACE" {
		r.Note = "LOCK=NONE: writes go on; the replica replays it after the primary"
	}
	return r, m.end(ctx, &r, time.Now())
}

// floorMode is which chunked copy floor measures.
type floorMode int

const (
	// floorPlain is the cheapest chunked copy into the altered table.
	floorPlain floorMode = iota
	// floorDoppel is doppel's own statement: a locking read and ON DUPLICATE KEY UPDATE (which
	// detects collisions under a new unique key), to tell its cost from the rest of doppel's.
	floorDoppel
	// floorNoIndex copies into the altered table without its secondary indexes (and does not build
	// them): against floorPlain, what maintaining them during the copy costs.
	floorNoIndex
	// floorNoBinlog copies with sql_log_bin=0: against floorPlain, what writing the rows to the
	// binlog costs the primary. The replica gets nothing, so it is a diagnostic, not a way to copy.
	floorNoBinlog
)

// floor is what a chunked copy costs at least: the altered table created empty, then filled by
// plain INSERT … SELECTs of size rows each along the primary key, each its own transaction, in one
// session. No locking read, no binlog reader, no replay, no verification, no throttle.
func (b *bench) floor(ctx context.Context, size int, mode floorMode) (Result, error) {
	r := Result{Name: fmt.Sprintf("floor: chunked INSERT … SELECT, %d rows a chunk", size), Kind: kindFloor}
	switch mode {
	case floorDoppel:
		r.Name = fmt.Sprintf("floor, doppel's statement (LOCK IN SHARE MODE, ON DUPLICATE KEY UPDATE), %d rows a chunk", size)
	case floorNoIndex:
		r.Name = fmt.Sprintf("floor without the secondary indexes (not built after), %d rows a chunk", size)
	case floorNoBinlog:
		r.Name = fmt.Sprintf("floor without the binlog (sql_log_bin=0; the replica gets nothing), %d rows a chunk", size)
	}
	name, err := b.fresh(ctx)
	if err != nil {
		return r, err
	}
	ghost := name + "_floor"
	defer b.drop(ctx, name, ghost)
	say("%s", r.Name)
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return r, err
	}
	defer conn.Close()
	m := b.begin(ctx)
	for _, q := range []string{"CREATE TABLE " + ghost + " LIKE " + name, "ALTER TABLE " + ghost + " " + b.o.alter} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return r, err
		}
	}
	switch mode {
	case floorNoIndex:
		if err := dropSecondaryIndexes(ctx, conn, ghost); err != nil {
			return r, err
		}
	case floorNoBinlog:
		if _, err := conn.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
			return r, err
		}
	}
	cols := "id, k, c, pad"
	suffix := ""
	if mode == floorDoppel {
		suffix = fmt.Sprintf(" LOCK IN SHARE MODE ON DUPLICATE KEY UPDATE %[1]s.id = IF(%[1]s.id <=> VALUES(id), %[1]s.id, NULL)", ghost)
	}
	for lower := 0; ; lower += size {
		res, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE id > %d AND id <= %d%s", ghost, cols, cols, name, lower, lower+size, suffix))
		if err != nil {
			return r, err
		}
		if n, _ := res.RowsAffected(); n == 0 && lower >= b.rows {
			break
		}
	}
	return r, m.end(ctx, &r, time.Now())
}

// dropSecondaryIndexes drops every index of tbl but the primary key.
func dropSecondaryIndexes(ctx context.Context, conn *sql.Conn, tbl string) error {
	rows, err := conn.QueryContext(ctx, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY'", tbl)
	if err != nil {
		return err
	}
	defer rows.Close()
	var drops []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		drops = append(drops, "DROP INDEX "+sqlbuild.QuoteIdent(name))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(drops) == 0 {
		return nil
	}
	_, err = conn.ExecContext(ctx, "ALTER TABLE "+tbl+" "+strings.Join(drops, ", "))
	return err
}

// loadSpec is the write load of a loaded run.
type loadSpec struct {
	rate float64
	svg  string // the picture's name
	// latencyTarget gives doppel --max-commit-latency: twice the primary's commit p95 measured
	// before it starts.
	latencyTarget bool
}

// doppelRun migrates a fresh copy with the doppel binary, reading the replica's binlog; with load,
// a write load runs before, during and after, mirrored into an oracle that is checked at the end.
func (b *bench) doppelRun(ctx context.Context, name string, args []string, ls *loadSpec) (Result, error) {
	r := Result{Name: name, Kind: kindDoppel}
	tbl, err := b.fresh(ctx)
	if err != nil {
		return r, err
	}
	oracle := tbl + "_oracle"
	defer b.drop(ctx, tbl, oracle, "_"+tbl+"_del")
	if ls != nil {
		for _, q := range []string{"CREATE TABLE " + oracle + " LIKE " + b.base, "INSERT INTO " + oracle + " SELECT * FROM " + b.base} {
			if _, err := b.db.ExecContext(ctx, q); err != nil {
				return r, err
			}
		}
		if err := b.quiet(ctx); err != nil {
			return r, err
		}
	}
	say("%s", name)
	rc := b.sb.Replica.Config()
	sock := socketPath("doppel")
	cmdArgs := append([]string{
		"--host=" + rc.Host, fmt.Sprintf("--port=%d", rc.Port), "--user=" + rc.User,
		"--database=" + schema, "--table=" + tbl, "--alter=" + b.o.alter, "--execute", "--ok-to-drop-table",
		"--status-interval=5s", "--throttle-additional-flag-file=", "--serve-socket-file=" + sock,
	}, args...)
	if rc.Password != "" {
		cmdArgs = append(cmdArgs, "--password="+rc.Password)
	}
	if b.o.extra != "" {
		cmdArgs = append(cmdArgs, strings.Fields(b.o.extra)...)
	}
	var load *phasedLoad
	var loadStart time.Time
	var lagBefore time.Duration
	if ls != nil {
		if load, err = startLoad(ctx, b.db, tbl, oracle, ls.rate); err != nil {
			return r, err
		}
		loadStart = time.Now()
		pre := b.begin(ctx) // the replica's lag under the load alone
		err := load.phase(ctx, b.o.settle)
		pre.stop()
		<-pre.done
		lagBefore = pre.peakLag
		if err != nil { // before
			return r, err
		}
		if ls.latencyTarget {
			// What an operator would give: twice the application's own p95 before the migration.
			before := load.latency(0)
			target := max(int64(2*before.P95), 2)
			cmdArgs = append(cmdArgs, fmt.Sprintf("--max-commit-latency=%d", target))
			r.Note = fmt.Sprintf("--max-commit-latency=%d (2× the load's p95 before; the heartbeat's commit p95 before: %s)", target, b.hb.commitP95(loadStart).Round(time.Millisecond))
		}
	}
	cmd := exec.CommandContext(ctx, b.o.doppel, cmdArgs...)
	var logs strings.Builder
	cmd.Stdout = &logs
	cmd.Stderr = io.MultiWriter(&logs, prefixed{})
	m := b.begin(ctx)
	if err := cmd.Start(); err != nil {
		return r, err
	}
	m.watch(cmd)
	tl := &timeline{start: m.start}
	r.timeline = tl
	stopPoll := tl.poll(ctx, sock)
	runErr := cmd.Wait()
	ended := time.Now()
	stopPoll()
	if runErr != nil {
		if load != nil {
			_ = load.stop() // doppel's failure is the one to report
		}
		return r, fmt.Errorf("doppel failed: %w\n%s", runErr, logs.String())
	}
	// doppel reports its own peak memory: the sampled one would miss a peak between samples.
	r.PeakRSSMiB = summaryFigure(logs.String(), "peak memory ", "MiB")
	r.BlockedMs = summaryFigure(logs.String(), "table blocked ", "")
	r.Phases = summaryText(logs.String(), "doppel: phases: ")
	if load != nil {
		load.cut() // during
	}
	if err := m.end(ctx, &r, ended); err != nil {
		return r, err
	}
	say("  phases: %s", r.Phases)
	if load != nil {
		if err := load.phase(ctx, b.o.settle); err != nil { // after
			return r, err
		}
		r.Load, err = load.finish(ctx, b.db, tbl, oracle, b.o.alter, swapTime(logs.String()), tl)
		if err != nil {
			return r, err
		}
		r.Load.Rate = ls.rate
		r.Load.PeakLagBeforeMs = float64(lagBefore) / float64(time.Millisecond)
		tl.end = time.Now()
		if err := writeSVG(b.o.svgDir, ls.svg, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// ptOSC runs pt-online-schema-change on the primary; it checks the replica's lag (--max-lag 1.5 s,
// doppel's and gh-ost's default) and copies with its defaults (chunks sized to 0.5 s).
func (b *bench) ptOSC(ctx context.Context) (Result, error) {
	r := Result{Name: "pt-online-schema-change, defaults", Kind: kindPtOSC}
	tbl, err := b.fresh(ctx)
	if err != nil {
		return r, err
	}
	defer b.drop(ctx, tbl)
	say("%s", r.Name)
	p, rc := b.sb.Primary.Config(), b.sb.Replica.Config()
	dsn := func(host string, port int, user, password string) string {
		s := fmt.Sprintf("h=%s,P=%d,u=%s", host, port, user)
		if password != "" {
			s += ",p=" + password
		}
		return s
	}
	args := []string{
		"--alter=" + b.o.alter, "--execute", "--recursion-method=none", "--no-version-check",
		"--check-slave-lag=" + dsn(rc.Host, rc.Port, rc.User, rc.Password), "--max-lag=1.5",
		dsn(p.Host, p.Port, p.User, p.Password) + ",D=" + schema + ",t=" + tbl,
	}
	return r, b.runTool(ctx, &r, "pt-online-schema-change", args)
}

// ghost runs gh-ost against the replica, as its documentation recommends, with --chunk-size=10000.
func (b *bench) ghost(ctx context.Context) (Result, error) {
	r := Result{Name: "gh-ost --chunk-size=10000", Kind: kindGhost}
	tbl, err := b.fresh(ctx)
	if err != nil {
		return r, err
	}
	defer b.drop(ctx, tbl, "_"+tbl+"_del")
	say("%s", r.Name)
	rc := b.sb.Replica.Config()
	args := []string{
		"--host=" + rc.Host, "--port=" + strconv.Itoa(rc.Port), "--user=" + rc.User, "--password=" + rc.Password,
		"--database=" + schema, "--table=" + tbl, "--alter=" + b.o.alter, "--execute", "--chunk-size=10000",
		"--max-lag-millis=1500", "--ok-to-drop-table", "--initially-drop-ghost-table", "--initially-drop-old-table",
		"--serve-socket-file=" + socketPath("gh-ost"), "--initially-drop-socket-file",
		"--throttle-additional-flag-file=" + socketPath("gh-ost-throttle"), "--default-retries=10",
		// MariaDB has no performance_schema metadata lock instrument gh-ost could check.
		"--skip-metadata-lock-check",
	}
	if err := b.runTool(ctx, &r, b.o.ghost, args); err != nil {
		return r, err
	}
	return r, nil
}

// runTool runs a peer's command line as one measurement.
func (b *bench) runTool(ctx context.Context, r *Result, bin string, args []string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var logs strings.Builder
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	m := b.begin(ctx)
	if err := cmd.Start(); err != nil {
		return err
	}
	m.watch(cmd)
	err := cmd.Wait()
	ended := time.Now()
	if err != nil {
		m.stop()
		<-m.done
		return fmt.Errorf("%s failed: %w\n%s", bin, err, tail(logs.String(), 40))
	}
	if v := lockDuration(logs.String()); v > 0 {
		r.BlockedMs = v
	}
	return m.end(ctx, r, ended)
}

// lockDuration reads gh-ost's "Lock & rename duration: 12.3ms" (or pt-osc's nothing); 0 when absent.
func lockDuration(out string) float64 {
	return summaryFigure(out, "Lock & rename duration: ", "")
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// prefixed echoes doppel's log lines, indented, so a long run shows its progress.
type prefixed struct{}

func (prefixed) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		fmt.Fprintln(os.Stdout, "    | "+l)
	}
	return len(p), nil
}

// swapTime reads when doppel logged the swap ("... INFO tables swapped ...", console format).
func swapTime(out string) time.Time {
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "tables swapped") {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 {
			if t, err := time.Parse("2006-01-02T15:04:05.000Z0700", f[0]); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// summaryFigure reads a figure from doppel's summary line: the number after label, in MiB when
// unit is "MiB", else a duration returned in milliseconds.
func summaryFigure(out, label, unit string) float64 {
	i := strings.Index(out, label)
	if i < 0 {
		return 0
	}
	f := strings.Fields(out[i+len(label):])
	if len(f) == 0 {
		return 0
	}
	text := strings.TrimRight(f[0], ".,")
	if unit == "MiB" {
		v, _ := strconv.ParseFloat(text, 64)
		return v
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0
	}
	return float64(d) / float64(time.Millisecond)
}

// summaryText is the rest of the line after label, without its final full stop.
func summaryText(out, label string) string {
	i := strings.Index(out, label)
	if i < 0 {
		return ""
	}
	line, _, _ := strings.Cut(out[i+len(label):], "\n")
	return strings.TrimSuffix(line, ".")
}
