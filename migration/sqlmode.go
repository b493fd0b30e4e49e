package migration

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/dbconn"
)

// The ghost's DDL (the probe's and the ghost table's CREATE … LIKE and ALTER) runs under the
// server's global sql_mode, as a native ALTER in an application's session would: a DEFAULT the
// server's mode refuses (a zero date under strict NO_ZERO_DATE, say) is refused before anything is
// created, instead of being swapped in for the application's next INSERT to fail on. gh-ost does the
// same, and its --allow-zero-in-date takes NO_ZERO_DATE and NO_ZERO_IN_DATE out of that mode. The
// copy and the replay keep doppel's own mode (dbconn.SQLMode), which keeps the values the rows hold.

// zeroDateModes are what --allow-zero-in-date takes out of the server's sql_mode.
var zeroDateModes = []string{"NO_ZERO_DATE", "NO_ZERO_IN_DATE"}

// ddlMode returns the sql_mode the ghost's DDL runs under: the server's global one, less the zero
// date modes when they are allowed.
func ddlMode(ctx context.Context, db *sql.DB, allowZeroInDate bool) (string, error) {
	var mode string
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.sql_mode").Scan(&mode); err != nil {
		return "", fmt.Errorf("reading the server's sql_mode: %w", err)
	}
	if !allowZeroInDate {
		return mode, nil
	}
	return withoutModes(mode, zeroDateModes...), nil
}

// withoutModes returns the sql_mode value mode without the named modes.
func withoutModes(mode string, drop ...string) string {
	var kept []string
	for _, m := range strings.Split(mode, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		dropped := false
		for _, d := range drop {
			dropped = dropped || strings.EqualFold(m, d)
		}
		if !dropped {
			kept = append(kept, m)
		}
	}
	return strings.Join(kept, ",")
}

// hasMode reports whether the sql_mode value mode includes name.
func hasMode(mode, name string) bool { return withoutModes(mode, name) != withoutModes(mode) }

// isStrict reports whether mode makes the server refuse a value that does not fit, rather than
// change it with a warning (for InnoDB tables).
func isStrict(mode string) bool {
	return hasMode(mode, "STRICT_TRANS_TABLES") || hasMode(mode, "STRICT_ALL_TABLES")
}

// execUnderMode runs DDL statements on conn under the sql_mode mode, then puts doppel's mode back
// for what conn reads afterwards (SHOW CREATE TABLE prints under the session's mode). If it cannot,
// the session is closed instead of going back to the pool.
func execUnderMode(ctx context.Context, conn *sql.Conn, mode string, stmts ...string) error {
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = ?", mode); err != nil {
		return fmt.Errorf("setting the server's sql_mode for the DDL: %w", err)
	}
	var err error
	for _, q := range stmts {
		if _, err = conn.ExecContext(ctx, q); err != nil {
			break
		}
	}
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION sql_mode = ?", dbconn.SQLMode); rerr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		if err == nil {
			err = fmt.Errorf("restoring doppel's sql_mode after the DDL: %w", rerr)
		}
	}
	return err
}

// zeroDateHint explains a DDL error that the server's zero date modes cause, or is empty.
func zeroDateHint(mode string, err error) string {
	if dbconn.ErrorNumber(err) != 1067 || !hasMode(mode, "NO_ZERO_DATE") && !hasMode(mode, "NO_ZERO_IN_DATE") {
		return ""
	}
	return fmt.Sprintf(" The server's sql_mode (%s) refuses zero dates, so a native ALTER fails the same way, and an application's INSERT that leaves such a column out would fail after the swap. "+
		"Give the column another DEFAULT, or, to have zero dates anyway, run with --allow-zero-in-date (as in gh-ost)", mode)
}
