package dbconn

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ReplicaStatus is the part of SHOW REPLICA STATUS doppel reads. MySQL 8 names the columns Source_*/
// Replica_*, MariaDB and older MySQL Master_*/Slave_*; both are understood.
type ReplicaStatus struct {
	SourceHost    string
	SourcePort    int
	IORunning     bool
	SQLRunning    bool
	SecondsBehind sql.NullInt64
	// ExecFile and ExecPos are the primary's binlog coordinates the SQL thread has applied up to.
	ExecFile string
	ExecPos  uint64
	// LastError is the last IO or SQL thread error, empty when none.
	LastError string
}

// ReadReplicaStatus returns the replication status of the server db points at, and false when the
// server is not a replica.
func ReadReplicaStatus(ctx context.Context, db *sql.DB, f Flavor) (ReplicaStatus, bool, error) {
	rows, err := db.QueryContext(ctx, f.ReplicaStatusQuery())
	if err != nil {
		return ReplicaStatus{}, false, fmt.Errorf("reading replica status: %w", err)
	}
	defer rows.Close()
	row, ok, err := scanOneRowMap(rows)
	if err != nil || !ok {
		return ReplicaStatus{}, false, err
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := row[strings.ToLower(n)]; ok {
				return v
			}
		}
		return ""
	}
	var st ReplicaStatus
	st.SourceHost = get("Source_Host", "Master_Host")
	st.SourcePort, _ = strconv.Atoi(get("Source_Port", "Master_Port"))
	st.IORunning = strings.EqualFold(get("Replica_IO_Running", "Slave_IO_Running"), "Yes")
	st.SQLRunning = strings.EqualFold(get("Replica_SQL_Running", "Slave_SQL_Running"), "Yes")
	st.ExecFile = get("Relay_Source_Log_File", "Relay_Master_Log_File")
	st.ExecPos, _ = strconv.ParseUint(get("Exec_Source_Log_Pos", "Exec_Master_Log_Pos"), 10, 64)
	st.LastError = strings.TrimSpace(get("Last_IO_Error") + " " + get("Last_SQL_Error"))
	if s := get("Seconds_Behind_Source", "Seconds_Behind_Master"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			st.SecondsBehind = sql.NullInt64{Int64: n, Valid: true}
		}
	}
	return st, true, nil
}

// BinlogStatus is the server's current binlog file and position.
type BinlogStatus struct {
	File string
	Pos  uint64
	// ExecutedGTID is MySQL's Executed_Gtid_Set, read with the coordinates ("" on MariaDB, whose
	// status has none: see GTIDAt).
	ExecutedGTID string
}

// ReadBinlogStatus returns the current binlog coordinates of the server, or an error when the binary
// log is off.
func ReadBinlogStatus(ctx context.Context, db *sql.DB, f Flavor) (BinlogStatus, error) {
	rows, err := db.QueryContext(ctx, f.BinlogStatusQuery())
	if err != nil {
		return BinlogStatus{}, fmt.Errorf("reading binlog position: %w", err)
	}
	defer rows.Close()
	row, ok, err := scanOneRowMap(rows)
	if err != nil {
		return BinlogStatus{}, fmt.Errorf("reading binlog position: %w", err)
	}
	if !ok {
		return BinlogStatus{}, fmt.Errorf("the server shows no binlog position: is log_bin on?")
	}
	pos, err := strconv.ParseUint(row["position"], 10, 64)
	if err != nil {
		return BinlogStatus{}, fmt.Errorf("reading binlog position %q: %w", row["position"], err)
	}
	return BinlogStatus{File: row["file"], Pos: pos, ExecutedGTID: strings.ReplaceAll(row["executed_gtid_set"], "\n", "")}, nil
}

// GTIDAt returns the GTID set executed at the coordinates st of the server db: MySQL gives it with
// them; MariaDB computes it from them (BINLOG_GTID_POS), so it is exact either way, never read a
// moment later than the coordinates. "" means the server has no GTIDs (MySQL with gtid_mode OFF).
func GTIDAt(ctx context.Context, db *sql.DB, f Flavor, st BinlogStatus) (string, error) {
	if f.Name() != "mariadb" {
		return st.ExecutedGTID, nil
	}
	var pos sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", st.File, st.Pos).Scan(&pos); err != nil {
		return "", fmt.Errorf("reading the GTID position at %s:%d: %w", st.File, st.Pos, err)
	}
	return pos.String, nil
}

