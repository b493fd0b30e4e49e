package migration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/fkeys"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/internal/triggers"
	"github.com/doppel-sql/doppel/table"
)

// A revert swaps the old table back in without losing what was written since the swap. It is a
// migration run whose "original" is the table in place (T, migrated), whose "ghost" is the old
// table (_T_del) and whose copy is already done: the binlog is streamed from the swap's own
// position, every change of T since then is replayed into the old table with the columns mapped
// back (MapColumns by name, the ALTER's renames reversed: a column the ALTER added is left out, a
// column it dropped gets its default), the two are verified, and the same cut-over swaps them, T
// getting a timestamped old name. Two ways in:
//
//   - --revert --old-table=_T_del, later (gh-ost's flags): the position comes from the revert
//     record the swap left (below);
//   - --revert-window=D: right after a successful swap, the same revert run starts in the same
//     process, waits in the revert-window state for the `revert` command (swap back now), the
//     `end-revert-window` command or the end of the window (stop; the old table is kept or
//     dropped per --ok-to-drop-table, and its record is kept with it).
//
// The revert record. The changelog table is dropped after a swap, so where the swap was is kept
// in a table of its own, `_T_ghr` (table.RevertName), one row per old table kept: the binlog
// position just past the swap's RENAME (file, offset, and the GTID set with --gtid), the server
// it was read on, the digests of both tables' definitions as they were right after the swap, and
// the ALTER's column renames. A revert refuses when: there is no record for the old table; either
// table's definition changed since; the binary logs since the position are purged; or the binlog
// shows a row change or a DDL of the old table since the swap (a first pass over the binlog, up to
// a marker the revert writes, before anything is replayed). A successful revert deletes the old
// table's record (the table is T again) and records the swap it made, so a revert can itself be
// reverted.

// revertRecord is one row of the revert records: where the swap that made Old the old table was.
type revertRecord struct {
	Table    string    `json:"table"`
	Old      string    `json:"old"`
	File     string    `json:"file"`
	Pos      uint32    `json:"pos"`
	GTIDSet  string    `json:"gtid_set,omitempty"`
	ServerID uint64    `json:"server_id"`
	Swapped  time.Time `json:"swapped"`
	// Current and OldDigest are the definitions' digests (table.Digest) of T and of the old table
	// right after the swap.
	Current   string `json:"current"`
	OldDigest string `json:"old_digest"`
	// Renames maps a column of T to the old table's column it was renamed from.
	Renames map[string]string `json:"renames,omitempty"`
	Alter   string            `json:"alter"`
	// AtSwap: the ALTER deleted rows by partition at the swap (alter.Alter.AtSwap); the old table
	// still holds them, and a revert does not put that right.
	AtSwap bool `json:"at_swap,omitempty"`
	// ReplayFile and ReplayPos are where a revert began replaying into the old table (after its
	// scan found it unchanged): its changes of the old table from there on are doppel's own, so a
	// revert that failed before its swap can be run again.
	ReplayFile string `json:"replay_file,omitempty"`
	ReplayPos  uint32 `json:"replay_pos,omitempty"`
}

func (rec revertRecord) position(gtid bool) binlog.Position {
	if gtid {
		return binlog.Position{GTIDSet: rec.GTIDSet}
	}
	return binlog.Position{File: rec.File, Pos: rec.Pos}
}

// revertRecordComment marks the records table.
const revertRecordComment = "doppel revert records: where the swap of each kept old table was"

func (r *run) recordsTable() string {
	return sqlbuild.QualifiedName(r.cfg.Database, table.RevertName(r.cfg.Table))
}

// writeRevertRecord records, after a swap that kept the old table, where the swap was. The swap is
// done: a failure is reported and only costs the later revert.
func (r *run) writeRevertRecord(ctx context.Context, old string) {
	rec, err := r.newRevertRecord(ctx, old)
	if err == nil {
		err = saveRevertRecord(ctx, r.s.primary, r.recordsTable(), rec)
	}
	if err == nil {
		// The records of old tables dropped by hand since are of no use: forget them.
		_, ferr := r.s.primary.ExecContext(ctx, "DELETE FROM "+r.recordsTable()+" WHERE old_table NOT IN (SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)", r.cfg.Database)
		if ferr != nil {
			r.log().Warn("could not forget the revert records of old tables dropped since", zap.String("records", r.recordsTable()), zap.Error(ferr))
		}
	}
	if err != nil {
		r.log().Warn("could not record where the swap was: a later --revert of this migration is not possible (the revert window, if any, is not affected)", zap.Error(err))
		return
	}
	r.log().Info("recorded the swap's binlog position for --revert", zap.String("old_table", old), zap.String("records", r.recordsTable()),
		zap.String("position", fmt.Sprintf("%s:%d", rec.File, rec.Pos)), zap.String("gtid_set", rec.GTIDSet))
}

