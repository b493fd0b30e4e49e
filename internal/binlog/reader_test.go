package binlog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap/zaptest"
)

func validConfig() Config {
	return Config{Flavor: "mariadb", ServerID: 99, Host: "127.0.0.1", Port: 3306, User: "u", Database: "db", Tables: []string{"t"}}
}

func TestNewReaderChecksConfig(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"flavor", func(c *Config) { c.Flavor = "percona" }, `flavor "percona"`},
		{"server id 0", func(c *Config) { c.ServerID = 0 }, "server id must not be 0"},
		{"host", func(c *Config) { c.Host = "" }, "host is empty"},
		{"port", func(c *Config) { c.Port = 70000 }, "port 70000"},
		{"database", func(c *Config) { c.Database = "" }, "database is empty"},
		{"no table", func(c *Config) { c.Tables = nil }, "no table to watch"},
		{"empty table name", func(c *Config) { c.Tables = []string{"t", ""} }, "a table name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			if _, err := NewReader(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewReader: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	r, err := NewReader(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Position().IsZero() {
		t.Errorf("Position before Run = %s, want zero", r.Position())
	}
}

func TestRunNeedsAStartFile(t *testing.T) {
	r, err := NewReader(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), Position{Pos: 4}, make(chan Txn)); err == nil {
		t.Fatal("Run from a position without file: no error")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"binlog purged or bad position", &mysql.MyError{Code: mysql.ER_MASTER_FATAL_ERROR_READING_BINLOG, Message: "Could not find first log file name in binary log index file"}, true},
		{"access denied", &mysql.MyError{Code: mysql.ER_ACCESS_DENIED_ERROR}, true},
		{"no REPLICATION SLAVE privilege", fmt.Errorf("starting: %w", &mysql.MyError{Code: mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR}), true},
		{"server shutting down", &mysql.MyError{Code: 1053}, false},
		{"connection killed", &mysql.MyError{Code: 1927}, false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"sync closed", replication.ErrSyncClosed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var perm permanentError
			if got := errors.As(classify(tt.err), &perm); got != tt.permanent {
				t.Errorf("permanent = %v, want %v", got, tt.permanent)
			}
		})
	}
}

// An event go-mysql cannot decode stops the stream, and go-mysql's message, which quotes the
// event's bytes, stays out of the error.
func TestClassifyEventErrorWithholdsEventBytes(t *testing.T) {
	secret := "card 4111-1111"
	payloadErr := &replication.EventError{
		Header: &replication.EventHeader{EventType: replication.TRANSACTION_PAYLOAD_EVENT, LogPos: 900},
		Err:    fmt.Sprintf("Header {}, Data %q, Err: bad", secret),
		Data:   []byte(secret),
	}
	err := classifyEventError(fmt.Errorf("wrapped: %w", payloadErr), "binlog.000003")
	var perm permanentError
	if !errors.As(err, &perm) {
		t.Errorf("%v is not permanent", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q quotes the event", err)
	}
	if want := "TransactionPayloadEvent event ending at binlog.000003:900"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}

	// decodeRows writes the message of a rows event itself, without row data: it is kept.
	rowsErr := &replication.EventError{
		Header: &replication.EventHeader{EventType: replication.WRITE_ROWS_EVENTv2, LogPos: 500},
		Err:    "decoding the rows of `db`.`t`: unsupport type 99 in binlog and don't know how to handle",
		Data:   []byte(secret),
	}
	err = classifyEventError(rowsErr, "binlog.000003")
	if !strings.Contains(err.Error(), "unsupport type 99") || strings.Contains(err.Error(), secret) {
		t.Errorf("error %q", err)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func unreachableReader(t *testing.T) *Reader {
	t.Helper()
	c := validConfig()
	c.Port = closedPort(t)
	c.Logger = zaptest.NewLogger(t)
	r, err := NewReader(c)
	if err != nil {
		t.Fatal(err)
	}
	r.backoffMin, r.backoffMax = 20*time.Millisecond, 100*time.Millisecond
	return r
}

func TestRunGivesUpOnAServerThatStaysDown(t *testing.T) {
	r := unreachableReader(t)
	r.giveUpAfter = time.Second
	begin := time.Now()
	err := r.Run(context.Background(), at("binlog.000001", 4), make(chan Txn))
	if err == nil || !strings.Contains(err.Error(), "giving up") || !strings.Contains(err.Error(), "binlog.000001:4") {
		t.Fatalf("Run: %v, want it to give up and name the resume position", err)
	}
	if d := time.Since(begin); d < time.Second || d > 5*time.Second {
		t.Errorf("gave up after %s, want about 1 s", d)
	}
}

func TestRunCancelWhileReconnecting(t *testing.T) {
	r := unreachableReader(t)
	rn := start(t, r, at("binlog.000001", 4))
	time.Sleep(300 * time.Millisecond)
	took, err := rn.stop(t)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	if took > time.Second {
		t.Errorf("Run returned %s after cancel", took)
	}
}

func TestRunOnce(t *testing.T) {
	r := unreachableReader(t)
	rn := start(t, r, at("binlog.000001", 4))
	time.Sleep(50 * time.Millisecond)
	if err := r.Run(context.Background(), at("binlog.000001", 4), make(chan Txn)); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run: %v", err)
	}
	if _, err := rn.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("first Run: %v", err)
	}
}
