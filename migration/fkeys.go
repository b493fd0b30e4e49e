package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/copier"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/fkeys"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// errTableNotLocked is ER_TABLE_NOT_LOCKED: a statement under LOCK TABLES touched a table the
// session did not lock.
const errTableNotLocked = 1100

// maxChildren bounds the foreign keys of other tables re-pointed under the cut-over's lock: each
// takes two in-place ALTERs (a few milliseconds) while the original and every child are locked.
const maxChildren = 16

// checkForeignKeys refuses the foreign keys doppel cannot move (how they move: docs/how-it-works.md).
func checkForeignKeys(ctx context.Context, cfg *Config, s *servers) error {
	declared, referencing, err := fkeys.Read(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the foreign keys of %s: %w", cfg.Table, err)
	}
	tbl := sqlbuild.QualifiedName(cfg.Database, cfg.Table)
	if err := checkStranded(ctx, cfg, s); err != nil {
		return err
	}
	if cfg.SkipForeignKeyChecks && len(declared)+len(referencing) > 0 {
		return refuse("--skip-foreign-key-checks says %s takes part in no foreign key, but it does (%s). doppel moves foreign keys with the table: run without --skip-foreign-key-checks", tbl, fkList(append(declared, referencing...)))
	}
	for _, f := range append(declared, referencing...) {
		if f.SelfReferencing() {
			return refuse("%s references itself (foreign key %s): the copy would have to insert every parent row before its children, and the ghost's constraint would have to reference the ghost. doppel refuses; use a native ALTER", tbl, f)
		}
		if err := f.Check(); err != nil {
			return refuse("%v: doppel refuses; use a native ALTER", err)
		}
	}
	if !cfg.DiscardForeignKeys {
		for _, f := range declared {
			if _, err := fkeys.GhostName(f.Name); err != nil {
				return refuse("%v. Rename the constraint, or give --discard-foreign-keys to leave the table's foreign keys out of the new table", err)
			}
		}
	}
	if len(referencing) > maxChildren {
		return refuse("%d foreign keys of other tables reference %s (%s); doppel re-points each under the cut-over's lock and refuses more than %d, which would keep the table and its children locked too long", len(referencing), tbl, fkList(referencing), maxChildren)
	}
	return nil
}

// checkForeignKeyColumns refuses an ALTER that breaks a foreign key doppel would carry: a column
// of the table's own keys dropped (unless --discard-foreign-keys), a column other tables reference
// dropped, renamed, or given another type or collation (the server would refuse the re-pointed
// constraint at the cut-over).
func checkForeignKeyColumns(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	declared, referencing, err := fkeys.Read(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the foreign keys of %s: %w", cfg.Table, err)
	}
	if !cfg.DiscardForeignKeys {
		for _, f := range declared {
			for _, c := range f.Columns {
				if p.isGone(c) {
					return refuse("the ALTER drops column %s, which foreign key %s uses: drop the foreign key first (natively), or give --discard-foreign-keys to leave the table's foreign keys out of the new table", sqlbuild.QuoteIdent(c), f)
				}
			}
		}
	}
	for _, f := range referencing {
		for _, c := range f.RefColumns {
			if p.isGone(c) || p.renamed(c) != c {
				return refuse("the ALTER drops or renames column %s, which foreign key %s references: doppel cannot point that constraint at the new table. Change the foreign key first", sqlbuild.QuoteIdent(c), f)
			}
			if p.probed == nil || p.orig == nil {
				continue
			}
			o, g := p.orig.Column(c), p.probed.Column(c)
			if o != nil && g != nil && (o.ColumnType != g.ColumnType || o.Collation != g.Collation) {
				return refuse("the ALTER changes column %s (%s to %s), which foreign key %s references; the server refuses a foreign key between columns of different types. Change the foreign key first", sqlbuild.QuoteIdent(c), o.ColumnType, g.ColumnType, f)
			}
		}
	}
	return nil
}