func (r *run) newRevertRecord(ctx context.Context, old string) (revertRecord, error) {
	pos := r.applier.Position() // past the swap's RENAME: the apply loop stopped there
	if pos.IsZero() {
		return revertRecord{}, errors.New("the apply loop did not reach the swap's RENAME")
	}
	serverID, err := r.serverID(ctx)
	if err != nil {
		return revertRecord{}, err
	}
	current, err := table.Inspect(ctx, r.s.primary, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return revertRecord{}, err
	}
	kept, err := table.Inspect(ctx, r.s.primary, r.cfg.Database, old)
	if err != nil {
		return revertRecord{}, err
	}
	renames := map[string]string{}
	for from, to := range r.p.renames {
		renames[to] = from
	}
	return revertRecord{
		Table: r.cfg.Table, Old: old, File: pos.File, Pos: pos.Pos, GTIDSet: pos.GTIDSet, ServerID: serverID,
		Swapped: time.Now().UTC(), Current: current.Digest(), OldDigest: kept.Digest(), Renames: renames, Alter: r.p.alter.Clause,
		AtSwap: r.p.alter.AtSwap,
	}, nil
}

func saveRevertRecord(ctx context.Context, db *sql.DB, records string, rec revertRecord) error {
	js, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+records+
		" (old_table VARCHAR(64) NOT NULL PRIMARY KEY, record TEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='"+revertRecordComment+"'"); err != nil {
		return fmt.Errorf("creating %s: %w", records, err)
	}
	if _, err := db.ExecContext(ctx, "REPLACE INTO "+records+" (old_table, record) VALUES (?, ?)", rec.Old, string(js)); err != nil {
		return fmt.Errorf("writing to %s: %w", records, err)
	}
	return nil
}

// errNoRecord: no revert record for the old table.
var errNoRecord = errors.New("no revert record")

func loadRevertRecord(ctx context.Context, db *sql.DB, schema, records, recordsName, old string) (revertRecord, error) {
	exists, err := table.Exists(ctx, db, schema, recordsName)
	if err != nil || !exists {
		return revertRecord{}, errors.Join(errNoRecord, err)
	}
	var js []byte
	err = db.QueryRowContext(ctx, "SELECT record FROM "+records+" WHERE old_table = ?", old).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return revertRecord{}, errNoRecord
	}
	if err != nil {
		return revertRecord{}, fmt.Errorf("reading %s: %w", records, err)
	}
	var rec revertRecord
	if err := json.Unmarshal(js, &rec); err != nil {
		return revertRecord{}, fmt.Errorf("reading the revert record of %s: %w", old, err)
	}
	return rec, nil
}

// deleteRevertRecord forgets the record of old (swapped back in, or dropped), and the records
// table with its last record.
func (r *run) deleteRevertRecord(ctx context.Context, old string) {
	db, records := r.s.primary, r.recordsTable()
	exists, err := table.Exists(ctx, db, r.cfg.Database, table.RevertName(r.cfg.Table))
	if err != nil || !exists {
		return
	}
	var left int
	_, err = db.ExecContext(ctx, "DELETE FROM "+records+" WHERE old_table = ?", old)
	if err == nil {
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+records).Scan(&left)
	}
	if err == nil && left == 0 {
		_, err = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+records)
	}
	if err != nil {
		r.log().Warn("could not delete a revert record; delete it by hand", zap.String("records", records), zap.String("old_table", old), zap.Error(err))
	}
}

