package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/fit"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/internal/triggers"
	"github.com/doppel-sql/doppel/table"
)

// validated is what validation found out: everything the migration needs, decided before anything is
// created.
type validated struct {
	names
	alter *alter.Alter
	orig  *table.Table
	// probed is the altered table as the probe showed it; the real ghost table is checked again
	// after it is created. probeNote says why there was no probe, when there was none.
	probed    *table.Table
	probeNote string
	renames   map[string]string
	// gone are the original columns whose values no ghost column takes: dropped by the ALTER, or
	// renamed with --skip-renamed-columns.
	gone    []string
	mapping table.Mapping
	key     *table.Key
	unique  []table.UniqueChange
	rows    int64 // the server's estimate
	// Leftovers of an earlier run that the --initially-drop-* flags allow dropping.
	dropFirst []string
	warnings  []string

	// probedChecks are the probe's CHECK constraints, read before it is dropped.
	probedChecks []fit.Check
	// ddlMode is the sql_mode the probe's and the ghost's DDL run under (sqlmode.go).
	ddlMode string
	// timeZone is the primary's default time zone, in which a native ALTER converts TIMESTAMPs to
	// and from other types ("" for UTC).
	timeZone string
	// fitted is set once the rows have been counted against the altered table (checkFit).
	fitted bool
	// triggers are the original's triggers as the check read them (triggersRead), with their twins'
	// names and statements (triggers.go).
	triggersRead []triggers.Trigger
	triggers     []triggers.Move
	// nullsCounted is set once a nullable iteration key has been found free of NULL.
	nullsCounted bool
}

// A refusal is bad input found by validation: nothing has been created.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{msg: fmt.Sprintf(format, args...)} }

// IsRefusal reports whether err is a refusal of the request found before anything was created.
func IsRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

// validate checks the request against the servers. It changes nothing: the one thing it creates is
// a TEMPORARY table in its own session, invisible to others and never written to a ROW binlog.
func validate(ctx context.Context, cfg *Config, s *servers, a *alter.Alter) (*validated, error) {
	p, err := newValidated(cfg, a)
	if err != nil {
		return nil, err
	}
	if err := checkBinlog(ctx, s); err != nil {
		return nil, err
	}
	if err := checkGTID(ctx, cfg, s); err != nil {
		return nil, err
	}
	if err := checkPrimaryWritable(ctx, s); err != nil {
		return nil, err
	}
	if err := checkPrivileges(ctx, cfg, s, p); err != nil {
		return nil, err
	}
	if err := checkTable(ctx, cfg, s, p); err != nil {
		return nil, err
	}
	if err := checkLeftovers(ctx, cfg, s, p); err != nil {
		return nil, err
	}
	if err := checkRequest(ctx, cfg, s, p); err != nil {
		return nil, err
	}
	return p, nil
}

// newValidated starts the validation of the ALTER: renamed columns must be confirmed one way or
// the other.
func newValidated(cfg *Config, a *alter.Alter) (*validated, error) {
	p := &validated{names: namesFor(cfg.Table), alter: a}
	if cfg.TimestampOldTable {
		p.old = timestampedOld(cfg.Table, time.Now())
	}
	if len(a.Renames) > 0 && !cfg.ApproveRenamedColumns && !cfg.SkipRenamedColumns {
		var pairs []string
		for from, to := range a.Renames {
			pairs = append(pairs, from+" → "+to)
		}
		return nil, refuse("the ALTER renames columns (%s). Confirm with --approve-renamed-columns to carry their values over to the new names, or --skip-renamed-columns to treat them as dropped and added (the new columns get their default)", strings.Join(pairs, ", "))
	}
	p.renames, p.gone = map[string]string{}, a.Dropped
	if cfg.ApproveRenamedColumns {
		p.renames = a.Renames
	} else {
		// gh-ost's meaning: a renamed column is dropped, and the new one added with its default.
		for from := range a.Renames {
			p.gone = append(p.gone, from)
		}
	}
	return p, nil
}

