package fit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// source is the original table as the conditions read it: a derived table holding every column of
// the original, the copied ones under their names in the ghost (so a CHECK constraint, written with
// the ghost's names, reads the original's values) and the others under names of their own.
type source struct {
	from    string
	columns []string // the original's stored (not generated) columns
	aliases []string // their names in from
}

func newSource(orig *table.Table, m table.Mapping) source {
	var s source
	var fields []string
	for i := range orig.Columns {
		c := &orig.Columns[i]
		alias := fmt.Sprintf("_doppel_fit_%d", i+1)
		if p := m.ByOrig(c.Name); p != nil {
			alias = p.Ghost.Name
		}
		fields = append(fields, sqlbuild.QuoteIdent(c.Name)+" AS "+sqlbuild.QuoteIdent(alias))
		if !c.Generated {
			s.columns, s.aliases = append(s.columns, c.Name), append(s.aliases, alias)
		}
	}
	s.from = fmt.Sprintf("(SELECT %s FROM %s) AS `_doppel_fit`", strings.Join(fields, ", "), sqlbuild.QualifiedName(orig.Schema, orig.Name))
	return s
}

// countSQL is the one read of the table that counts the rows meeting each condition.
func countSQL(orig *table.Table, m table.Mapping, conds []Cond) string {
	sums := make([]string, len(conds))
	for i, c := range conds {
		sums[i] = fmt.Sprintf("COUNT(CASE WHEN %s THEN 1 END)", c.SQL)
	}
	return "SELECT " + strings.Join(sums, ", ") + " FROM " + newSource(orig, m).from
}

// Count returns how many rows of the original meet each condition, reading the table once, with a
// plain consistent read (no locks). db must be a doppel session (time zone +00:00, for TIMESTAMP).
func Count(ctx context.Context, db *sql.DB, orig *table.Table, m table.Mapping, conds []Cond) ([]int64, error) {
	if len(conds) == 0 {
		return nil, nil
	}
	counts := make([]int64, len(conds))
	dest := make([]any, len(conds))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := db.QueryRowContext(ctx, countSQL(orig, m, conds)).Scan(dest...); err != nil {
		return nil, fmt.Errorf("counting the rows of %s the altered table cannot hold: %w", orig.Name, err)
	}
	return counts, nil
}

// trialName is the temporary table a trial runs the ALTER on.
const trialName = "_doppel_trial"

// Trial asks the server for its own reason: it copies one row of the original that meets cond into
// a temporary copy of the table, in a session of its own, runs the ALTER clause there natively and
// returns the server's error, the temporary table's name replaced by the original's and the row's
// value, which some messages quote, left out (doppel never prints row values). The reason is
// empty, with accepted true, when the ALTER takes that row: the condition was wider than the
// server's rules for it. found is false when no row meets cond any more.
//
// The row is read with a consistent read (READ COMMITTED: an INSERT … SELECT takes no locks on
// the original then), and the temporary table is private to the session and not written to a ROW
// binlog. The session is doppel's (its strict sql_mode): the copy would fail the same way. The
// session is closed afterwards, not returned to the pool.
//
// The row is one that meets none of others, when there is one: the server stops at the first value
// it cannot convert, and the reason asked for is cond's.
func Trial(ctx context.Context, db *sql.DB, orig *table.Table, m table.Mapping, clause string, cond Cond, others []Cond) (reason string, accepted, found bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", false, false, err
	}
	defer conn.Close()
	defer func() { _ = conn.Raw(func(any) error { return driver.ErrBadConn }) }()
	tmp := sqlbuild.QualifiedName(orig.Schema, trialName)
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE "+tmp+" LIKE "+sqlbuild.QualifiedName(orig.Schema, orig.Name)); err != nil {
		return "", false, false, fmt.Errorf("creating a temporary copy of %s: %w", orig.Name, err)
	}
	// The row is copied as it is: under a strict mode the conversions cond evaluates would make their
	// warnings errors. NO_AUTO_VALUE_ON_ZERO keeps a 0 in an AUTO_INCREMENT column.
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'"); err != nil {
		return "", false, false, err
	}
	src := newSource(orig, m)
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return "", false, false, err
	}
	order := ""
	if len(others) > 0 {
		sqls := make([]string, len(others))
		for i, o := range others {
			sqls[i] = "(" + o.SQL + ")"
		}
		order = " ORDER BY (" + strings.Join(sqls, " OR ") + ") IS TRUE"
	}
	res, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s%s LIMIT 1",
		tmp, sqlbuild.QuoteIdents(src.columns), sqlbuild.QuoteIdents(src.aliases), src.from, cond.SQL, order))
	if err != nil {
		_ = tx.Rollback()
		return "", false, false, fmt.Errorf("copying a row of %s into a temporary table: %w", orig.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", false, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return "", false, false, err
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = ?", dbconn.SQLMode); err != nil {
		return "", false, true, err
	}
	err = alterTemporary(ctx, conn, orig, tmp, clause)
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return "", true, true, nil
	case errors.As(err, &me):
		return withoutValue(strings.ReplaceAll(me.Message, trialName, orig.Name)), false, true, nil
	}
	return "", false, true, fmt.Errorf("trying the ALTER on a temporary copy of %s: %w", orig.Name, err)
}

// withoutValue takes the value out of a server message such as "Incorrect datetime value:
// '2040-01-01' for column …" or "Truncated incorrect INTEGER value: '0.5'".
func withoutValue(msg string) string {
	const open = "value: '"
	i := strings.Index(msg, open)
	if i < 0 {
		return msg
	}
	j := strings.LastIndex(msg, "' for column")
	if j < i+len(open) {
		if !strings.HasSuffix(msg, "'") || len(msg) < i+len(open)+1 {
			return msg
		}
		j = len(msg) - 1
	}
	return msg[:i+len(open)] + "…" + msg[j:]
}