// checkRevert is a revert's check phase: the record, both tables, the binlog, the mapping back.
// Nothing is created.
func (r *run) checkRevert(ctx context.Context) error {
	if err := r.hook(ctx, hooks.OnStartup); err != nil {
		return err
	}
	var err error
	if r.s, err = connect(ctx, r.cfg); err != nil {
		return err
	}
	if r.server, err = alter.ReadServer(ctx, r.s.primary); err != nil {
		return err
	}
	for _, check := range []func(context.Context, *servers) error{checkBinlog, checkPrimaryWritable} {
		if err := check(ctx, r.s); err != nil {
			return err
		}
	}
	if err := checkGTID(ctx, r.cfg, r.s); err != nil {
		return err
	}
	old, db := r.cfg.OldTable, r.cfg.Database
	qold, qt := sqlbuild.QualifiedName(db, old), sqlbuild.QualifiedName(db, r.cfg.Table)
	rec, err := loadRevertRecord(ctx, r.s.primary, db, r.recordsTable(), table.RevertName(r.cfg.Table), old)
	if errors.Is(err, errNoRecord) {
		return refuse("--revert: there is no record of a swap that left %s (%s holds none): doppel records where each swap was when it keeps the old table; without that position the changes made since cannot be replayed. Check --old-table and --table", qold, r.recordsTable())
	}
	if err != nil {
		return err
	}
	orig, err := table.Inspect(ctx, r.s.primary, db, r.cfg.Table)
	if err != nil {
		return err
	}
	kept, err := table.Inspect(ctx, r.s.primary, db, old)
	if errors.Is(err, table.ErrNotFound) {
		return refuse("--revert: the old table %s no longer exists: there is nothing to swap back", qold)
	}
	if err != nil {
		return err
	}
	if kept.Digest() != rec.OldDigest {
		return refuse("--revert: the old table %s has been changed since the swap (its columns or keys differ from what they were at the swap): it is no longer the table the migration replaced, and doppel does not swap it back", qold)
	}
	if orig.Digest() != rec.Current {
		return refuse("--revert: %s has been altered since the swap that left %s: its binlog changes can no longer be mapped back; revert that later change first", qt, qold)
	}
	if rec.AtSwap {
		return refuse("--revert: the migration (%s) dropped or truncated partitions at the swap; the old table still holds those rows and a revert does not remove them again. Swap the tables by hand if you want the rows back", rec.Alter)
	}
	if err := r.checkRevertExtras(ctx, old); err != nil {
		return err
	}
	p := &validated{names: names{ghost: old, old: timestampedOld(r.cfg.Table, time.Now()), changelog: table.ChangelogName(r.cfg.Table)},
		alter: &alter.Alter{Clause: "(revert of " + rec.Alter + ")"}, orig: orig, renames: rec.Renames}
	if p.timeZone, err = dbconn.DefaultTimeZone(ctx, r.s.primary); err != nil {
		return err
	}
	p.mapping = table.MapColumns(orig, kept, rec.Renames)
	p.mapping.TimeZone = p.timeZone
	if p.key, err = table.ChooseKey(orig, kept, p.mapping); err != nil {
		return refuse("--revert: %v", err)
	}
	for _, n := range mappingBack(p.mapping, orig, kept) {
		if n.lossy {
			r.log().Warn("reverting: "+n.text+"; a value that does not fit stops the revert before the swap (strict mode), nothing is lost", zap.String("column", n.column))
		} else {
			r.log().Info("reverting: "+n.text, zap.String("column", n.column))
		}
	}
	if err := r.checkRevertPosition(ctx, rec); err != nil {
		return err
	}
	if err := r.checkRevertLeftovers(ctx, p); err != nil {
		return err
	}
	if size, err := table.SizeOf(ctx, r.s.inspect, db, r.cfg.Table); err == nil {
		p.rows = size.Rows
	}
	r.p, r.ghost, r.record = p, kept, &rec
	r.changelog = changelog.New(db, p.changelog)
	if r.throttle, r.closeThrottle, err = r.newThrottler(ctx); err != nil {
		return err
	}
	r.from = startAt{position: rec.position(r.cfg.GTID), copyDone: true}
	r.rows.Store(p.rows)
	r.cfg.Metrics.SetRowsEstimated(p.rows)
	r.log().Info("revert: replaying the changes made since the swap into the old table", zap.String("table", r.cfg.Table), zap.String("old_table", old),
		zap.String("from", fmt.Sprintf("%s:%d", rec.File, rec.Pos)), zap.String("gtid_set", rec.GTIDSet), zap.Time("swapped", rec.Swapped), zap.String("key", p.key.Orig.Name))
	if !r.cfg.Execute {
		fmt.Fprintf(r.cfg.Out, "doppel would revert %s: replay every change since %s:%d into %s, verify, and swap it back (%s becomes %s).\nNothing was changed. Run again with --execute to revert.\n",
			qt, rec.File, rec.Pos, qold, qt, sqlbuild.QualifiedName(db, p.old))
		r.result = &Result{DryRun: true}
		return errFinished
	}
	return r.hook(ctx, hooks.OnValidated)
}

