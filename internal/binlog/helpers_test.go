package binlog

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// streams counts the test streams, so that each registers with its own replica server id: the
// server ends an older stream that registers with the same id.
var streams atomic.Uint32

// testDB creates a database for the test and returns its name and a pool on it.
func testDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	return sb.NewDB(t)
}

func mustExec(t *testing.T, db *sql.DB, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// currentPosition is the primary's binlog position now: the end of the last transaction written.
func currentPosition(t *testing.T, db *sql.DB) Position {
	t.Helper()
	st, err := dbconn.ReadBinlogStatus(context.Background(), db, sb.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	return Position{File: st.File, Pos: uint32(st.Pos)}
}

// newTestReader returns a Reader of the sandbox primary watching database's tables, and every
// message it logs (at Debug, go-mysql's included), which also go to the test's log.
func newTestReader(t *testing.T, database string, tables ...string) (*Reader, *observer.ObservedLogs) {
	t.Helper()
	c := sb.Primary.Config()
	core, logs := observer.New(zap.DebugLevel)
	r, err := NewReader(Config{
		Flavor:   sb.Flavor.Name(),
		ServerID: 1000 + streams.Add(1),
		Host:     c.Host,
		Port:     c.Port,
		User:     c.User,
		Password: c.Password,
		Database: database,
		Tables:   tables,
		Logger:   zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core())),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, logs
}

// run is one Run of a Reader in its own goroutine.
type run struct {
	out      chan Txn
	cancel   context.CancelFunc
	done     chan error
	returned bool
	err      error
}

// start runs r from the given position until the test ends. Unless the test collected Run's
// error with wait or stop, Run must end with the context's cancellation.
func start(t *testing.T, r *Reader, from Position) *run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rn := &run{out: make(chan Txn), cancel: cancel, done: make(chan error, 1)}
	go func() { rn.done <- r.Run(ctx, from, rn.out) }()
	t.Cleanup(func() {
		rn.cancel()
		if rn.returned {
			return
		}
		if err := rn.wait(t, 10*time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return rn
}

// wait waits up to timeout for Run to return by itself and returns its error.
func (rn *run) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	if !rn.returned {
		select {
		case rn.err = <-rn.done:
			rn.returned = true
		case <-time.After(timeout):
			rn.cancel()
			t.Fatalf("Run did not return within %s", timeout)
		}
	}
	return rn.err
}

// stop cancels Run and returns how long it took to return, and its error.
func (rn *run) stop(t *testing.T) (time.Duration, error) {
	t.Helper()
	begin := time.Now()
	rn.cancel()
	err := rn.wait(t, 10*time.Second)
	return time.Since(begin), err
}

// receive returns the next n transactions from out, failing the test after timeout.
func receive(t *testing.T, out <-chan Txn, n int, timeout time.Duration) []Txn {
	t.Helper()
	var got []Txn
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case txn := <-out:
			got = append(got, txn)
		case <-deadline:
			t.Fatalf("received %d of %d transactions within %s", len(got), n, timeout)
		}
	}
	return got
}

// expectNone fails the test if a transaction arrives within wait.
func expectNone(t *testing.T, out <-chan Txn, wait time.Duration) {
	t.Helper()
	select {
	case txn := <-out:
		t.Fatalf("unexpected transaction ending at %s: %d changes, DDL %v", txn.End, len(txn.Changes), txn.DDL)
	case <-time.After(wait):
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setGlobal sets a global server variable to value (SQL text) for the rest of the test.
func setGlobal(t *testing.T, name, value string) {
	t.Helper()
	db, err := sb.Primary.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var old string
	if err := db.QueryRow("SELECT @@GLOBAL." + name).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.ParseInt(old, 10, 64); err != nil {
		old = sqlbuild.QuoteString(old)
	}
	mustExec(t, db, "SET GLOBAL "+name+" = "+value)
	t.Cleanup(func() {
		db, err := sb.Primary.DB("")
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("SET GLOBAL " + name + " = " + old); err != nil {
			t.Errorf("restoring %s: %v", name, err)
		}
	})
}

// setCompression turns binlog compression on or off for the sessions opened after it: MariaDB's
// per-event compression (small minimum, so every rows event is compressed) or MySQL 8's
// per-transaction compression (TransactionPayloadEvent).
func setCompression(t *testing.T, on bool) {
	t.Helper()
	v := map[bool]string{true: "ON", false: "OFF"}[on]
	if sb.Flavor.Name() == "mariadb" {
		setGlobal(t, "log_bin_compress", v)
		setGlobal(t, "log_bin_compress_min_len", "10")
		return
	}
	setGlobal(t, "binlog_transaction_compression", v)
}

// dumpThreads lists the server threads that stream the binlog to readers.
func dumpThreads(db *sql.DB) ([]int64, error) {
	rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// killDumpThreads kills the server threads that stream the binlog to readers, as a network failure
// or an operator would, and returns how many it killed.
func killDumpThreads(t *testing.T) int {
	db, err := sb.Primary.DB("")
	if err != nil {
		t.Error(err)
		return 0
	}
	defer db.Close()
	ids, err := dumpThreads(db)
	if err != nil {
		t.Error(err)
		return 0
	}
	killed := 0
	for _, id := range ids {
		// The thread may have ended by itself in between.
		if _, err := db.Exec("KILL " + strconv.FormatInt(id, 10)); err == nil {
			killed++
		}
	}
	return killed
}