// checkRequest checks the ALTER against the table and its rows: what doppel plan shares with a
// migration (CheckRequest), after the server's setup and the leftovers are checked.
func checkRequest(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	var err error
	if p.orig, err = table.Inspect(ctx, s.inspect, cfg.Database, cfg.Table); err != nil {
		return err
	}
	if s.replicaMode {
		onPrimary, err := table.Inspect(ctx, s.primary, cfg.Database, cfg.Table)
		if err != nil {
			return fmt.Errorf("reading the table on the primary: %w", err)
		}
		if len(onPrimary.Columns) != len(p.orig.Columns) {
			return refuse("%s.%s has %d columns on the primary and %d on the replica %s: replication looks broken; fix it first",
				cfg.Database, cfg.Table, len(onPrimary.Columns), len(p.orig.Columns), s.inspectCfg.Addr())
		}
	}
	if p.ddlMode, err = ddlMode(ctx, s.primary, cfg.AllowZeroInDate); err != nil {
		return err
	}
	if p.timeZone, err = dbconn.DefaultTimeZone(ctx, s.primary); err != nil {
		return err
	}
	if err := probe(ctx, cfg, s, p); err != nil {
		return err
	}
	if p.probed != nil {
		if err := checkGhost(ctx, cfg, s, p, p.probed); err != nil {
			return err
		}
	}
	if err := checkForeignKeyColumns(ctx, cfg, s, p); err != nil {
		return err
	}
	size, err := table.SizeOf(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the size of %s.%s: %w", cfg.Database, cfg.Table, err)
	}
	p.rows = size.Rows
	return nil
}

// checkGTID refuses --gtid on a server whose binlog carries no GTIDs, before anything is created.
func checkGTID(ctx context.Context, cfg *Config, s *servers) error {
	if !cfg.GTID {
		return nil
	}
	st, err := dbconn.ReadBinlogStatus(ctx, s.inspect, s.flavor)
	if err != nil {
		return err
	}
	set, err := dbconn.GTIDAt(ctx, s.inspect, s.flavor, st)
	if err != nil {
		return err
	}
	if set == "" {
		return refuse("--gtid: %s has executed no transaction with a GTID (on MySQL, gtid_mode must be ON and enforce_gtid_consistency too): enable GTIDs, or run without --gtid", s.inspectCfg.Addr())
	}
	return nil
}

func checkBinlog(ctx context.Context, s *servers) error {
	var logBin int
	var format, image string
	err := s.inspect.QueryRowContext(ctx, "SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image").Scan(&logBin, &format, &image)
	if err != nil {
		return fmt.Errorf("reading the binlog settings of %s: %w", s.inspectCfg.Addr(), err)
	}
	where := s.inspectCfg.Addr()
	switch {
	case logBin != 1:
		return refuse("the binary log is off on %s (log_bin=OFF). doppel reads every change to the table from it: enable log_bin (a restart) or point --host at a server that has it", where)
	case !strings.EqualFold(format, "ROW"):
		return refuse("binlog_format is %s on %s; doppel needs ROW to see every changed row. Set binlog_format=ROW globally (SET GLOBAL binlog_format=ROW, and in the config file), and let sessions reconnect", format, where)
	case !strings.EqualFold(image, "FULL"):
		return refuse("binlog_row_image is %s on %s; doppel needs FULL row images to replay changes. Set binlog_row_image=FULL globally", image, where)
	}
	// Caught here, not hours later at the first JSON update that arrives as a diff.
	if v := s.flavor.RowValueOptionsVar(); v != "" {
		var options string
		if err := s.inspect.QueryRowContext(ctx, "SELECT @@global."+v).Scan(&options); err != nil {
			return fmt.Errorf("reading %s on %s: %w", v, where, err)
		}
		if strings.Contains(strings.ToUpper(options), "PARTIAL_JSON") {
			return refuse("%s is %s on %s: JSON updates are logged as diffs, which doppel cannot replay onto the ghost. Set it empty globally (SET GLOBAL %s = ''), and let sessions reconnect", v, options, where, v)
		}
	}
	if s.replicaMode || s.onReplica {
		var updates int
		if err := s.inspect.QueryRowContext(ctx, "SELECT @@global."+s.flavor.LogReplicaUpdatesVar()).Scan(&updates); err != nil {
			return fmt.Errorf("reading log_slave_updates on %s: %w", where, err)
		}
		if updates != 1 {
			return refuse("log_slave_updates is off on the replica %s, so its binlog lacks the primary's changes. Enable log_slave_updates (log_replica_updates), or use --allow-on-master with --host pointing at the primary", where)
		}
	}
	return nil
}