// checkRevertLeftovers: the revert's changelog must be free (--initially-drop-ghost-table drops
// it), and a cut-over sentry left by an earlier run is dropped.
func (r *run) checkRevertLeftovers(ctx context.Context, p *validated) error {
	exists, err := table.Exists(ctx, r.s.primary, r.cfg.Database, p.changelog)
	switch {
	case err != nil:
		return err
	case exists && !r.cfg.InitiallyDropGhostTable:
		return refuse("table %s already exists, probably left by an earlier run. Check it holds nothing you need, then drop it or run with --initially-drop-ghost-table",
			sqlbuild.QualifiedName(r.cfg.Database, p.changelog))
	case exists:
		p.dropFirst = append(p.dropFirst, p.changelog)
	}
	if sentry := table.SentryName(r.cfg.Table); cutover.IsSentry(ctx, r.s.primary, r.cfg.Database, sentry) {
		p.dropFirst = append(p.dropFirst, sentry)
	}
	return nil
}

// checkRevertExtras refuses a revert of tables with triggers or foreign keys: moving them back at
// the swap is not supported yet.
func (r *run) checkRevertExtras(ctx context.Context, old string) error {
	for _, name := range []string{r.cfg.Table, old} {
		declared, referencing, err := fkeys.Read(ctx, r.s.primary, r.cfg.Database, name)
		if err != nil {
			return err
		}
		trs, err := triggers.Read(ctx, r.s.primary, r.cfg.Database, name)
		if err != nil {
			return err
		}
		if len(declared)+len(referencing)+len(trs) > 0 {
			return refuse("reverting: %s has triggers or takes part in foreign keys; doppel does not move them back at a revert's swap yet. Swap the tables by hand (RENAME TABLE), moving the triggers and foreign keys yourself",
				sqlbuild.QualifiedName(r.cfg.Database, name))
		}
	}
	return nil
}

// checkRevertPosition refuses a record whose position the inspected server cannot stream from: by
// file and offset, only the server that was read, while it keeps the file; with --gtid, a server
// that has not purged transactions after the recorded set (MySQL tells; on MariaDB the stream
// itself refuses a purged position).
func (r *run) checkRevertPosition(ctx context.Context, rec revertRecord) error {
	if r.cfg.GTID {
		if rec.GTIDSet == "" {
			return refuse("--revert --gtid: the swap recorded no GTID set (it ran without --gtid): revert without --gtid, on the server it read")
		}
		if r.s.flavor.Name() == "mysql" {
			var ok bool
			if err := r.s.inspect.QueryRowContext(ctx, "SELECT GTID_SUBSET(@@global.gtid_purged, ?)", rec.GTIDSet).Scan(&ok); err != nil {
				return fmt.Errorf("comparing the swap's GTID set with the purged ones: %w", err)
			}
			if !ok {
				return refuse("--revert: %s has purged binary logs holding changes made after the swap (GTID set %s): they cannot be replayed into %s, and a revert would lose them. doppel does not revert",
					r.s.inspectCfg.Addr(), rec.GTIDSet, r.cfg.OldTable)
			}
		}
		return nil
	}
	serverID, err := r.serverID(ctx)
	if err != nil {
		return err
	}
	if serverID != rec.ServerID {
		return refuse("--revert: the swap's position was read on the server with server_id %d, %s has server_id %d: a binlog position means nothing on another server; point --host at that server, or revert with --gtid when the migration had it",
			rec.ServerID, r.s.inspectCfg.Addr(), serverID)
	}
	files, err := dbconn.BinlogFiles(ctx, r.s.inspect)
	if err != nil {
		return err
	}
	if !slices.Contains(files, rec.File) {
		return refuse("--revert: the binary logs from %s on, which hold the changes made since the swap, have been purged from %s: they cannot be replayed into %s, and a revert would lose them. doppel does not revert",
			rec.File, r.s.inspectCfg.Addr(), r.cfg.OldTable)
	}
	return nil
}

