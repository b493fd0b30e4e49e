package migration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// privilege is one privilege doppel needs; any of its names will do (MariaDB renamed some).
type privilege []string

var (
	// Written on the primary: the changelog and ghost tables, the copy, the replay and the swap;
	// temporary tables for the probe, the replay's stage and the checks of conversions.
	tablePrivileges = []privilege{{"SELECT"}, {"INSERT"}, {"UPDATE"}, {"DELETE"}, {"CREATE"}, {"DROP"}, {"ALTER"}, {"LOCK TABLES"}, {"CREATE TEMPORARY TABLES"}}
	// On the server whose binlog doppel reads.
	binlogPrivileges = []privilege{{"REPLICATION SLAVE"}, {"REPLICATION CLIENT", "BINLOG MONITOR", "SUPER"}}
)

// missingPrivileges returns the privileges of need the current user lacks on database, read from
// information_schema (global and schema grants). unsure is true when the user has roles, whose
// privileges information_schema does not show: then a missing privilege may still be granted.
func missingPrivileges(ctx context.Context, db *sql.DB, database string, need []privilege) (missing []string, unsure bool, err error) {
	var current string
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&current); err != nil {
		return nil, false, fmt.Errorf("reading the current user: %w", err)
	}
	at := strings.LastIndex(current, "@")
	if at < 0 {
		return nil, false, fmt.Errorf("unexpected CURRENT_USER() %q", current)
	}
	grantee := "'" + current[:at] + "'@'" + current[at+1:] + "'"
	rows, err := db.QueryContext(ctx, `SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?
		UNION SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND ? LIKE TABLE_SCHEMA`,
		grantee, grantee, database)
	if err != nil {
		return nil, false, fmt.Errorf("reading the privileges of %s: %w", current, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, false, err
		}
		have[strings.ToUpper(p)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for _, p := range need {
		found := false
		for _, name := range p {
			found = found || have[name]
		}
		if !found {
			missing = append(missing, p[0])
		}
	}
	if len(missing) > 0 {
		var roles int
		// ENABLED_ROLES exists on MySQL 8 and MariaDB (which shows one NULL row when no role is set).
		if err := db.QueryRowContext(ctx, "SELECT COUNT(ROLE_NAME) FROM information_schema.ENABLED_ROLES").Scan(&roles); err == nil && roles > 0 {
			unsure = true
		}
	}
	return missing, unsure, nil
}