func checkPrimaryWritable(ctx context.Context, s *servers) error {
	var readOnly int
	if err := s.primary.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&readOnly); err != nil {
		return fmt.Errorf("reading read_only on %s: %w", s.primaryCfg.Addr(), err)
	}
	if readOnly != 0 && s.onReplica {
		return nil // a replica usually is; doppel's user needs the privilege to write anyway (SUPER, READ_ONLY ADMIN)
	}
	if readOnly != 0 {
		return refuse("the primary %s is read-only (read_only=ON); doppel writes the ghost table there. Is it really the primary? Give the right one with --assume-master-host", s.primaryCfg.Addr())
	}
	return nil
}

func checkPrivileges(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	onTable := tablePrivileges
	if cfg.IncludeTriggers {
		onTable = append(slices.Clip(onTable), privilege{"TRIGGER"}) // to move the triggers
	}
	for _, c := range []struct {
		db    *sql.DB
		where string
		need  []privilege
		why   string
	}{
		{s.primary, s.primaryCfg.Addr(), onTable, "on database " + cfg.Database + " to create, fill and swap the ghost table"},
		{s.inspect, s.inspectCfg.Addr(), binlogPrivileges, "globally to read the binlog"},
	} {
		missing, unsure, err := missingPrivileges(ctx, c.db, cfg.Database, c.need)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			continue
		}
		msg := fmt.Sprintf("user %q lacks %s on %s; doppel needs them %s. Grant them, e.g. GRANT %s ON ... TO the user",
			cfg.Conn.User, strings.Join(missing, ", "), c.where, c.why, strings.Join(missing, ", "))
		if unsure {
			p.warnings = append(p.warnings, msg+" (the user has roles, which may grant them: going on)")
			continue
		}
		return refuse("%s", msg)
	}
	return nil
}

func checkTable(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	ok, err := table.SchemaExists(ctx, s.inspect, cfg.Database)
	if err != nil {
		return err
	}
	if !ok {
		return refuse("database %s does not exist on %s: check --database", sqlbuild.QuoteIdent(cfg.Database), s.inspectCfg.Addr())
	}
	kind, engine, err := table.Kind(ctx, s.inspect, cfg.Database, cfg.Table)
	if errors.Is(err, table.ErrNotFound) {
		return refuse("table %s does not exist on %s: check --table (names are case-sensitive)", sqlbuild.QualifiedName(cfg.Database, cfg.Table), s.inspectCfg.Addr())
	}
	if err != nil {
		return err
	}
	if kind != "BASE TABLE" {
		return refuse("%s is a %s, not a table: doppel migrates tables only", sqlbuild.QualifiedName(cfg.Database, cfg.Table), strings.ToLower(kind))
	}
	if !strings.EqualFold(engine, "InnoDB") {
		return refuse("%s uses the %s engine; doppel needs InnoDB's transactions and row locks to copy a live table safely. Convert it with a native ALTER TABLE ... ENGINE=InnoDB first", sqlbuild.QualifiedName(cfg.Database, cfg.Table), engine)
	}
	if err := checkTriggers(ctx, cfg, s, p); err != nil {
		return err
	}
	return checkForeignKeys(ctx, cfg, s)
}

// checkLeftovers refuses when the tables doppel creates already exist, unless told to drop them or,
// with --resume, to continue with them. A cut-over sentry left by a run killed during its swap is
// recognized and dropped: it holds nothing.
func checkLeftovers(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	sentry := cutover.SentryName(cfg.Table)
	if sentry == "" {
		return refuse("doppel finds no name for its cut-over sentry that sorts after the table name %q (the swap needs one: it takes its locks in name order) and has at most %d characters: rename the table first or use a native ALTER", cfg.Table, table.MaxNameLen)
	}
	for _, c := range []struct {
		name    string
		allowed bool
		flag    string
		resumed bool // the table a --resume continues with
	}{
		{p.names.ghost, cfg.InitiallyDropGhostTable, "--initially-drop-ghost-table", true},
		{p.changelog, cfg.InitiallyDropGhostTable, "--initially-drop-ghost-table", true},
		{p.old, cfg.InitiallyDropOldTable, "--initially-drop-old-table", false},
		// The original's name during the swap: a sentry, or the original of a run killed between
		// the swap and its rename to the old name.
		{sentry, cfg.InitiallyDropOldTable, "--initially-drop-old-table", false},
	} {
		exists, err := table.Exists(ctx, s.primary, cfg.Database, c.name)
		if err != nil {
			return err
		}
		switch {
		case cfg.Resume && c.resumed && !exists:
			return refuse("--resume: %s does not exist, so there is no stopped run to continue; run without --resume", sqlbuild.QualifiedName(cfg.Database, c.name))
		case !exists, cfg.Resume && c.resumed:
			continue
		case !c.resumed && cutover.IsSentry(ctx, s.primary, cfg.Database, c.name):
			p.dropFirst = append(p.dropFirst, c.name)
		case !c.allowed:
			what := "Check it holds nothing you need, then drop it or run with " + c.flag
			if c.resumed {
				what = "To continue that run from where it stopped, add --resume; to start over, check it holds nothing you need, then drop it or run with " + c.flag
			}
			return refuse("table %s already exists, probably left by an earlier run. %s", sqlbuild.QualifiedName(cfg.Database, c.name), what)
		default:
			p.dropFirst = append(p.dropFirst, c.name)
		}
	}
	return nil
}