// prepareRevert creates the revert's changelog and makes sure nobody wrote the old table since the
// swap, before anything is replayed into it.
func (r *run) prepareRevert(ctx context.Context) error {
	if err := r.changelog.Create(ctx, r.s.primary); err != nil {
		return err
	}
	r.created = append(r.created, r.p.changelog) // never the old table: it is the user's
	r.markers = changelog.NewMarkers(r.changelog, r.s.primary)
	return r.scanOldTable(ctx)
}

// scanOldTable reads the binlog from the swap's position up to a marker written now, and fails on
// any row change of the old table, or DDL naming it, but the rename that gave it its name.
func (r *run) scanOldTable(ctx context.Context) error {
	start := time.Now()
	tlsCfg, err := r.s.inspectCfg.TLSClientConfig()
	if err != nil {
		return err
	}
	old := r.p.names.ghost
	reader, err := binlog.NewReader(binlog.Config{
		Flavor: r.s.flavor.Name(), ServerID: r.cfg.ServerID,
		Host: r.s.inspectCfg.Host, Port: r.s.inspectCfg.Port, User: r.s.inspectCfg.User, Password: r.s.inspectCfg.Password, TLS: tlsCfg,
		Database: r.cfg.Database, Tables: []string{old, r.p.changelog}, GTID: r.cfg.GTID, Logger: r.log(),
	})
	if err != nil {
		return err
	}
	watch := &ddlWatch{schema: r.cfg.Database, table: old, server: r.server}
	ownRename := [][2][2]string{{{r.cfg.Database, table.SentryName(r.cfg.Table)}, {r.cfg.Database, old}}}
	replayed := binlog.Position{File: r.record.ReplayFile, Pos: r.record.ReplayPos}
	var scanned binlog.Position // the end of the last marker met: the scan's own, when it ends
	changed := func(at binlog.Position, what string) error {
		return refuse("--revert: the old table %s was changed after the swap (%s, in the binlog at %s): it no longer holds the rows as they were at the swap, so replaying the changes since into it would not give the original table back. doppel does not revert",
			sqlbuild.QualifiedName(r.cfg.Database, old), what, at)
	}
	txns := make(chan binlog.Txn, 64)
	g, gctx := errgroup.WithContext(ctx)
	scanCtx, stop := context.WithCancel(gctx)
	defer stop()
	g.Go(func() error {
		if err := reader.Run(scanCtx, r.from.position, txns); err != nil && scanCtx.Err() == nil {
			return fmt.Errorf("reading the binlog since the swap: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		for {
			var txn binlog.Txn
			select {
			case <-scanCtx.Done():
				return nil
			case txn = <-txns:
			}
			if d := txn.DDL; d != nil {
				stmts, err := alter.ParseLogged(d.Query, r.server)
				if err != nil {
					if alter.Mentions(d.Query, old, r.server) {
						return changed(txn.End, "a statement naming it")
					}
					continue
				}
				for _, stmt := range stmts {
					if !watch.touches(stmt, d.Schema) {
						continue
					}
					if rename, ok := stmt.(*ast.RenameTableStmt); ok && slices.Equal(renamePairs(rename, d.Schema), ownRename) {
						continue
					}
					return changed(txn.End, statementKind(stmt))
				}
			}
			for _, ch := range txn.Changes {
				if ch.Table == old && (replayed.File == "" || txn.End.Compare(replayed) <= 0) {
					return changed(txn.End, "a row "+ch.Kind.String())
				}
				if hint, value, ok := r.changelog.Decode(ch); ok && hint == changelog.HintMarker {
					scanned = txn.End
					r.markers.Seen(value)
				}
			}
		}
	})
	g.Go(func() error {
		defer stop()
		return r.markers.CatchUp(scanCtx)
	})
	// The marker's waiter stops the scan once its marker is met; a change of the old table met
	// before it stops the scan with the refusal.
	if err := g.Wait(); err != nil {
		return err
	}
	r.log().Info("the old table is unchanged since the swap", zap.String("old_table", old), zap.Duration("binlog_scan", time.Since(start)))
	if r.record.ReplayFile == "" {
		// From here on the old table is written by this revert: a retry must not take that for
		// someone else's change.
		r.record.ReplayFile, r.record.ReplayPos = scanned.File, scanned.Pos
		if err := saveRevertRecord(ctx, r.s.primary, r.recordsTable(), *r.record); err != nil {
			return fmt.Errorf("recording where the revert begins writing to the old table: %w", err)
		}
	}
	return nil
}

// revertFailed is a revert that stopped before its swap: the table in place is untouched, the old
// table holds part of the replay, which running the revert again replays once more.
func (r *run) revertFailed(err error) error {
	again := "run the same --revert again: it replays every change since the swap into " + sqlbuild.QualifiedName(r.cfg.Database, r.cfg.OldTable) + " once more"
	if num, what := dataError(err); num != 0 {
		again = fmt.Sprintf("a row written since the swap cannot be put back into %s (error %d: %s): change that row, or keep the migrated table", sqlbuild.QualifiedName(r.cfg.Database, r.cfg.OldTable), num, what)
	} else if r.window != nil {
		again = "the old table " + sqlbuild.QualifiedName(r.cfg.Database, r.cfg.OldTable) + " is kept with the record of the swap: --revert --old-table=" + r.cfg.OldTable + " can still revert"
	}
	if left := r.dropCreated(); len(left) > 0 {
		return fmt.Errorf("%w. The revert stopped before its swap: %s is untouched; %s. doppel could not drop %s: drop it by hand",
			err, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), again, strings.Join(left, " and "))
	}
	return fmt.Errorf("%w. The revert stopped before its swap: %s is untouched; %s", err, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), again)
}