// scanOneRowMap reads the first row of rows into a map of lower-cased column name to text value.
func scanOneRowMap(rows *sql.Rows) (map[string]string, bool, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, false, err
	}
	if !rows.Next() {
		return nil, false, rows.Err()
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, false, err
	}
	m := make(map[string]string, len(cols))
	for i, c := range cols {
		m[strings.ToLower(c)] = string(vals[i])
	}
	// Close before Err: the RawBytes hold the rows' read lock until then, and a cancelled
	// context's close waits for it, which would make Err wait for ever.
	_ = rows.Close()
	return m, true, rows.Err()
}

// BinlogDistance returns how many bytes of binlog lie between two positions of the server db points
// at, reading the file sizes from SHOW BINARY LOGS when they are in different files.
func BinlogDistance(ctx context.Context, db *sql.DB, fromFile string, fromPos uint64, toFile string, toPos uint64) (int64, error) {
	if fromFile == toFile {
		return int64(toPos) - int64(fromPos), nil
	}
	logs, err := binaryLogs(ctx, db)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, l := range logs {
		switch {
		case l.name == fromFile:
			total += l.size - int64(fromPos)
		case l.name > fromFile && l.name < toFile:
			total += l.size
		case l.name == toFile:
			total += int64(toPos)
		}
	}
	return total, nil
}

// BinlogFiles lists the server's binary log files, oldest first.
func BinlogFiles(ctx context.Context, db *sql.DB) ([]string, error) {
	logs, err := binaryLogs(ctx, db)
	if err != nil {
		return nil, err
	}
	files := make([]string, len(logs))
	for i, l := range logs {
		files[i] = l.name
	}
	return files, nil
}

type binaryLog struct {
	name string
	size int64
}

// binaryLogs reads SHOW BINARY LOGS. Its columns differ between versions (MySQL 8 adds Encrypted),
// so only the first two, name and size, are read.
func binaryLogs(ctx context.Context, db *sql.DB) ([]binaryLog, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("listing binary logs: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("listing binary logs: %w", err)
	}
	var logs []binaryLog
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("listing binary logs: %w", err)
		}
		size, _ := strconv.ParseInt(string(vals[1]), 10, 64)
		logs = append(logs, binaryLog{name: string(vals[0]), size: size})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing binary logs: %w", err)
	}
	return logs, nil
}

// BinlogRetention is how long the server keeps binary logs; 0 means they are never purged
// automatically. It is the one reader of the retention: the pre-flight plan reports it, a running
// migration warns when a resume would need binlogs older than half of it.
func BinlogRetention(ctx context.Context, db *sql.DB) (time.Duration, error) {
	// A variable the server does not have is simply not listed: MySQL 5.7 and MariaDB before 10.6
	// lack the seconds, MySQL 8.4 the days.
	rows, err := db.QueryContext(ctx, `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_expire_logs_seconds', 'expire_logs_days')`)
	if err != nil {
		return 0, fmt.Errorf("reading the binlog retention: %w", err)
	}
	defer rows.Close()
	var secs, days string
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return 0, fmt.Errorf("reading the binlog retention: %w", err)
		}
		if strings.EqualFold(name, "binlog_expire_logs_seconds") {
			secs = value
		} else {
			days = value
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading the binlog retention: %w", err)
	}
	return retention(secs, days), nil
}

// retention decides between the two settings: binlog_expire_logs_seconds when it is set (MySQL 8,
// MariaDB 10.6+, where the two are one setting), else expire_logs_days (a fraction on MariaDB). MySQL
// 8.0 still purges by expire_logs_days when the seconds are 0, so 0 seconds alone do not mean "never".
func retention(secs, days string) time.Duration {
	if s, err := strconv.ParseInt(secs, 10, 64); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if d, err := strconv.ParseFloat(days, 64); err == nil && d > 0 {
		return time.Duration(int64(d*86400)) * time.Second
	}
	return 0
}
