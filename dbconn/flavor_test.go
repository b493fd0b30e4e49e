package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestFlavors pins what differs between servers; MySQL cannot run here, so this is where its
// statement names are checked.
func TestFlavors(t *testing.T) {
	for _, tc := range []struct {
		version                                         string
		name, replicaStatus, binlogStatus, start, reset string
		logReplicaUpdates                               string
		changeSourcePrefix                              string
		rowValueOptions                                 string
	}{
		{"5.7.44-log", "mysql", "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "START SLAVE", "RESET SLAVE ALL", "log_slave_updates", "CHANGE MASTER TO MASTER_HOST=", ""},
		{"8.0.2", "mysql", "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "START SLAVE", "RESET SLAVE ALL", "log_slave_updates", "CHANGE MASTER TO MASTER_HOST=", ""},
		{"8.0.21", "mysql", "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "START SLAVE", "RESET SLAVE ALL", "log_slave_updates", "CHANGE MASTER TO MASTER_HOST=", "binlog_row_value_options"},
		{"8.0.36", "mysql", "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "START REPLICA", "RESET REPLICA ALL", "log_replica_updates", "CHANGE REPLICATION SOURCE TO SOURCE_HOST=", "binlog_row_value_options"},
		{"8.4.3", "mysql", "SHOW REPLICA STATUS", "SHOW BINARY LOG STATUS", "START REPLICA", "RESET REPLICA ALL", "log_replica_updates", "CHANGE REPLICATION SOURCE TO SOURCE_HOST=", "binlog_row_value_options"},
		{"10.4.32-MariaDB", "mariadb", "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "START SLAVE", "RESET SLAVE ALL", "log_slave_updates", "CHANGE MASTER TO MASTER_HOST=", ""},
		{"10.11.6-MariaDB-0+deb12u1-log", "mariadb", "SHOW REPLICA STATUS", "SHOW BINLOG STATUS", "START SLAVE", "RESET SLAVE ALL", "log_slave_updates", "CHANGE MASTER TO MASTER_HOST=", ""},
	} {
		f, err := NewFlavor(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{f.Name(), f.ReplicaStatusQuery(), f.BinlogStatusQuery(), f.StartReplicaSQL(), f.ResetReplicaAllSQL(), f.LogReplicaUpdatesVar(), f.RowValueOptionsVar()}
		want := []string{tc.name, tc.replicaStatus, tc.binlogStatus, tc.start, tc.reset, tc.logReplicaUpdates, tc.rowValueOptions}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: got %q, want %q", tc.version, got[i], want[i])
			}
		}
		if sql := f.ChangeSourceSQL("h'x", 3306, "u", "p\\w", "binlog.000001", 4); !strings.HasPrefix(sql, tc.changeSourcePrefix+"'h\\'x'") || !strings.Contains(sql, "'p\\\\w'") {
			t.Errorf("%s: %s", tc.version, sql)
		}
	}
	if _, err := NewFlavor("garbage"); err == nil {
		t.Error("no error for an unreadable version")
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, true},
		{fmt.Errorf("copying chunk 3: %w", &mysql.MySQLError{Number: 1205}), true},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}, false},
		{&mysql.MySQLError{Number: 1406, Message: "Data too long"}, false},
		{driver.ErrBadConn, true},
		{fmt.Errorf("query: %w", mysql.ErrInvalidConn), true},
		{errors.New("something else"), false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{&mysql.MySQLError{Number: 1053, Message: "Server shutdown in progress"}, true},
	} {
		if got := IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	calls := 0
	err := Retry(context.Background(), 3, func(context.Context) error {
		calls++
		return &mysql.MySQLError{Number: 1213}
	})
	if calls != 3 || ErrorNumber(err) != 1213 {
		t.Errorf("Retry: %d calls, error %v; want 3 calls and the deadlock", calls, err)
	}
	calls = 0
	_ = Retry(context.Background(), 3, func(context.Context) error { calls++; return errors.New("fatal") })
	if calls != 1 {
		t.Errorf("Retry retried a non-retryable error %d times", calls)
	}
}
