package triggers

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Read returns the triggers of schema.table, in Sorted's order. q must be a doppel session
// (character_set_results=binary), so that the statements come back in the bytes they were
// created with.
func Read(ctx context.Context, q Querier, schema, table string) ([]Trigger, error) {
	ts, err := readShown(ctx, q, schema, table)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		t := &ts[i]
		if !sqlbuild.IsWord(t.CharsetClient) || !sqlbuild.IsWord(t.CollationConnection) {
			return nil, fmt.Errorf("trigger %s has the character set %q and collation %q, which doppel cannot name in SQL", sqlbuild.QuoteIdent(t.Name), t.CharsetClient, t.CollationConnection)
		}
		if t.Statement, err = showCreate(ctx, q, schema, t.Name); err != nil {
			return nil, err
		}
		if t.Body, err = bodyOf(ctx, q, *t, t.Shown); err != nil {
			return nil, err
		}
	}
	return Sorted(ts), nil
}

// Changed reports whether the triggers of schema.table are no longer those read: one query of
// information_schema, cheap enough to run while the table is locked.
func Changed(ctx context.Context, q Querier, schema, table string, read []Trigger) (bool, error) {
	now, err := readShown(ctx, q, schema, table)
	if err != nil {
		return false, err
	}
	now, read = Sorted(now), Sorted(read)
	if len(now) != len(read) {
		return true, nil
	}
	for i := range now {
		if now[i].Key() != read[i].Key() {
			return true, nil
		}
	}
	return false, nil
}

// readShown reads what information_schema shows of the triggers of schema.table.
func readShown(ctx context.Context, q Querier, schema, table string) ([]Trigger, error) {
	rows, err := q.QueryContext(ctx, `SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER,
		DEFINER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, ACTION_STATEMENT
		FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?
		ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`, schema, schema, table)
	if err != nil {
		return nil, fmt.Errorf("reading the triggers of %s: %w", sqlbuild.QualifiedName(schema, table), err)
	}
	defer rows.Close()
	var ts []Trigger
	for rows.Next() {
		var t Trigger
		if err := rows.Scan(&t.Name, &t.Table, &t.Timing, &t.Event, &t.Order, &t.Definer, &t.SQLMode, &t.CharsetClient, &t.CollationConnection, &t.Shown); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// showCreate returns SHOW CREATE TRIGGER's statement.
func showCreate(ctx context.Context, q Querier, schema, name string) ([]byte, error) {
	rows, err := q.QueryContext(ctx, "SHOW CREATE TRIGGER "+sqlbuild.QualifiedName(schema, name))
	if err != nil {
		return nil, fmt.Errorf("reading trigger %s: %w", sqlbuild.QuoteIdent(name), err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("trigger %s is gone", sqlbuild.QuoteIdent(name))
	}
	vals := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		if strings.EqualFold(c, "SQL Original Statement") {
			return append([]byte(nil), vals[i]...), rows.Err()
		}
	}
	return nil, errors.New("SHOW CREATE TRIGGER has no \"SQL Original Statement\" column")
}

// bodyOf takes the body out of the trigger's statement without parsing it: the body is the
// statement's last n characters, n being the length of information_schema's ACTION_STATEMENT
// (shown in utf8mb3, where a character it cannot hold becomes one '?': the count stays). The
// server cuts the statement in its own character set, and the cut converted to utf8mb3 must read
// as ACTION_STATEMENT.
func bodyOf(ctx context.Context, q Querier, t Trigger, shown []byte) ([]byte, error) {
	n := utf8.RuneCount(shown)
	cs := t.CharsetClient
	var body []byte
	var same sql.NullBool
	err := q.QueryRowContext(ctx, "SELECT RIGHT(CONVERT(UNHEX(?) USING "+cs+"), ?), "+
		"CAST(CONVERT(RIGHT(CONVERT(UNHEX(?) USING "+cs+"), ?) USING utf8mb3) AS BINARY) = UNHEX(?)",
		hex.EncodeToString(t.Statement), n, hex.EncodeToString(t.Statement), n, hex.EncodeToString(shown)).Scan(&body, &same)
	if err != nil {
		return nil, fmt.Errorf("taking the body of trigger %s out of its statement: %w", sqlbuild.QuoteIdent(t.Name), err)
	}
	if !same.Valid || !same.Bool {
		return nil, fmt.Errorf("the body of trigger %s is not the end of its statement as SHOW CREATE TRIGGER shows it; doppel cannot move it: drop it before the migration and create it again after", sqlbuild.QuoteIdent(t.Name))
	}
	return body, nil
}

// Names returns the names of the triggers in schema, lower-cased, with the table each is on.
func Names(ctx context.Context, q Querier, schema string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", schema)
	if err != nil {
		return nil, fmt.Errorf("reading the trigger names of %s: %w", sqlbuild.QuoteIdent(schema), err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, tbl string
		if err := rows.Scan(&name, &tbl); err != nil {
			return nil, err
		}
		out[strings.ToLower(name)] = tbl
	}
	return out, rows.Err()
}

// OnTable returns the names of the triggers on schema.table.
func OnTable(ctx context.Context, q Querier, schema, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY TRIGGER_NAME", schema, schema, table)
	if err != nil {
		return nil, fmt.Errorf("reading the triggers of %s: %w", sqlbuild.QualifiedName(schema, table), err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
