package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// IterationKey is the key doppel's copy would walk and its replay find rows by, chosen as a
// migration chooses it (table.ChooseKey) on the table the ALTER makes, tried on a TEMPORARY copy.
type IterationKey struct {
	// Name and Columns are the original's key; empty when none qualifies or the ALTER could not be
	// tried (Why says which).
	Name    string   `json:"name,omitempty"`
	Columns []string `json:"columns,omitempty"`
	Why     string   `json:"why"`
}

// probeName is the temporary copy the ALTER is tried on: private to the plan's session, gone with it.
const probeName = "_doppel_plan_probe"

// iterationKey tries the ALTER on an empty TEMPORARY copy of t in a session of its own and chooses
// the key on the result, counting renamed columns as carried over. It returns nil, with no error,
// when the copy cannot be made or altered (a partitioned result, missing privileges): the migration
// then decides on its ghost table.
func iterationKey(ctx context.Context, db *sql.DB, t *table.Table, a *alter.Alter, opts Options) (*IterationKey, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tmp := sqlbuild.QualifiedName(t.Schema, probeName)
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TEMPORARY TABLE IF EXISTS "+tmp) }()
	clause := a.GhostClause()
	if clause == "" {
		clause = "FORCE"
	}
	for _, q := range []string{"CREATE TEMPORARY TABLE " + tmp + " LIKE " + sqlbuild.QualifiedName(t.Schema, t.Name), "ALTER TABLE " + tmp + " " + clause} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return &IterationKey{Why: fmt.Sprintf("not known before the ghost table exists: the ALTER could not be tried on a temporary copy (%v)", err)}, nil
		}
	}
	ghost, err := table.InspectTemporary(ctx, conn, t.Schema, probeName)
	if err != nil {
		return nil, err
	}
	k, err := table.ChooseKey(t, ghost, table.MapColumns(t, ghost, a.Renames, a.Dropped...), table.KeyOptions{AllowNullable: opts.AllowNullableUniqueKey})
	var none *table.ErrNoSharedKey
	switch {
	case errors.As(err, &none):
		return &IterationKey{Why: "none: " + none.Error()}, nil
	case err != nil:
		return nil, err
	}
	return &IterationKey{Name: k.Orig.Name, Columns: k.Names(), Why: k.Why()}, nil
}