// probe applies the ALTER to a TEMPORARY copy of the table, to see the result before creating
// anything. InnoDB refuses FULLTEXT keys on temporary tables, so then the probe is MyISAM; a
// partitioned table cannot be temporary at all, and is checked once the real ghost exists. The DDL
// runs under the server's sql_mode, as the ghost's does.
func probe(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	conn, err := s.primary.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const probeName = "_doppel_probe"
	tmp := sqlbuild.QualifiedName(cfg.Database, probeName)
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TEMPORARY TABLE IF EXISTS "+tmp) }()
	create := "CREATE TEMPORARY TABLE " + tmp + " LIKE " + sqlbuild.QualifiedName(cfg.Database, cfg.Table)
	if err := execUnderMode(ctx, conn, p.ddlMode, create); err != nil {
		if hint := zeroDateHint(p.ddlMode, err); hint != "" {
			return refuse("%s cannot be altered under the server's sql_mode: %v.%s", cfg.Table, err, hint)
		}
		p.probeNote = fmt.Sprintf("the ALTER could not be tried on a temporary copy (%v); doppel checks it on the ghost table before copying", err)
		cfg.Logger.Info("no temporary probe", zap.Error(err))
		return nil
	}
	alterSQL := "ALTER TABLE " + tmp + " " + p.alter.GhostClause()
	if p.alter.GhostClause() == "" {
		alterSQL = "ALTER TABLE " + tmp + " FORCE" // the ghost is the table as it is
	}
	if err := execUnderMode(ctx, conn, p.ddlMode, alterSQL); err != nil {
		if dbconn.ErrorNumber(err) == 1478 { // the ALTER partitions the table, which cannot be temporary
			p.probeNote = "the ALTER partitions the table, which a temporary copy cannot be; doppel checks it on the ghost table before copying"
			cfg.Logger.Info("no temporary probe", zap.Error(err))
			return nil
		}
		if dbconn.ErrorNumber(err) != 1796 { // FULLTEXT on a temporary InnoDB table
			return refuse("the ALTER fails on a copy of %s: %v.%s Fix --alter", cfg.Table, err, zeroDateHint(p.ddlMode, err))
		}
		if err := execUnderMode(ctx, conn, p.ddlMode, "DROP TEMPORARY TABLE "+tmp, create, "ALTER TABLE "+tmp+" ENGINE=MyISAM", alterSQL); err != nil {
			return refuse("the ALTER fails on a copy of %s: %v.%s Fix --alter", cfg.Table, err, zeroDateHint(p.ddlMode, err))
		}
	}
	p.probed, err = table.InspectTemporary(ctx, conn, cfg.Database, probeName)
	if err != nil {
		return err
	}
	if p.probedChecks, err = fit.ReadChecks(ctx, conn, cfg.Database, probeName); err != nil {
		return err
	}
	p.probed.Name = p.names.ghost
	return nil
}

