package dbconn

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Version is a server version such as 8.0.36 or 10.11.6.
type Version struct{ Major, Minor, Patch int }

// AtLeast reports whether v >= major.minor.patch.
func (v Version) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Flavor holds what differs between MySQL and MariaDB for doppel: statement names, capabilities and
// the name go-mysql uses for the binlog protocol.
type Flavor interface {
	// Name is "mysql" or "mariadb", as go-mysql's BinlogSyncerConfig.Flavor expects.
	Name() string
	Version() Version
	// ReplicaStatusQuery shows the replication threads of a replica.
	ReplicaStatusQuery() string
	// BinlogStatusQuery shows the current binlog file and position (SHOW MASTER STATUS was removed in MySQL 8.4).
	BinlogStatusQuery() string
	// ChangeSourceSQL points a replica at a primary from the given binlog position.
	ChangeSourceSQL(host string, port int, user, password, file string, pos uint64) string
	StartReplicaSQL() string
	StopReplicaSQL() string
	// ResetReplicaAllSQL makes a stopped replica forget its primary: it is no replica any more.
	ResetReplicaAllSQL() string
	// LogReplicaUpdatesVar names the variable saying whether a replica writes what it replicates to
	// its own binlog (log_slave_updates was renamed log_replica_updates in MySQL 8.0.26).
	LogReplicaUpdatesVar() string
	// RowValueOptionsVar names the variable that makes the binlog log JSON updates as diffs
	// (MySQL 8.0.3+'s binlog_row_value_options), which doppel cannot replay; "" where there is none.
	RowValueOptionsVar() string
}

// ParseVersion parses the leading "X.Y.Z" of a @@version string such as "10.11.6-MariaDB-log".
func ParseVersion(s string) (Version, error) {
	head := s
	if i := strings.IndexFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		head = s[:i]
	}
	parts := strings.Split(head, ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("cannot read a server version from %q", s)
	}
	var nums [3]int
	for i := 0; i < len(parts) && i < 3; i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return Version{}, fmt.Errorf("cannot read a server version from %q", s)
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}

// NewFlavor returns the flavor for a @@version string.
func NewFlavor(version string) (Flavor, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, err
	}
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return mariaDB{v}, nil
	}
	return mySQL{v}, nil
}

// DetectFlavor asks the server for its version.
func DetectFlavor(ctx context.Context, db *sql.DB) (Flavor, error) {
	var version string
	if err := db.QueryRowContext(ctx, "SELECT @@version").Scan(&version); err != nil {
		return nil, fmt.Errorf("reading server version: %w", err)
	}
	return NewFlavor(version)
}

type mySQL struct{ v Version }

func (f mySQL) Name() string     { return "mysql" }
func (f mySQL) Version() Version { return f.v }
func (f mySQL) ReplicaStatusQuery() string {
	if f.v.AtLeast(8, 0, 22) {
		return "SHOW REPLICA STATUS"
	}
	return "SHOW SLAVE STATUS"
}
func (f mySQL) BinlogStatusQuery() string {
	if f.v.AtLeast(8, 2, 0) {
		return "SHOW BINARY LOG STATUS"
	}
	return "SHOW MASTER STATUS"
}
func (f mySQL) ChangeSourceSQL(host string, port int, user, password, file string, pos uint64) string {
	if f.v.AtLeast(8, 0, 23) {
		return fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%d, SOURCE_USER=%s, SOURCE_PASSWORD=%s, SOURCE_LOG_FILE=%s, SOURCE_LOG_POS=%d, SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1",
			sqlbuild.QuoteString(host), port, sqlbuild.QuoteString(user), sqlbuild.QuoteString(password), sqlbuild.QuoteString(file), pos)
	}
	return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_LOG_FILE=%s, MASTER_LOG_POS=%d, MASTER_CONNECT_RETRY=1",
		sqlbuild.QuoteString(host), port, sqlbuild.QuoteString(user), sqlbuild.QuoteString(password), sqlbuild.QuoteString(file), pos)
}
func (f mySQL) StartReplicaSQL() string {
	if f.v.AtLeast(8, 0, 22) {
		return "START REPLICA"
	}
	return "START SLAVE"
}
func (f mySQL) StopReplicaSQL() string {
	if f.v.AtLeast(8, 0, 22) {
		return "STOP REPLICA"
	}
	return "STOP SLAVE"
}
func (f mySQL) ResetReplicaAllSQL() string {
	if f.v.AtLeast(8, 0, 22) {
		return "RESET REPLICA ALL"
	}
	return "RESET SLAVE ALL"
}
func (f mySQL) LogReplicaUpdatesVar() string {
	if f.v.AtLeast(8, 0, 26) {
		return "log_replica_updates"
	}
	return "log_slave_updates"
}

func (f mySQL) RowValueOptionsVar() string {
	if f.v.AtLeast(8, 0, 3) {
		return "binlog_row_value_options"
	}
	return ""
}

type mariaDB struct{ v Version }

func (f mariaDB) Name() string     { return "mariadb" }
func (f mariaDB) Version() Version { return f.v }
func (f mariaDB) ReplicaStatusQuery() string {
	if f.v.AtLeast(10, 5, 1) {
		return "SHOW REPLICA STATUS"
	}
	return "SHOW SLAVE STATUS"
}
func (f mariaDB) BinlogStatusQuery() string {
	if f.v.AtLeast(10, 5, 2) {
		return "SHOW BINLOG STATUS"
	}
	return "SHOW MASTER STATUS"
}
func (f mariaDB) ChangeSourceSQL(host string, port int, user, password, file string, pos uint64) string {
	return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_LOG_FILE=%s, MASTER_LOG_POS=%d, MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=no",
		sqlbuild.QuoteString(host), port, sqlbuild.QuoteString(user), sqlbuild.QuoteString(password), sqlbuild.QuoteString(file), pos)
}
func (f mariaDB) StartReplicaSQL() string      { return "START SLAVE" }
func (f mariaDB) StopReplicaSQL() string       { return "STOP SLAVE" }
func (f mariaDB) ResetReplicaAllSQL() string   { return "RESET SLAVE ALL" }
func (f mariaDB) LogReplicaUpdatesVar() string { return "log_slave_updates" }
func (f mariaDB) RowValueOptionsVar() string   { return "" }

// DefaultTimeZone returns the time zone a session of the server starts in (its global time_zone), in
// which a native ALTER converts TIMESTAMPs to and from other types; "" when it is UTC at every time of
// the year, as doppel's own sessions are. 'SYSTEM' is returned as it is: CONVERT_TZ takes it.
func DefaultTimeZone(ctx context.Context, db *sql.DB) (string, error) {
	var zone string
	var utc bool
	err := db.QueryRowContext(ctx, `SELECT @@global.time_zone,
		COALESCE(CONVERT_TZ('2021-01-15 12:00:00', @@global.time_zone, '+00:00') = '2021-01-15 12:00:00'
		     AND CONVERT_TZ('2021-07-15 12:00:00', @@global.time_zone, '+00:00') = '2021-07-15 12:00:00', FALSE)`).Scan(&zone, &utc)
	if err != nil {
		return "", fmt.Errorf("reading the server's time zone: %w", err)
	}
	if utc {
		return "", nil
	}
	return zone, nil
}