// A note on one column of the mapping back.
type backNote struct {
	column string
	text   string
	lossy  bool // a value of T may not fit the old table's column
}

// mappingBack describes how the changes of cur (the migrated table) map back into old: the
// columns left out, those that get their default, and the type changes that may not convert back.
func mappingBack(m table.Mapping, cur, old *table.Table) []backNote {
	var notes []backNote
	for _, name := range m.Dropped {
		notes = append(notes, backNote{column: name, text: "column " + name + " was added by the migration: its values are not put back"})
	}
	for _, name := range m.Added {
		c := old.Column(name)
		switch {
		case c.Generated:
		case !c.HasDefault && !c.Nullable && !c.AutoInc:
			notes = append(notes, backNote{column: name, lossy: true, text: "column " + name + " was dropped by the migration and is NOT NULL without a default: a row inserted since the swap cannot be put back"})
		default:
			notes = append(notes, backNote{column: name, text: "column " + name + " was dropped by the migration: rows inserted since the swap get its default"})
		}
	}
	for _, p := range m.Copied {
		if why := convertsBack(p.Orig, p.Ghost); why != "" {
			notes = append(notes, backNote{column: p.Orig.Name, lossy: true, text: "column " + p.Orig.Name + ": " + why})
		}
	}
	return notes
}

// convertsBack says why a value of from (the migrated table's column) may not convert into to (the
// old table's) without loss; "" when every value does.
func convertsBack(from, to *table.Column) string {
	lossy := fmt.Sprintf("%s back to %s may lose values", from.ColumnType, to.ColumnType)
	if from.Nullable && !to.Nullable {
		return "NULL allowed now, NOT NULL before: a NULL written since the swap cannot be put back"
	}
	if !strings.EqualFold(from.Charset, to.Charset) {
		if from.Charset != "" && to.Charset != "utf8mb4" {
			return lossy + " (character set " + from.Charset + " to " + to.Charset + ")"
		}
		if from.Charset == "" && to.Charset != "" && !from.IsInteger() {
			return lossy
		}
	}
	if strings.EqualFold(from.ColumnType, to.ColumnType) {
		return ""
	}
	switch {
	case from.IsInteger() && to.IsInteger():
		if intRangeWithin(from, to) {
			return ""
		}
	case from.DataType == "decimal" && to.DataType == "decimal":
		if to.Scale >= from.Scale && to.Precision-to.Scale >= from.Precision-from.Scale {
			return ""
		}
	case (from.DataType == "enum" || from.DataType == "set") && from.DataType == to.DataType:
		if isPrefix(from.Elems, to.Elems) {
			return ""
		}
	case from.IsText() && to.IsText():
		if textLen(from) <= textLen(to) {
			return ""
		}
	case from.DataType == to.DataType && (from.DataType == "datetime" || from.DataType == "timestamp" || from.DataType == "time"):
		if to.FSP >= from.FSP {
			return ""
		}
	}
	return lossy
}