// checkGhost decides how the columns map and which key to use, and refuses unsafe unique keys and
// rows the altered table cannot hold. It runs on the probe and again on the real ghost table; the
// rows are counted once, on the first of them.
func checkGhost(ctx context.Context, cfg *Config, s *servers, p *validated, ghost *table.Table) error {
	// A column dropped and added again under its name starts from its default, as in a native ALTER.
	mapping := table.MapColumns(p.orig, ghost, p.renames, p.gone...)
	mapping.TimeZone = p.timeZone
	if len(mapping.Copied) == 0 {
		return refuse("the altered table shares no column with the original: there is nothing to copy")
	}
	for _, name := range mapping.Added {
		c := ghost.Column(name)
		if !c.HasDefault && !c.Generated && !c.AutoInc && skippedRename(p, name) {
			return refuse("with --skip-renamed-columns the renamed column %s starts from its default, but it is NOT NULL without a DEFAULT: carry its values over with --approve-renamed-columns, or give it a DEFAULT",
				sqlbuild.QuoteIdent(name))
		}
		if !c.HasDefault && !c.Generated && !c.AutoInc {
			return refuse("the ALTER adds column %s as NOT NULL without a DEFAULT. A native ALTER would fill the existing rows with the type's implicit default (0, '' or a zero date); doppel copies under strict SQL mode and needs it said: add an explicit DEFAULT to the column (it can be dropped afterwards with a quick ALTER ... ALTER COLUMN ... DROP DEFAULT)",
				sqlbuild.QuoteIdent(name))
		}
	}
	key, err := table.ChooseKey(p.orig, ghost, mapping, table.KeyOptions{AllowNullable: cfg.AllowNullableUniqueKey})
	if err != nil {
		var noKey *table.ErrNoSharedKey
		if errors.As(err, &noKey) {
			return refuse("%s", noKey.Error())
		}
		return err
	}
	if len(key.Nullable) > 0 && !p.nullsCounted {
		n, err := countNullKeys(ctx, s.inspect, p.orig, key)
		if err != nil {
			return err
		}
		if n > 0 {
			return refuse("%d rows of %s hold NULL in the unique key %s (%s), the only key doppel could iterate on (--allow-nullable-unique-key): it copies rows in ranges of the key and replays changes by it, and a NULL is in no range and matches no row. Give those rows values (or add a PRIMARY KEY) first",
				n, sqlbuild.QualifiedName(cfg.Database, cfg.Table), sqlbuild.QuoteIdent(key.Orig.Name), sqlbuild.QuoteIdents(key.Nullable))
		}
		p.nullsCounted = true
	}
	unique := table.UniqueChanges(p.orig, ghost, mapping)
	for _, u := range unique {
		if !cfg.AllowUniqueKeyChange {
			return refuse("the ALTER adds unique key %s (%s): copying rows into it would silently drop every row that duplicates another under it. If you are sure the data has no duplicates, run with --allow-unique-key-change: doppel then checks the existing rows first",
				sqlbuild.QuoteIdent(u.Ghost.Name), u.Why)
		}
		q, err := table.DuplicatesQuery(p.orig, u.Ghost, mapping)
		if err != nil {
			return refuse("%v", err)
		}
		var one int
		err = s.inspect.QueryRowContext(ctx, q).Scan(&one)
		if err == nil {
			return refuse("%s.%s holds rows that collide under the new unique key %s: adding it would lose rows. Remove the duplicates first", cfg.Database, cfg.Table, sqlbuild.QuoteIdent(u.Ghost.Name))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("checking for duplicates under the new unique key %s: %w", u.Ghost.Name, err)
		}
	}
	if !p.fitted {
		if err := checkFit(ctx, cfg, s, p, ghost, mapping, key); err != nil {
			return err
		}
		p.fitted = true
	}
	p.mapping, p.key, p.unique = mapping, key, unique
	return nil
}

// skippedRename reports whether the ghost column name is a column the ALTER renames that doppel adds
// instead (--skip-renamed-columns).
func skippedRename(p *validated, name string) bool {
	for from, to := range p.alter.Renames {
		if strings.EqualFold(to, name) && p.renames[from] == "" {
			return true
		}
	}
	return false
}

// countNullKeys counts the rows of orig that hold NULL in a column of the iteration key.
func countNullKeys(ctx context.Context, db *sql.DB, orig *table.Table, key *table.Key) (int64, error) {
	var conds []string
	for _, c := range key.Nullable {
		conds = append(conds, sqlbuild.QuoteIdent(c)+" IS NULL")
	}
	var n int64
	q := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s", sqlbuild.QualifiedName(orig.Schema, orig.Name), strings.Join(conds, " OR "))
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting NULLs in the unique key %s: %w", key.Orig.Name, err)
	}
	return n, nil
}
