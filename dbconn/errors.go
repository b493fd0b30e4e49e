package dbconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL error numbers doppel acts on.
const (
	ErrLockWaitTimeout = 1205
	ErrDeadlock        = 1213
	ErrTableExists     = 1050
	ErrNoSuchTable     = 1146
	ErrDupEntry        = 1062
	ErrBadNull         = 1048 // a NULL for a NOT NULL column
	// ErrNoReferencedRow: a row's foreign key finds no parent row (the parent was deleted since).
	ErrNoReferencedRow   = 1452
	ErrQueryInterrupted  = 1317
	ErrReadOnly          = 1290
	ErrLockDeadlockRetry = 1614 // transaction branch rolled back: deadlock
	ErrServerShutdown    = 1053 // the server is shutting down
	ErrConnectionKilled  = 1927 // MariaDB: the connection was killed (a restart, an operator)
	// ErrAutoIncRead is how MariaDB reports a deadlock on a table's AUTO-INC lock ("Failed to read
	// auto-increment value from storage engine"): a copy chunk holds it while the replay waits.
	ErrAutoIncRead = 1467
	// ErrSubqueryRows ("Subquery returns more than 1 row") is the collision signal of a copy into
	// a ghost without a NOT NULL column (sqlbuild.Copy.TripBySubquery).
	ErrSubqueryRows = 1242
)

// ErrorNumber returns the server's error number, or 0 when err is not a server error.
func ErrorNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// IsRetryable reports whether running the same transaction again may succeed: deadlocks, lock wait
// timeouts and lost connections. Anything else (a syntax error, a value that does not fit) fails the
// same way every time and must stop the migration.
func IsRetryable(err error) bool {
	switch ErrorNumber(err) {
	case ErrLockWaitTimeout, ErrDeadlock, ErrLockDeadlockRetry, ErrServerShutdown, ErrConnectionKilled, ErrAutoIncRead:
		return true
	}
	// A lost connection, or a server that does not accept connections while it restarts.
	var netErr *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// Retry runs fn up to attempts times while it fails with a retryable error, sleeping a little longer
// each time. It returns the last error, or ctx's error when ctx ends first.
func Retry(ctx context.Context, attempts int, fn func(context.Context) error) error {
	if attempts < 1 {
		attempts = 1
	}
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(ctx); err == nil || !IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(time.Duration(i+1) * 100 * time.Millisecond):
		}
	}
	return err
}

// Querier runs a query: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ErrWarned means a statement left warnings while --panic-on-warnings asks to stop on any.
var ErrWarned = errors.New("the server warned")

// warnDeprecated is the warning a deprecated syntax raises.
const warnDeprecated = 1287

// CheckWarnings returns an error listing the warnings and notes the last statement of the session
// q runs in left (SHOW WARNINGS), or nil when there are none: with --panic-on-warnings, a value
// truncated, rounded or converted is a reason to stop, not a detail.
func CheckWarnings(ctx context.Context, q Querier) error {
	rows, err := q.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return fmt.Errorf("reading warnings: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var level, message string
		var code int
		if err := rows.Scan(&level, &code, &message); err != nil {
			return fmt.Errorf("reading warnings: %w", err)
		}
		if code == warnDeprecated {
			continue // about doppel's own SQL (VALUES() on MySQL 8.0.20+), not about the data
		}
		found = append(found, fmt.Sprintf("%s %d: %s", level, code, message))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading warnings: %w", err)
	}
	if len(found) > 0 {
		return fmt.Errorf("%w (--panic-on-warnings): %s", ErrWarned, strings.Join(found, "; "))
	}
	return nil
}
