package verify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// keysPerQuery is how many keys one comparison query takes.
const keysPerQuery = 500

// Prepare readies orig, the session Keys will read the original through, when Keys needs temporary
// tables there (to compare a column after the server's own conversion): before it takes LOCK TABLES,
// under which it could not read the ghost's definition.
func Prepare(ctx context.Context, cfg Config, orig *sql.Conn) error {
	v, err := newVerifier(cfg)
	if err != nil || v.orig.stager == nil {
		return err
	}
	return v.orig.stager.prepare(ctx, orig)
}

// Keys compares the rows of the given keys (values of the original's key) in both tables: the
// rows the replay wrote or deleted after the consistent point Run compared the tables at. orig reads
// the original and ghost the ghost; both must see the tables at one point at which the ghost holds
// every change of the original: the same snapshot, or, at the cut-over, the session that holds the
// original locked and any other (nothing writes to the ghost once every change is applied). orig
// must have been prepared (Prepare). It returns a *MismatchError naming the keys whose rows differ.
func Keys(ctx context.Context, cfg Config, orig *sql.Conn, ghost dbconn.Querier, keys [][]any) error {
	v, err := newVerifier(cfg)
	if err != nil {
		return err
	}

	start := time.Now()
	var differ [][]any
	for len(keys) > 0 {
		n := min(keysPerQuery, len(keys))
		bad, err := v.differing(ctx, orig, ghost, keys[:n])
		if err != nil {
			return err
		}
		differ = append(differ, bad...)
		keys = keys[n:]
	}
	if len(differ) > 0 {
		return &MismatchError{Table: v.orig.name, Key: cfg.Key.Names(), Keys: differ}
	}
	v.cfg.Logger.Debug("the rows replayed since the checksum match", zap.Duration("took", time.Since(start)))
	return nil
}

// differing returns the keys among keys whose rows differ, narrowing a differing set down by halves.
func (v *verifier) differing(ctx context.Context, orig *sql.Conn, ghost dbconn.Querier, keys [][]any) ([][]any, error) {
	o, err := v.orig.keysChecksum(ctx, orig, keys)
	if err != nil {
		return nil, err
	}
	g, err := v.ghost.keysChecksum(ctx, ghost, keys)
	if err != nil {
		return nil, err
	}
	switch {
	case o == g:
		return nil, nil
	case len(keys) == 1:
		return keys, nil
	}
	half := len(keys) / 2
	a, err := v.differing(ctx, orig, ghost, keys[:half])
	if err != nil {
		return nil, err
	}
	b, err := v.differing(ctx, orig, ghost, keys[half:])
	return append(a, b...), err
}

// keysChecksum counts and hashes the rows of the given keys.
func (s side) keysChecksum(ctx context.Context, q dbconn.Querier, keys [][]any) (sum, error) {
	where, args := s.keysWhere(keys)
	if s.stager != nil {
		conn, ok := q.(*sql.Conn)
		if !ok {
			return sum{}, fmt.Errorf("verify: converting rows needs a session of its own")
		}
		return s.stager.checksum(ctx, conn, s.name, s.index, where, args)
	}
	query := fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s WHERE %s", s.hash, s.name, where)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return sum{}, fmt.Errorf("checksumming replayed rows of %s: %w", s.name, err)
	}
	defer rows.Close()
	var out sum
	if rows.Next() {
		if err := rows.Scan(&out.rows, &out.hash); err != nil {
			return sum{}, fmt.Errorf("checksumming replayed rows of %s: %w", s.name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return sum{}, fmt.Errorf("checksumming replayed rows of %s: %w", s.name, err)
	}
	return out, nil
}

// keysWhere is the condition selecting the rows of keys: key IN (…).
func (s side) keysWhere(keys [][]any) (string, []any) {
	cols := make([]string, len(s.key))
	binds := make([]string, len(s.key))
	for i, k := range s.key {
		cols[i], binds[i] = sqlbuild.QuoteIdent(k.Name), k.Bind
	}
	tuple, list := binds[0], cols[0]
	if len(s.key) > 1 {
		tuple, list = "("+strings.Join(binds, ", ")+")", "("+strings.Join(cols, ", ")+")"
	}
	tuples := make([]string, len(keys))
	args := make([]any, 0, len(keys)*len(s.key))
	for i, k := range keys {
		tuples[i] = tuple
		args = append(args, k...)
	}
	return fmt.Sprintf("%s IN (%s)", list, strings.Join(tuples, ", ")), args
}

// RunKeys compares, at a new consistent point, the rows of the keys take returns: take is called at
// that point, once the ghost holds every change of the original, and must return the keys of the
// rows the replay changed since the previous point (and forget them).
func RunKeys(ctx context.Context, cfg Config, take func() [][]any) error {
	v, err := newVerifier(cfg)
	if err != nil {
		return err
	}
	var keys [][]any
	snap, err := v.openSnapshot(ctx, 1, func() { keys = take() })
	if err != nil {
		return err
	}
	defer snap.close()
	v.cfg.Logger.Info("comparing the rows replayed since the checksum", zap.Int("rows", len(keys)), zap.Duration("table_held", snap.held))
	return Keys(ctx, cfg, snap.conns[0], snap.conns[0], keys)
}