// intRangeWithin reports whether every value of the integer column a fits b.
func intRangeWithin(a, b *table.Column) bool {
	bits := map[string]int{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}
	ab, bb := bits[a.DataType], bits[b.DataType]
	switch {
	case ab == 0 || bb == 0:
		return false
	case a.Unsigned == b.Unsigned:
		return ab <= bb
	case a.Unsigned:
		return ab < bb
	}
	return false // signed into unsigned: negative values do not fit
}

// textLen is a text column's length in characters, from its type ("varchar(40)"; TEXT types by
// their byte limit).
func textLen(c *table.Column) int64 {
	switch c.DataType {
	case "tinytext":
		return 255
	case "text":
		return 65535
	case "mediumtext":
		return 16777215
	case "longtext":
		return 4294967295
	}
	_, rest, ok := strings.Cut(c.ColumnType, "(")
	if !ok {
		return 1
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(rest, ")"), 10, 64)
	if err != nil {
		return 1 << 62 // unknown: never judged narrower
	}
	return n
}

func isPrefix(a, b []string) bool {
	return len(a) <= len(b) && slices.Equal(a, b[:len(a)])
}

// revertPhases are a revert's pipeline phases: nothing to copy, the stream starts at the swap.
func (r *run) revertPhases() []phase {
	return []phase{
		{state: StateCatchingUp, name: "catch up", do: r.catchUp},
		{state: StateVerifying, name: "verify", do: r.verify, skip: r.skipVerify},
		{state: StateRevertWindow, name: "revert window", do: r.waitWindow, skip: func() bool { return r.window == nil }},
		{state: StatePostponed, name: "postpone", do: r.waitPostponed, skip: func() bool { return r.window != nil || !r.postponed() }},
		{state: StateWaitingForReplicas, name: "replicas", do: r.waitLag, skip: r.throttle.LagOK},
		{state: StateReverting, name: "revert", do: r.swap},
	}
}

// revertWindow is the live revert window of a run started right after a swap.
type revertWindow struct {
	ends     time.Time
	commands chan string // "revert" or "end-revert-window"
}

// waitWindow keeps the reverse replay going until the operator sends revert (then the swap back
// follows), end-revert-window, or the window ends.
func (r *run) waitWindow(ctx context.Context) error {
	r.log().Info("revert window open: the migrated table's changes are replayed into the old table; send revert to swap back, end-revert-window to stop",
		zap.String("old_table", r.p.names.ghost), zap.Time("until", r.window.ends))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case cmd := <-r.window.commands:
			if cmd == "revert" {
				r.log().Info("revert requested: swapping the old table back in")
				return nil
			}
			return r.endWindow(ctx, "end-revert-window was sent")
		case <-time.After(time.Until(r.window.ends)):
			return r.endWindow(ctx, "the window of "+r.cfg.RevertWindow.String()+" ended")
		case <-time.After(250 * time.Millisecond):
			if err := r.verifyReplayedIfMany(ctx, waitingKeys); err != nil {
				return err
			}
		}
	}
}

// endWindow stops the reverse replay: the changelog goes, the old table is kept (with its record,
// for a later --revert) or dropped with --ok-to-drop-table.
func (r *run) endWindow(ctx context.Context, why string) error {
	ctx = context.WithoutCancel(ctx)
	old := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE IF EXISTS "+r.changelog.Qualified()); err != nil {
		r.log().Warn("could not drop the changelog table; drop it by hand", zap.String("table", r.p.changelog), zap.Error(err))
	}
	res := &Result{WindowEnded: true, ChangesApplied: r.applier.Applied(), Verified: r.verified}
	if r.cfg.OkToDropTable {
		if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE IF EXISTS "+old); err != nil {
			r.log().Warn("could not drop the old table; drop it by hand", zap.String("table", old), zap.Error(err))
			res.OldTable = r.p.names.ghost
		} else {
			r.deleteRevertRecord(ctx, r.p.names.ghost)
		}
	} else {
		res.OldTable = r.p.names.ghost
	}
	if res.OldTable != "" {
		r.log().Info("revert window closed: "+why+"; the old table is kept (--revert --old-table can still revert later, while the binlogs last)", zap.String("old_table", old))
	} else {
		r.log().Info("revert window closed: "+why+"; the old table was dropped (--ok-to-drop-table)", zap.String("old_table", old))
	}
	r.result = res
	return errFinished
}