// checkStranded refuses while other tables' foreign keys reference the ghost: a run died between
// re-pointing them and the swap (milliseconds under the cut-over's lock), and they must be pointed
// back at the original by hand, after checking the child rows written since.
func checkStranded(ctx context.Context, cfg *Config, s *servers) error {
	ghost := namesFor(cfg.Table).ghost
	_, stranded, err := fkeys.Read(ctx, s.inspect, cfg.Database, ghost)
	if err != nil || len(stranded) == 0 {
		return err
	}
	var stmts []string
	for _, f := range stranded {
		stmts = append(stmts, f.Repoint(cfg.Table)...)
	}
	return refuse("foreign keys of other tables (%s) reference %s, the ghost table of a run that died during its cut-over, instead of %s. Child rows written since were checked against the ghost: look for rows whose parent %s lacks, then point the constraints back: SET foreign_key_checks=0; %s; SET foreign_key_checks=1",
		fkList(stranded), sqlbuild.QualifiedName(cfg.Database, ghost), sqlbuild.QualifiedName(cfg.Database, cfg.Table), sqlbuild.QualifiedName(cfg.Database, cfg.Table), strings.Join(stmts, "; "))
}

func fkList(fs []fkeys.FK) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, "; ")
}

// addGhostForeignKeys gives the ghost the original's own foreign keys (unless
// --discard-foreign-keys), under fkeys.GhostName's names, with the columns the ALTER renamed
// renamed, so a parent's cascading delete or update reaches the ghost's rows as it reaches the
// original's: cascades are not in the binary log. The ghost is empty: the server checks nothing.
func (r *run) addGhostForeignKeys(ctx context.Context, conn *sql.Conn) error {
	if r.cfg.DiscardForeignKeys {
		return nil
	}
	declared, _, err := fkeys.Read(ctx, conn, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the foreign keys of %s: %w", r.cfg.Table, err)
	}
	for _, f := range declared {
		for _, c := range f.Columns {
			if r.p.isGone(c) {
				return refuse("the ALTER drops column %s, which foreign key %s uses: drop the foreign key first (natively), or give --discard-foreign-keys", sqlbuild.QuoteIdent(c), f)
			}
		}
		name, err := fkeys.GhostName(f.Name)
		if err != nil {
			return refuse("%v", err)
		}
		if _, err := conn.ExecContext(ctx, f.AddTo(r.cfg.Database, r.p.names.ghost, name, r.p.renamed)); err != nil {
			return refuse("the ghost table cannot carry foreign key %s as %s: %v. Nothing else was changed", f, sqlbuild.QuoteIdent(name), err)
		}
	}
	return nil
}

func (p *validated) isGone(col string) bool {
	for _, g := range p.gone {
		if strings.EqualFold(g, col) {
			return true
		}
	}
	return false
}

func (p *validated) renamed(col string) string {
	for from, to := range p.renames {
		if strings.EqualFold(from, col) {
			return to
		}
	}
	return col
}

// children reads the foreign keys of other tables that reference the original, for the cut-over:
// they are re-pointed at the ghost under its lock (repointChildren), and their tables locked with
// the original. parents are the tables the original and the ghost reference, locked READ
// (cutover.Config.LockRead). Each referenced column must be in the ghost, unrenamed, with the same type and
// collation, and lead one of its indexes.
func (r *run) children(ctx context.Context) (fs []fkeys.FK, locks, parents []string, err error) {
	var declared, ghostDeclared []fkeys.FK
	declared, fs, err = fkeys.Read(ctx, r.s.primary, r.cfg.Database, r.cfg.Table)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the foreign keys that reference %s: %w", r.cfg.Table, err)
	}
	if ghostDeclared, _, err = fkeys.Read(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost); err != nil {
		return nil, nil, nil, err
	}
	for _, f := range append(declared, ghostDeclared...) {
		if t := sqlbuild.QualifiedName(f.RefSchema, f.RefTable); !slices.Contains(parents, t) {
			parents = append(parents, t)
		}
	}
	// In a group, the constraints of the other tables swapped with this one, and of their ghosts,
	// are the group's to move (group.go): the RENAME carries them.
	fs = slices.DeleteFunc(fs, func(f fkeys.FK) bool { return r.group != nil && r.group.swapped(f.Schema, f.Table) })
	for _, f := range fs {
		if err := r.checkReferenced(ctx, f); err != nil {
			return nil, nil, nil, err
		}
		if t := sqlbuild.QualifiedName(f.Schema, f.Table); !slices.Contains(locks, t) {
			locks = append(locks, t)
		}
	}
	// A table both a parent and a child of the original (a cycle) is locked once, WRITE.
	var read []string
	for _, t := range parents {
		if !slices.Contains(locks, t) {
			read = append(read, t)
		}
	}
	return fs, locks, read, nil
}

