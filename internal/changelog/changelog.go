// Package changelog is the changelog table of one migration, `_T_ghc`, and the protocol doppel speaks
// through it. The table holds one row per hint (its unique key): doppel writes a row on the primary,
// and the row comes back through the binary log after every change committed before it, on the
// primary's binlog and on a replica's alike. Three kinds of rows use that:
//
//   - markers (Markers): a unique token written and waited for in the stream proves that every change
//     committed before it has been replayed (the catch-up of the cut-over and of the checksum);
//   - heartbeats: the time written on the primary, read back on a replica, is that replica's lag, and
//     seen in the stream, the replay's;
//   - the checkpoint (package checkpoint): the progress a resumed run continues from.
//
// This package is the one place that writes the table, decodes its rows from the binlog and waits for
// markers. The packages that use it take narrow interfaces of their own (cutover.CatchUp, a catch-up
// function in verify, a Table value in throttle and checkpoint).
package changelog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// The hints: the rows the table holds.
const (
	HintMarker     = "marker"
	HintHeartbeat  = "heartbeat" // the primary's time, RFC 3339 in UTC
	HintCheckpoint = "checkpoint"
	// HintNotResumable, when present, says why the ghost table can no longer be continued: the
	// cut-over changed it for the swap in a way no later attempt can take back.
	HintNotResumable = "not-resumable"
)

// Comment marks the table as doppel's.
const Comment = "doppel changelog"

// Positions of hint and value in a row image of the table (the binlog's column order).
const (
	hintCol  = 2
	valueCol = 3
)

// Table is the changelog table of one migration.
type Table struct {
	schema, name string
}

// New returns the changelog table schema.name.
func New(schema, name string) Table { return Table{schema: schema, name: name} }

// Name is the table's name, as the binlog names it.
func (t Table) Name() string { return t.name }

// Qualified is `schema`.`name`.
func (t Table) Qualified() string { return sqlbuild.QualifiedName(t.schema, t.name) }

// Create creates the table.
func (t Table) Create(ctx context.Context, db dbconn.Execer) error {
	_, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %s (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  last_update TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  hint VARCHAR(64) CHARACTER SET ascii NOT NULL,
  value MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY hint_uidx (hint)
) ENGINE=InnoDB COMMENT=%s`, t.Qualified(), sqlbuild.QuoteString(Comment)))
	if err != nil {
		return fmt.Errorf("creating the changelog table %s: %w", t.Qualified(), err)
	}
	return nil
}

// Write sets the row of hint to value, on the primary db.
func (t Table) Write(ctx context.Context, db dbconn.Execer, hint, value string) error {
	_, err := db.ExecContext(ctx, "INSERT INTO "+t.Qualified()+" (hint, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)", hint, value)
	if err != nil {
		return fmt.Errorf("writing the %s to the changelog table: %w", hint, err)
	}
	return nil
}

// ErrNoRow means the table holds no row for the hint, or does not exist (yet, on a replica).
var ErrNoRow = errors.New("no such row in the changelog table")

// Read returns the value of hint's row on db (the primary, or a replica).
func (t Table) Read(ctx context.Context, db dbconn.Querier, hint string) (string, error) {
	rows, err := db.QueryContext(ctx, "SELECT value FROM "+t.Qualified()+" WHERE hint = ?", hint)
	if dbconn.ErrorNumber(err) == dbconn.ErrNoSuchTable {
		return "", ErrNoRow
	}
	if err != nil {
		return "", fmt.Errorf("reading the %s from the changelog table: %w", hint, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("reading the %s from the changelog table: %w", hint, err)
		}
		return "", ErrNoRow
	}
	var value string
	if err := rows.Scan(&value); err != nil {
		return "", fmt.Errorf("reading the %s from the changelog table: %w", hint, err)
	}
	return value, rows.Err()
}

// Heartbeat is the value of a heartbeat written at now.
func Heartbeat(now time.Time) string { return now.UTC().Format(time.RFC3339Nano) }

// ParseHeartbeat reads a heartbeat's time.
func ParseHeartbeat(value string) (time.Time, error) { return time.Parse(time.RFC3339Nano, value) }

// Decode returns the hint and the value of a change of the table seen in the binlog; ok is false
// for a change of another table, or one that writes no row (a delete).
func (t Table) Decode(ch binlog.Change) (hint, value string, ok bool) {
	if ch.Table != t.name || len(ch.After) <= valueCol {
		return "", "", false
	}
	return text(ch.After[hintCol]), text(ch.After[valueCol]), true
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}