// windowCommand is the socket's revert and end-revert-window: they act during a window, and are
// kept for it while the revert run that opens it still catches up and verifies.
func (r *run) windowCommand(cmd string) (string, error) {
	if r.window == nil || r.state.get() > StateRevertWindow {
		return "", fmt.Errorf("%s: there is no revert window open now (state %s)", cmd, r.state.get())
	}
	select {
	case r.window.commands <- cmd:
	default:
		return "", fmt.Errorf("%s: another window command is being handled", cmd)
	}
	if cmd == "revert" {
		return "reverting: the old table is swapped back in once it has caught up (same cut-over, same bounded lock)", nil
	}
	what := "kept"
	if r.cfg.OkToDropTable {
		what = "dropped (--ok-to-drop-table)"
	}
	return "ending the revert window; the old table " + r.p.names.ghost + " is " + what, nil
}

// revertStatus is the head of a revert's status: what is replayed where, the reverse lag, and the
// window's end.
func (r *run) revertStatus() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Reverting %s.%s: its changes are replayed into the old table %s\n", r.cfg.Database, r.cfg.Table, r.cfg.OldTable)
	lag := "unknown (no heartbeat replayed yet)"
	if n := r.binlogLag.Load(); n > 0 {
		lag = time.Duration(n).Round(time.Millisecond).String()
	}
	fmt.Fprintf(&b, "# Reverse lag: %s (how far the old table is behind %s)\n", lag, r.cfg.Table)
	if r.window != nil {
		fmt.Fprintf(&b, "# Revert window open until %s: send revert to swap back, end-revert-window to stop\n", r.window.ends.UTC().Format(time.RFC1123Z))
	}
	return b.String()
}

// checkWindowAtStart refuses a --revert-window whose mapping back would lose data, before anything
// is created, and says which columns get their default.
func (r *run) checkWindowAtStart(ghost *table.Table) error {
	if r.cfg.RevertWindow == 0 || ghost == nil {
		return nil
	}
	back := map[string]string{}
	for from, to := range r.p.renames {
		back[to] = from
	}
	m := table.MapColumns(ghost, r.p.orig, back)
	var lossy []string
	for _, n := range mappingBack(m, ghost, r.p.orig) {
		if n.lossy {
			lossy = append(lossy, n.text)
			continue
		}
		r.log().Info("--revert-window: "+n.text, zap.String("column", n.column))
	}
	if len(lossy) > 0 {
		return refuse("--revert-window: the migrated table's changes cannot be replayed back into the old table without loss: %s. Migrate without --revert-window (the old table is still kept)", strings.Join(lossy, "; "))
	}
	return nil
}

// checkWindowExtras refuses a --revert-window the revert could not swap back: triggers, foreign
// keys, or partitions dropped at the swap.
func (r *run) checkWindowExtras(ctx context.Context) error {
	if r.cfg.RevertWindow == 0 {
		return nil
	}
	declared, referencing, err := fkeys.Read(ctx, r.s.inspect, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return err
	}
	if len(r.p.triggersRead) > 0 || r.p.alter.AtSwap || len(declared)+len(referencing) > 0 {
		return refuse("--revert-window: %s has triggers, takes part in foreign keys, or the ALTER drops partitions at the swap; a revert does not move those back yet. Migrate without --revert-window (the old table is still kept)",
			sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table))
	}
	return nil
}

// runRevertWindow starts, right after a successful swap, the revert run of its old table, with a
// window: in the same process, from the swap's recorded position.
func runRevertWindow(ctx context.Context, cfg Config, hk *hooks.Hooks, old string) (*Result, error) {
	cfg.Revert, cfg.OldTable, cfg.Resume = true, old, false
	cfg.PostponeCutOverFlagFile, cfg.Checkpoint = "", false
	r := newRun(&cfg, hk)
	r.window = &revertWindow{ends: time.Now().Add(cfg.RevertWindow), commands: make(chan string, 1)}
	return r.finishRun(ctx)
}
