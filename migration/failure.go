package migration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// dataErrors are the server errors that a row's own values cause when they are written to the
// ghost table: a value that does not fit the new column, NULL into NOT NULL, a CHECK constraint, a
// duplicate under a new unique key. The same rows (or, in the replay, the same binlog events) meet
// the same new definition again on every attempt, so neither a retry nor a --resume gets past them.
var dataErrors = map[uint16]string{
	1048: "NULL into a NOT NULL column",
	1062: "a duplicate under a unique key",
	1263: "NULL into a NOT NULL column",
	1264: "a value out of the column's range",
	1265: "a value truncated to fit the column",
	1292: "a value that is not valid for the column's type",
	1364: "no value for a NOT NULL column without a default",
	1366: "a value that is not valid for the column's type",
	1367: "a value that is not valid for the column's type",
	1406: "a value too long for the column",
	1690: "a value out of range",
	3819: "a CHECK constraint violated",
	4025: "a CHECK constraint violated",
}

// dataError returns the server's error number and what it means when err is a data error, or 0.
func dataError(err error) (uint16, string) {
	n := dbconn.ErrorNumber(err)
	if what, ok := dataErrors[n]; ok {
		return n, what
	}
	return 0, ""
}

// unsureError is a failure after which doppel cannot say that the original table is as it was:
// the cut-over's outcome is unknown, or another session changed the table meanwhile.
type unsureError struct{ error }

func (e *unsureError) Unwrap() error { return e.error }

// Untouched reports whether, after err, the original table is known to be as doppel found it: no
// swap happened (or may have happened), and nobody changed its definition during the run. doppel
// itself never writes to it before the swap, and the throttle query cannot (it is a SELECT run in
// a read-only transaction).
func Untouched(err error) bool {
	var u *unsureError
	return err != nil && !Swapped(err) && !errors.As(err, &u) && !errors.Is(err, errTableChanged)
}

// failed decides, after execute failed, what to keep, and says it in the error: the swap that did
// happen, a run to continue with --resume, or a data error that a resume would meet again, after
// which doppel drops what it created and says what to fix.
func (r *run) failed(ctx context.Context, err error) error {
	ctx = context.WithoutCancel(ctx)
	if !r.swapped.Load() && r.state.get() >= StateCuttingOver {
		// A RENAME can succeed on the server while doppel sees an error (the connection dropped
		// as it answered): look at the tables rather than trust the error.
		swapped, checkErr := r.swappedOnServer(ctx)
		if checkErr != nil {
			return &unsureError{fmt.Errorf("%w. doppel cannot tell whether the tables were swapped (%w): if %s still exists, nothing was swapped and it can be dropped along with %s; otherwise %s is the migrated table and %s the original",
				err, checkErr, r.qualified(r.p.names.ghost), r.qualified(r.p.changelog), r.qualified(r.cfg.Table), r.qualified(r.p.old))}
		}
		r.swapped.Store(swapped)
	}
	if r.swapped.Load() {
		r.finish(ctx, &Result{})
		return &swappedError{err}
	}
	if r.cfg.Revert && !IsRefusal(err) {
		return r.revertFailed(err)
	}
	if errors.Is(err, table.ErrCollision) || errors.Is(err, dbconn.ErrWarned) {
		// The same rows meet the same unique key, or raise the same warning, on a --resume.
		dropped := "doppel dropped the tables it created"
		if left := r.dropCreated(); len(left) > 0 {
			dropped = "doppel could not drop " + strings.Join(left, " and ") + ", which it created: drop them by hand"
		}
		return fmt.Errorf("%w. A --resume would meet the same rows again; %s", err, dropped)
	}
	if num, what := dataError(err); num != 0 {
		dropped := "so doppel dropped the tables it created"
		if left := r.dropCreated(); len(left) > 0 {
			dropped = "but doppel could not drop " + strings.Join(left, " and ") + ", which it created: drop them by hand"
		}
		return fmt.Errorf("%w. The server refused a row's value (error %d: %s). A --resume would meet the same row and fail the same way, %s. "+
			"Fix the rows of %s that do not fit the new definition (or change the ALTER), then run doppel again", err, num, what, dropped, r.qualified(r.cfg.Table))
	}
	if r.resumable(err) {
		return fmt.Errorf("%w. %s and %s are kept with the progress made: run the same command with --resume to continue, or drop them (or add --initially-drop-ghost-table) to start over",
			err, r.qualified(r.p.names.ghost), r.qualified(r.p.changelog))
	}
	if left := r.dropCreated(); len(left) > 0 {
		return fmt.Errorf("%w. doppel could not drop %s, which it created: drop them by hand", err, strings.Join(left, " and "))
	}
	return err
}

// swappedOnServer reports whether the ghost table has taken the original's place: the ghost is
// gone and the old name, or the name the original has during the swap, holds a table that is not
// the cut-over's sentry.
func (r *run) swappedOnServer(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sentry := cutover.SentryName(r.cfg.Table)
	found := map[string]string{} // name → comment, of the tables that exist
	for _, name := range []string{r.p.names.ghost, r.p.old, sentry} {
		comment, err := table.Comment(ctx, r.s.primary, r.cfg.Database, name)
		switch {
		case errors.Is(err, table.ErrNotFound):
		case err != nil:
			return false, err
		default:
			found[name] = comment
		}
	}
	_, ghost := found[r.p.names.ghost]
	comment, old := found[r.p.old]
	during, moved := found[sentry]
	switch {
	case ghost:
		return false, nil
	case old && comment != cutover.SentryComment, moved && during != cutover.SentryComment:
		return true, nil
	}
	return false, fmt.Errorf("neither %s nor a moved original table %s exists", r.p.names.ghost, r.p.old)
}

func (r *run) qualified(name string) string { return sqlbuild.QualifiedName(r.cfg.Database, name) }
