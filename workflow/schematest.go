package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Test runs every pending migration up, down and up again in target, an empty database on a
// throwaway server (its pool's default database), after giving it the current schema of
// Config.Database: the CREATE TABLE of every table but the history table. It fails when a script
// fails, or when a down does not give back the schema exactly as SHOW CREATE TABLE shows it (the
// AUTO_INCREMENT counter aside), or the second up does not give the schema the first did. Every
// statement runs natively there: the tables hold no rows, so there is nothing to copy or backfill.
// It returns what it checked, one line per script.
func (w *Workflow) Test(ctx context.Context, target *sql.DB) ([]string, error) {
	st, err := w.Status(ctx)
	if err != nil {
		return nil, err
	}
	if p := problems(st); len(p) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrRefused, strings.Join(p, "; "))
	}
	var jobs []job
	for i := range st {
		if s := &st[i]; s.State == StatePending || (s.State == StateFailed && s.applied == nil) {
			jobs = append(jobs, job{m: s.m})
		}
	}
	if err := w.copySchema(ctx, target); err != nil {
		return nil, err
	}
	var out []string
	var failures []string
	for _, j := range jobs {
		m := j.m
		before, err := schemaOf(ctx, target)
		if err != nil {
			return out, err
		}
		if err := w.runNatively(ctx, target, m.Up); err != nil {
			return out, fmt.Errorf("migrate test: %w", err)
		}
		if m.Down == nil {
			out = append(out, fmt.Sprintf("%s %s: up ran; no down script, so its revert is not tested", m.Version, m.Up.Name))
			continue
		}
		after, err := schemaOf(ctx, target)
		if err != nil {
			return out, err
		}
		if err := w.runNatively(ctx, target, m.Down); err != nil {
			return out, fmt.Errorf("migrate test: %w", err)
		}
		reverted, err := schemaOf(ctx, target)
		if err != nil {
			return out, err
		}
		if d := schemaDiff(before, reverted); d != "" {
			failures = append(failures, fmt.Sprintf("%s does not restore the schema %s found:\n%s", m.Down.Name, m.Up.Name, d))
			out = append(out, fmt.Sprintf("%s %s: FAILED: the down does not restore the schema", m.Version, m.Down.Name))
			break // what follows would start from a schema no deployment has
		}
		if err := w.runNatively(ctx, target, m.Up); err != nil {
			return out, fmt.Errorf("migrate test: after its down: %w", err)
		}
		again, err := schemaOf(ctx, target)
		if err != nil {
			return out, err
		}
		if d := schemaDiff(after, again); d != "" {
			failures = append(failures, fmt.Sprintf("%s run again after %s does not give the schema it gave the first time:\n%s", m.Up.Name, m.Down.Name, d))
			out = append(out, fmt.Sprintf("%s %s: FAILED: up, down, up differs from up", m.Version, m.Up.Name))
			break
		}
		out = append(out, fmt.Sprintf("%s %s: up, down, up: the down restores the schema exactly", m.Version, m.Up.Name))
	}
	if len(failures) > 0 {
		return out, errors.New("migrate test: " + strings.Join(failures, "\n"))
	}
	return out, nil
}

// copySchema creates every table of Config.Database (but the history table) in target.
func (w *Workflow) copySchema(ctx context.Context, target *sql.DB) error {
	src, err := schemaOf(ctx, w.cfg.DB)
	if err != nil {
		return err
	}
	hist := strings.ToLower(w.cfg.HistoryTable)
	conn, err := target.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the test server: %w", err)
	}
	defer conn.Close()
	// Tables are created in name order: a foreign key may name a table created after it.
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return fmt.Errorf("copying the schema to the test server: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(src)) {
		if strings.ToLower(name) == hist {
			continue
		}
		if _, err := conn.ExecContext(ctx, src[name]); err != nil {
			return fmt.Errorf("creating %s on the test server: %w", sqlbuild.QuoteIdent(name), err)
		}
	}
	return nil
}

// runNatively runs every statement of f in target, natively.
func (w *Workflow) runNatively(ctx context.Context, target *sql.DB, f *File) error {
	stmts, err := Split(f.Name, f.Text, w.srv)
	if err != nil {
		return err
	}
	conn, err := target.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the test server: %w", err)
	}
	defer conn.Close()
	for i, s := range stmts {
		if err := w.native(ctx, conn, s.SQL); err != nil {
			return fmt.Errorf("%s statement %d (line %d) fails: %w", f.Name, i+1, s.Line, err)
		}
	}
	return nil
}

// schemaOf reads SHOW CREATE TABLE of every base table of db's default database, the AUTO_INCREMENT
// table option left out: a down cannot turn the counter back, and it is data, not schema.
func schemaOf(ctx context.Context, db *sql.DB) (map[string]string, error) {
	names, err := tableNamesOf(ctx, db)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		var name, create string
		if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE "+sqlbuild.QuoteIdent(n)).Scan(&name, &create); err != nil {
			return nil, fmt.Errorf("reading SHOW CREATE TABLE %s: %w", sqlbuild.QuoteIdent(n), err)
		}
		out[n] = withoutAutoIncrement(create)
	}
	return out, nil
}

func tableNamesOf(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'")
	if err != nil {
		return nil, fmt.Errorf("listing the tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("listing the tables: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the tables: %w", err)
	}
	return names, nil
}

// withoutAutoIncrement drops the " AUTO_INCREMENT=N" table option, which the server writes on the
// last line of SHOW CREATE TABLE, among the table options (column definitions say AUTO_INCREMENT
// without "=").
func withoutAutoIncrement(create string) string {
	i := strings.LastIndexByte(create, '\n')
	if i < 0 {
		return create
	}
	words := strings.Split(create[i+1:], " ")
	words = slices.DeleteFunc(words, func(w string) bool { return strings.HasPrefix(w, "AUTO_INCREMENT=") })
	return create[:i+1] + strings.Join(words, " ")
}

// schemaDiff says how b differs from a, table by table, line by line; "" when they are equal.
func schemaDiff(a, b map[string]string) string {
	var out []string
	names := slices.Sorted(maps.Keys(a))
	for _, n := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	for _, n := range names {
		x, inA := a[n]
		y, inB := b[n]
		switch {
		case !inB:
			out = append(out, fmt.Sprintf("  table %s is gone", sqlbuild.QuoteIdent(n)))
		case !inA:
			out = append(out, fmt.Sprintf("  table %s is left over", sqlbuild.QuoteIdent(n)))
		case x != y:
			out = append(out, fmt.Sprintf("  table %s differs:", sqlbuild.QuoteIdent(n)))
			xl, yl := strings.Split(x, "\n"), strings.Split(y, "\n")
			changed := len(out)
			for _, l := range xl {
				if !slices.Contains(yl, l) {
					out = append(out, "    - "+strings.TrimSpace(l))
				}
			}
			for _, l := range yl {
				if !slices.Contains(xl, l) {
					out = append(out, "    + "+strings.TrimSpace(l))
				}
			}
			if len(out) == changed {
				// The same lines in another order: a column re-added at the end instead of where it was.
				for i := range min(len(xl), len(yl)) {
					if xl[i] != yl[i] {
						out = append(out, fmt.Sprintf("    line %d was %s, is %s (another order: say AFTER or FIRST where the down re-adds a column)", i+1, strings.TrimSpace(xl[i]), strings.TrimSpace(yl[i])))
					}
				}
			}
		}
	}
	return strings.Join(out, "\n")
}
