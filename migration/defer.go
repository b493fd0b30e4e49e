package migration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// deferral is the ghost's plain secondary indexes, dropped for the copy and added back after it.
// Maintaining every index for every copied row is most of a copy's cost; building an index once,
// over the finished table, is far cheaper. Unique keys stay: they decide which rows the copy and
// the replay keep.
type deferral struct {
	names  []string
	adds   []string // the ADD INDEX clause of each
	create string   // SHOW CREATE TABLE of the complete ghost: what must come back
}

// deferIndexes drops the ghost's plain secondary indexes before the copy, when doing so and adding
// them back gives exactly the same table. That is checked on the empty ghost, where it costs
// nothing: indexes are dropped, added back, and the table definitions compared. An index doppel
// cannot rebuild exactly (an attribute it does not know) keeps the ghost as it was.
func (r *run) deferIndexes(ctx context.Context) error {
	if !r.cfg.DeferSecondaryIndexes {
		return nil
	}
	// Indexes are added back in the order the server keeps them, so the table comes back the same.
	order, err := table.IndexOrder(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return err
	}
	fkCols, err := r.ghostForeignKeyColumns(ctx)
	if err != nil {
		return err
	}
	var names, adds, drops []string
	for _, name := range order {
		ix := r.ghost.Index(name)
		if ix == nil || servesForeignKey(ix, fkCols) || ix.Unique || ix.Expression || !strings.EqualFold(ix.Kind, "BTREE") || len(ix.Columns) == 0 {
			continue
		}
		parts := make([]sqlbuild.IndexPart, len(ix.Columns))
		for j, c := range ix.Columns {
			parts[j] = sqlbuild.IndexPart{Column: c.Name, SubPart: c.SubPart, Desc: c.Desc}
		}
		names = append(names, ix.Name)
		adds = append(adds, sqlbuild.AddIndex(ix.Name, parts, ix.Comment))
		drops = append(drops, "DROP INDEX "+sqlbuild.QuoteIdent(ix.Name))
	}
	if len(names) == 0 {
		return nil
	}
	ghost := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	d := &deferral{names: names, adds: adds}
	if d.create, err = r.showCreateGhost(ctx); err != nil {
		return err
	}
	drop := "ALTER TABLE " + ghost + " " + strings.Join(drops, ", ")
	for _, q := range []string{drop, "ALTER TABLE " + ghost + " " + strings.Join(d.adds, ", ")} {
		if _, err := r.s.primary.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("trying to defer the ghost table's indexes: %w", err)
		}
	}
	again, err := r.showCreateGhost(ctx)
	if err != nil {
		return err
	}
	if again != d.create {
		r.log().Info("copying with every index: doppel cannot rebuild them exactly",
			zap.Strings("indexes", names))
		return r.recreateGhost(ctx)
	}
	if _, err := r.s.primary.ExecContext(ctx, drop); err != nil {
		return fmt.Errorf("dropping the ghost table's indexes for the copy: %w", err)
	}
	r.deferred = d
	r.log().Info("secondary indexes deferred: built once after the copy", zap.Strings("indexes", names))
	return nil
}

// addDeferredIndexes builds the deferred indexes in one online ALTER (the replay goes on meanwhile)
// and checks the ghost is the table it was meant to be.
func (r *run) addDeferredIndexes(ctx context.Context) error {
	d := r.deferred
	start := time.Now()
	// A resumed run may find some of them built already.
	present, err := table.IndexOrder(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost)
	if err != nil {
		return err
	}
	var missing, adds []string
	for i, name := range d.names {
		if !slices.Contains(present, name) {
			missing, adds = append(missing, name), append(adds, d.adds[i])
		}
	}
	r.log().Info("adding the deferred indexes", zap.Strings("indexes", missing))
	ghost := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	if len(adds) > 0 {
		if _, err := r.s.primary.ExecContext(ctx, "ALTER TABLE "+ghost+" "+strings.Join(adds, ", ")+", ALGORITHM=INPLACE, LOCK=NONE"); err != nil {
			return fmt.Errorf("adding the deferred indexes to the ghost table (if the server ran out of its online ALTER log, raise innodb_online_alter_log_max_size or run with --defer-secondary-indexes=false): %w", err)
		}
	}
	got, err := r.showCreateGhost(ctx)
	if err != nil {
		return err
	}
	if got != d.create {
		return fmt.Errorf("after adding the deferred indexes the ghost table is not the table the ALTER makes: doppel stops before the swap")
	}
	r.log().Info("deferred indexes added", zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// showCreateGhost returns the ghost's definition without its AUTO_INCREMENT counter, which the
// rows copied move on.
func (r *run) showCreateGhost(ctx context.Context) (string, error) {
	var name, create string
	err := r.s.primary.QueryRowContext(ctx, "SHOW CREATE TABLE "+sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)).Scan(&name, &create)
	if err != nil {
		return "", fmt.Errorf("reading the ghost table's definition: %w", err)
	}
	var kept []string
	for _, opt := range strings.Fields(create) {
		if !strings.HasPrefix(opt, "AUTO_INCREMENT=") {
			kept = append(kept, opt)
		}
	}
	return strings.Join(kept, " "), nil
}

// recreateGhost builds the ghost table again from the original and the ALTER.
func (r *run) recreateGhost(ctx context.Context) error {
	ghost := sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost)
	if _, err := r.s.primary.ExecContext(ctx, "DROP TABLE "+ghost); err != nil {
		return fmt.Errorf("dropping the ghost table to create it again: %w", err)
	}
	return r.createGhost(ctx)
}

// createGhost creates the ghost table: a copy of the original's definition, altered under the
// server's sql_mode (as the probe was, sqlmode.go), with the original's AUTO_INCREMENT counter, then
// read back.
func (r *run) createGhost(ctx context.Context) error {
	db, schema := r.s.primary, r.cfg.Database
	ghost := sqlbuild.QualifiedName(schema, r.p.names.ghost)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := execUnderMode(ctx, conn, r.p.ddlMode, "CREATE TABLE "+ghost+" LIKE "+sqlbuild.QualifiedName(schema, r.cfg.Table)); err != nil {
		return fmt.Errorf("creating the ghost table %s: %w", ghost, err)
	}
	if clause := r.p.alter.GhostClause(); clause != "" {
		if err := execUnderMode(ctx, conn, r.p.ddlMode, "ALTER TABLE "+ghost+" "+clause); err != nil {
			return refuse("the ALTER fails on the ghost table: %v.%s Nothing else was changed; fix --alter", err, zeroDateHint(r.p.ddlMode, err))
		}
	}
	if err := r.addGhostForeignKeys(ctx, conn); err != nil {
		return err
	}
	if err := r.carryAutoIncrement(ctx, ghost); err != nil {
		return err
	}
	r.ghost, err = table.Inspect(ctx, db, schema, r.p.names.ghost)
	return err
}
