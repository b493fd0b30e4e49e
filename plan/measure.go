package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// duplicateQuery builds the query that finds whether two rows share a value of the new key, compared the
// way the key will compare them: prefixes cut with LEFT, values converted to the key's charset and
// collation. Rows with a NULL in any key column are left out, as a UNIQUE key allows them repeatedly.
// It selects a constant, so no row value ever leaves the server.
func duplicateQuery(database, table string, uc *uniqueCheck) (string, error) {
	var exprs, notNull []string
	for _, p := range uc.parts {
		q := sqlbuild.QuoteIdent(p.column)
		notNull = append(notNull, q+" IS NOT NULL")
		e := q
		if p.prefix > 0 {
			e = fmt.Sprintf("LEFT(%s, %d)", e, p.prefix)
		}
		if p.charset != "" {
			if !sqlbuild.IsWord(p.charset) || !sqlbuild.IsWord(p.collation) {
				return "", fmt.Errorf("unexpected charset or collation %q/%q", p.charset, p.collation)
			}
			e = fmt.Sprintf("CONVERT(%s USING %s) COLLATE %s", e, p.charset, p.collation)
		}
		exprs = append(exprs, e)
	}
	return fmt.Sprintf("SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING COUNT(*) > 1 LIMIT 1",
		sqlbuild.QualifiedName(database, table), strings.Join(notNull, " AND "), strings.Join(exprs, ", ")), nil
}