// checkReferenced refuses a child's constraint the ghost cannot take: its referenced columns
// changed or dropped by the ALTER, or no longer leading an index.
func (r *run) checkReferenced(ctx context.Context, f fkeys.FK) error {
	for _, c := range f.RefColumns {
		if r.p.isGone(c) || r.p.renamed(c) != c {
			return fmt.Errorf("the ALTER drops or renames column %s, which foreign key %s references: %w", sqlbuild.QuoteIdent(c), f, cutover.ErrAbort)
		}
		var same int
		err := r.s.primary.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.COLUMNS o JOIN information_schema.COLUMNS g
			ON g.TABLE_SCHEMA = o.TABLE_SCHEMA AND g.TABLE_NAME = ? AND g.COLUMN_NAME = o.COLUMN_NAME
			AND g.COLUMN_TYPE = o.COLUMN_TYPE AND g.COLLATION_NAME <=> o.COLLATION_NAME
			WHERE o.TABLE_SCHEMA = ? AND o.TABLE_NAME = ? AND o.COLUMN_NAME = ?`, r.p.names.ghost, r.cfg.Database, r.cfg.Table, c).Scan(&same)
		if err != nil {
			return err
		}
		if same == 0 {
			return fmt.Errorf("the ALTER changes the type or collation of column %s, which foreign key %s references; the server would refuse the constraint on the new table: %w", sqlbuild.QuoteIdent(c), f, cutover.ErrAbort)
		}
	}
	var leading int
	err := r.s.primary.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT INDEX_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SEQ_IN_INDEX <= ? AND FIND_IN_SET(COLUMN_NAME, ?) = SEQ_IN_INDEX
		GROUP BY INDEX_NAME HAVING COUNT(*) = ?) i`, r.cfg.Database, r.p.names.ghost, len(f.RefColumns), strings.Join(f.RefColumns, ","), len(f.RefColumns)).Scan(&leading)
	if err != nil {
		return err
	}
	if leading == 0 {
		return fmt.Errorf("no index of the altered table starts with the columns foreign key %s references: %w", f, cutover.ErrAbort)
	}
	return nil
}

// repointChildren is the cut-over's PrepareLocked: in the session that holds the original and the
// children locked, each child's constraint is dropped and added again referencing the ghost, with
// foreign_key_checks=0 (in place, no rows checked: the ghost holds what the original holds; the
// session's checks are back on before it returns). The RENAME then carries them to the new table.
func (r *run) repointChildren(fs []fkeys.FK) func(ctx context.Context, locker *sql.Conn) error {
	return func(ctx context.Context, locker *sql.Conn) error {
		_, now, err := fkeys.Read(ctx, locker, r.cfg.Database, r.cfg.Table)
		if err != nil {
			return err
		}
		if fkList(now) != fkList(fs) {
			return fmt.Errorf("the foreign keys that reference %s changed during the migration (now: %s); run doppel again: %w", r.cfg.Table, fkList(now), cutover.ErrAbort)
		}
		return withoutFKChecks(ctx, locker, func() error {
			for _, f := range fs {
				for _, stmt := range f.Repoint(r.p.names.ghost) {
					if _, err := locker.ExecContext(ctx, stmt); err != nil {
						if dbconn.ErrorNumber(err) == errTableNotLocked {
							// A server that takes the new parent's metadata lock for the ALTER (MySQL 8,
							// by its documentation; MariaDB 10.11 does not) would need the ghost locked
							// too, which the catch-up under the lock writes: no attempt can succeed.
							return fmt.Errorf("this server does not let the cut-over's locking session re-point foreign key %s at the unlocked ghost table (%w); doppel cannot move the foreign keys that reference %s here: %w", f, err, r.cfg.Table, cutover.ErrAbort)
						}
						return fmt.Errorf("re-pointing foreign key %s at the ghost table: %w", f, err)
					}
				}
			}
			return nil
		})
	}
}

