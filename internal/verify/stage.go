package verify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// stager checksums the original's rows after the server's own conversion, for a table with a
// column whose type change no SQL expression is known to reproduce exactly (convert). It reads the
// rows in the session's snapshot, puts them into a temporary table of the original's column types,
// copies them from there into a temporary table of the ghost's column types with the copier's own
// expressions (the server converts each value as the copy and the replay did), and hashes that table
// the way it hashes the ghost.
//
// The round trip through doppel is needed because the server cannot do it alone at a consistent
// point: an INSERT … SELECT reads its source with locking reads, which see the latest rows, not the
// snapshot's.
type stager struct {
	stage, conv             string // qualified names of the two temporary tables
	createStage, createConv string
	readCols                []*table.Column // the copied columns of the original
	read                    []string        // how each is read: table.ReadExpr
	stageCols, stageBinds   []string
	fill                    string // conv ← stage, with the copier's expressions
	hash                    string // the ghost's row hash, over conv
	key                     []sqlbuild.KeyCol
}

// stageRows is how many rows are read and staged at a time: the round trip holds them in memory.
const stageRows = 200

func newStager(cfg *Config, ghostHash string) *stager {
	s := &stager{
		stage: sqlbuild.QualifiedName(cfg.Orig.Schema, "_doppel_verify_stage"),
		conv:  sqlbuild.QualifiedName(cfg.Orig.Schema, "_doppel_verify_conv"),
		hash:  ghostHash,
	}
	var convCols, exprs []string
	for _, p := range cfg.Mapping.Copied {
		s.readCols = append(s.readCols, p.Orig)
		s.read = append(s.read, table.ReadExpr(p.Orig))
		s.stageCols = append(s.stageCols, p.Orig.Name)
		s.stageBinds = append(s.stageBinds, table.BindExpr(p.Orig, p.Orig))
		convCols = append(convCols, p.Ghost.Name)
		exprs = append(exprs, cfg.Mapping.Expr(p))
	}
	s.key = cfg.Key.OrigCols()
	var keyNames []string
	for _, p := range cfg.Key.Columns {
		keyNames = append(keyNames, p.Ghost.Name)
	}
	s.createStage = sqlbuild.CreateTemporaryLike(s.stage, cfg.Key.Names(), sqlbuild.QualifiedName(cfg.Orig.Schema, cfg.Orig.Name), s.stageCols)
	s.createConv = sqlbuild.CreateTemporaryLike(s.conv, keyNames, sqlbuild.QualifiedName(cfg.Ghost.Schema, cfg.Ghost.Name), convCols)
	s.fill = fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", s.conv, sqlbuild.QuoteIdents(convCols), strings.Join(exprs, ", "), s.stage)
	return s
}

// prepare creates the temporary tables in conn's session. It must run before the session starts a
// read-only transaction, which may not create tables, and before it takes LOCK TABLES (it reads the
// definitions of both tables).
func (s *stager) prepare(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{s.createStage, s.createConv} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating the checksum's conversion tables: %w", err)
		}
	}
	return nil
}

// checksum counts and hashes, after conversion, the original's rows that where (with its args)
// selects, reading along index.
func (s *stager) checksum(ctx context.Context, conn *sql.Conn, from, index, where string, args []any) (sum, error) {
	defer func() {
		for _, t := range []string{s.stage, s.conv} {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DELETE FROM "+t)
		}
	}()
	var after []any
	for {
		cond, condArgs := where, args
		if after != nil {
			a := sqlbuild.After(s.key, false)
			cond, condArgs = "("+where+") AND ("+a.SQL+")", append(append([]any{}, args...), a.Bind(after)...)
		}
		q := fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) WHERE %s ORDER BY %s LIMIT %d",
			strings.Join(s.read, ", "), from, sqlbuild.QuoteIdent(index), cond, keyOrder(s.key), stageRows)
		rows, last, err := s.readRows(ctx, conn, q, condArgs)
		if err != nil {
			return sum{}, err
		}
		if len(rows) > 0 {
			if err := s.put(ctx, conn, rows); err != nil {
				return sum{}, err
			}
		}
		if len(rows) < stageRows {
			break
		}
		after = last
	}
	var out sum
	q := fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s", s.hash, s.conv)
	if err := conn.QueryRowContext(ctx, q).Scan(&out.rows, &out.hash); err != nil {
		return sum{}, fmt.Errorf("checksumming converted rows: %w", err)
	}
	return out, nil
}

func keyOrder(key []sqlbuild.KeyCol) string {
	names := make([]string, len(key))
	for i, k := range key {
		names[i] = k.Name
	}
	return sqlbuild.QuoteIdents(names)
}

// readRows reads rows as bind values, and the key of the last one.
func (s *stager) readRows(ctx context.Context, conn *sql.Conn, q string, args []any) (out [][]any, last []any, err error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("reading rows to convert: %w", err)
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(s.readCols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("reading rows to convert: %w", err)
		}
		row := make([]any, len(raw))
		for i, c := range s.readCols {
			if row[i], err = table.ValueFromText(c, raw[i]); err != nil {
				return nil, nil, err
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading rows to convert: %w", err)
	}
	if len(out) > 0 {
		lastRow := out[len(out)-1]
		for _, k := range s.key {
			for i, c := range s.readCols {
				if strings.EqualFold(c.Name, k.Name) {
					last = append(last, lastRow[i])
				}
			}
		}
	}
	return out, last, nil
}

// put stages rows and converts them into conv.
func (s *stager) put(ctx context.Context, conn *sql.Conn, rows [][]any) error {
	args := make([]any, 0, len(rows)*len(s.stageCols))
	for _, r := range rows {
		args = append(args, r...)
	}
	insert := func() error {
		_, err := conn.ExecContext(ctx, sqlbuild.InsertValues(s.stage, s.stageCols, s.stageBinds, len(rows)), args...)
		return err
	}
	var err error
	if table.HasEnumErrorValue(s.readCols, rows) {
		err = dbconn.WithSQLMode(ctx, conn, dbconn.LenientSQLMode, insert)
	} else {
		err = insert()
	}
	if err != nil {
		return fmt.Errorf("staging rows to convert: %w", err)
	}
	if _, err := conn.ExecContext(ctx, s.fill); err != nil {
		return fmt.Errorf("converting staged rows: %w", err)
	}
	_, err = conn.ExecContext(ctx, "DELETE FROM "+s.stage)
	return err
}