// exists runs a query that returns a row when what it looks for exists.
func exists(ctx context.Context, db *sql.DB, query string) (bool, error) {
	var one int
	err := db.QueryRowContext(ctx, query).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// readBinlog reads whether binary logging is on, its format, and how long binlogs are kept
// (dbconn.BinlogRetention, 0 when they are never purged automatically).
func readBinlog(ctx context.Context, db *sql.DB) (*Binlog, error) {
	var logBin, format string
	if err := db.QueryRowContext(ctx, "SELECT @@global.log_bin, @@global.binlog_format").Scan(&logBin, &format); err != nil {
		return nil, fmt.Errorf("reading the binlog settings: %w", err)
	}
	keep, err := dbconn.BinlogRetention(ctx, db)
	if err != nil {
		return nil, err
	}
	b := &Binlog{Enabled: logBin == "1" || strings.EqualFold(logBin, "ON"), Format: strings.ToUpper(format)}
	if keep > 0 {
		s := int64(keep / time.Second)
		b.RetentionSeconds = &s
	}
	return b, nil
}

// readFreeDisk returns the free space of the disk holding the server's data directory, or nil and the
// reason it cannot tell. MySQL has no SQL for it; MariaDB has it only through the DISKS plugin.
func readFreeDisk(ctx context.Context, db *sql.DB, f dbconn.Flavor) (*int64, string, error) {
	if f.Name() != "mariadb" {
		return nil, "MySQL does not report free disk space through SQL", nil
	}
	var active int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PLUGINS
		WHERE PLUGIN_NAME = 'DISKS' AND PLUGIN_STATUS = 'ACTIVE'`).Scan(&active); err != nil {
		return nil, "", fmt.Errorf("looking for the DISKS plugin: %w", err)
	}
	if active == 0 {
		return nil, "MariaDB reports it only with the DISKS plugin (INSTALL SONAME 'disks')", nil
	}
	var datadir string
	if err := db.QueryRowContext(ctx, "SELECT @@datadir").Scan(&datadir); err != nil {
		return nil, "", fmt.Errorf("reading datadir: %w", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT Path, Available FROM information_schema.DISKS")
	if err != nil {
		// Without the FILE privilege the plugin refuses; that is an answer, not a failure of the plan.
		return nil, fmt.Sprintf("information_schema.DISKS cannot be read: %v", err), nil
	}
	defer rows.Close()
	best, found := "", false
	var free int64
	for rows.Next() {
		var path string
		var availableKiB int64
		if err := rows.Scan(&path, &availableKiB); err != nil {
			return nil, "", fmt.Errorf("reading information_schema.DISKS: %w", err)
		}
		if onPath(datadir, path) && (!found || len(path) > len(best)) {
			best, found, free = path, true, availableKiB*1024
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("reading information_schema.DISKS: %w", err)
	}
	if !found {
		return nil, "no disk in information_schema.DISKS holds the data directory " + datadir, nil
	}
	return &free, "", nil
}

// onPath reports whether dir lies under the mount point mount.
func onPath(dir, mount string) bool {
	mount = strings.TrimSuffix(mount, "/")
	return mount == "" || dir == mount || strings.HasPrefix(dir, mount+"/")
}

// sampleKey is the key the sample reads along: the PRIMARY KEY, or else a UNIQUE key on NOT NULL
// columns without prefixes, the same kind of key doppel's copy walks.
func sampleKey(t *table.Table) *table.Index {
	if pk := primaryKey(t); pk != nil {
		return pk
	}
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		if ix.Unique && usableKey(t, ix) {
			return ix
		}
	}
	return nil
}

// usableKey reports whether every part of the key is a whole NOT NULL column.
func usableKey(t *table.Table, ix *table.Index) bool {
	if ix.Expression {
		return false
	}
	for _, kc := range ix.Columns {
		col := t.Column(kc.Name)
		if col == nil || col.Nullable || kc.SubPart > 0 {
			return false
		}
	}
	return true
}

// sampleRead reads chunks of rows along key with plain SELECTs, the read half of a copy, and times it.
// Nothing is locked or written, and the rows are discarded as they arrive.
func sampleRead(ctx context.Context, db *sql.DB, t *table.Table, key *table.Index, chunks, rowsPer int) (*Sample, error) {
	var cols []string
	for _, c := range t.Columns {
		if !c.Generated {
			cols = append(cols, c.Name)
		}
	}
	keyCols := make([]string, len(key.Columns))
	keyAt := make([]int, len(key.Columns)) // where each key column is in the select list
	for i, kc := range key.Columns {
		keyCols[i] = kc.Name
		keyAt[i] = len(cols) + i
	}
	selectList := sqlbuild.QuoteIdents(append(append([]string{}, cols...), keyCols...))
	from := fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s)", selectList, sqlbuild.QualifiedName(t.Schema, t.Name), sqlbuild.QuoteIdent(key.Name))
	order := " ORDER BY " + sqlbuild.QuoteIdents(keyCols) + " LIMIT " + strconv.Itoa(rowsPer)

	s := &Sample{Key: sqlbuild.QuoteIdent(key.Name)}
	var last []any
	start := time.Now()
	for s.Chunks < chunks {
		query, args := from+order, []any(nil)
		if last != nil {
			where, a := afterKey(keyCols, last)
			query, args = from+" WHERE "+where+order, a
		}
		n, lastRow, err := readChunk(ctx, db, query, args, len(cols)+len(keyCols), keyAt)
		if err != nil {
			return nil, fmt.Errorf("sampling %s: %w", sqlbuild.QualifiedName(t.Schema, t.Name), err)
		}
		s.Chunks++
		s.Rows += int64(n)
		if n < rowsPer {
			break // the end of the table
		}
		last = lastRow
	}
	s.ElapsedSeconds = time.Since(start).Seconds()
	if s.ElapsedSeconds > 0 {
		s.RowsPerSecond = float64(s.Rows) / s.ElapsedSeconds
	}
	return s, nil
}

// afterKey is the condition for rows after the key value last, for a key of several columns:
// (a > ?) OR (a = ? AND b > ?) OR ..., which every server turns into an index range.
func afterKey(cols []string, last []any) (string, []any) {
	var ors []string
	var args []any
	for i := range cols {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, sqlbuild.QuoteIdent(cols[j])+" = ?")
			args = append(args, last[j])
		}
		ands = append(ands, sqlbuild.QuoteIdent(cols[i])+" > ?")
		args = append(args, last[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return strings.Join(ors, " OR "), args
}

// readChunk runs one chunk query and returns how many rows it read and the key of the last one.
func readChunk(ctx context.Context, db *sql.DB, query string, args []any, width int, keyAt []int) (int, []any, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	vals := make([]sql.RawBytes, width)
	ptrs := make([]any, width)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	var last []any
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, nil, err
		}
		n++
		last = last[:0]
		for _, i := range keyAt {
			last = append(last, append([]byte{}, vals[i]...))
		}
	}
	return n, last, rows.Err()
}