// pointChildrenBack is the cut-over's UndoLocked: whatever repointChildren did, each child's
// constraint references the original again. A constraint still on the original is left alone.
func (r *run) pointChildrenBack(fs []fkeys.FK) func(ctx context.Context, locker *sql.Conn) error {
	return func(ctx context.Context, locker *sql.Conn) error {
		return withoutFKChecks(ctx, locker, func() error {
			var errs []error
			for _, f := range fs {
				var ref sql.NullString
				err := locker.QueryRowContext(ctx, `SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
					WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?`, f.Schema, f.Table, f.Name).Scan(&ref)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					errs = append(errs, err)
					continue
				}
				if ref.Valid && ref.String == f.RefTable {
					continue
				}
				stmts := f.Repoint(f.RefTable)
				if !ref.Valid {
					stmts = stmts[1:] // dropped, not added again
				}
				for _, stmt := range stmts {
					if _, err := locker.ExecContext(ctx, stmt); err != nil {
						errs = append(errs, fmt.Errorf("pointing foreign key %s back at %s: %w", f, r.cfg.Table, err))
						break
					}
				}
			}
			if err := errors.Join(errs...); err != nil {
				r.log().Error("foreign keys of other tables may still reference the ghost table; point them back at the original by hand", zap.Error(err))
				return fmt.Errorf("%w: %w", err, cutover.ErrAbort)
			}
			return nil
		})
	}
}

func withoutFKChecks(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return err
	}
	err := fn()
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION foreign_key_checks = 1"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// foreignKeyHandovers: after the swap the old table's own foreign keys are dropped, so a parent's
// RESTRICT is not held up by rows the new table no longer has (and cascades stop reaching it).
func (r *run) foreignKeyHandovers() []handover {
	noop := func(context.Context) error { return nil }
	return []handover{{name: "foreign keys", prepare: noop, undo: noop, swapped: r.dropOldForeignKeys}}
}

func (r *run) dropOldForeignKeys(ctx context.Context) error {
	old := r.cutover.Old
	if old == "" {
		return nil
	}
	declared, _, err := fkeys.Read(ctx, r.s.primary, r.cfg.Database, old)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range declared {
		if _, err := r.s.primary.ExecContext(ctx, f.Drop(r.cfg.Database, old)); err != nil {
			errs = append(errs, fmt.Errorf("dropping foreign key %s of the old table: %w", f, err))
		}
	}
	return errors.Join(errs...)
}

// ghostForeignKeyColumns are the column lists of the ghost's foreign keys: an index they lead
// serves a constraint, and the server refuses to drop it (it is not deferred).
func (r *run) ghostForeignKeyColumns(ctx context.Context) ([][]string, error) {
	declared, _, err := fkeys.Read(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return nil, err
	}
	cols := make([][]string, len(declared))
	for i, f := range declared {
		cols[i] = f.Columns
	}
	return cols, nil
}

// servesForeignKey reports whether the index starts with the columns of one of fkCols.
func servesForeignKey(ix *table.Index, fkCols [][]string) bool {
	for _, cols := range fkCols {
		if len(ix.Columns) < len(cols) {
			continue
		}
		lead := true
		for i, c := range cols {
			lead = lead && strings.EqualFold(ix.Columns[i].Name, c)
		}
		if lead {
			return true
		}
	}
	return false
}

// copyParents are the parents of the ghost's foreign keys, for the copier, which locks the parent
// rows of a chunk before copying it (copier.Config.Parents); the columns are the original's.
func (r *run) copyParents(ctx context.Context) ([]copier.Parent, error) {
	declared, _, err := fkeys.Read(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return nil, fmt.Errorf("reading the ghost table's foreign keys: %w", err)
	}
	back := map[string]string{}
	for from, to := range r.p.renames {
		back[strings.ToLower(to)] = from
	}
	var out []copier.Parent
	for _, f := range declared {
		p := copier.Parent{Table: sqlbuild.QualifiedName(f.RefSchema, f.RefTable), RefColumns: f.RefColumns}
		for _, c := range f.Columns {
			if from, ok := back[strings.ToLower(c)]; ok {
				c = from
			}
			p.Columns = append(p.Columns, c)
		}
		out = append(out, p)
	}
	return out, nil
}
