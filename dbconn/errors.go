package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL error numbers doppel acts on.
const (
	ErrLockWaitTimeout   = 1205
	ErrDeadlock          = 1213
	ErrTableExists       = 1050
	ErrNoSuchTable       = 1146
	ErrDupEntry          = 1062
	ErrQueryInterrupted  = 1317
	ErrReadOnly          = 1290
	ErrLockDeadlockRetry = 1614 // transaction branch rolled back: deadlock
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
	case ErrLockWaitTimeout, ErrDeadlock, ErrLockDeadlockRetry:
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn)
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
