package migration

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/internal/fit"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// checkFit counts the rows of the original that the altered table cannot hold (NULLs in a column
// that becomes NOT NULL, values a narrower type cannot store, rows a CHECK constraint refuses) and
// refuses the migration when there are any: the copy would stop at the first of them, after the
// ghost table exists, and no --resume could help. The count is one read of the table, on the
// inspected server, and only when the ALTER changes a column in a way that can fail. For each class
// of rows found, one of them is tried with the server's own ALTER (fit.Trial), and its error quoted.
func checkFit(ctx context.Context, cfg *Config, s *servers, p *validated, ghost *table.Table, mapping table.Mapping, key *table.Key) error {
	origChecks, err := fit.ReadChecks(ctx, s.primary, cfg.Database, cfg.Table)
	if err != nil {
		return err
	}
	ghostChecks := p.probedChecks
	if ghost != p.probed {
		if ghostChecks, err = fit.ReadChecks(ctx, s.primary, cfg.Database, ghost.Name); err != nil {
			return err
		}
	}
	flavor := fit.Flavor{RoundsFractions: s.flavor.Name() == "mysql", TimestampEnd: fit.TimestampEnd2038, TimeZone: mapping.TimeZone}
	if s.flavor.Name() == "mariadb" && s.flavor.Version().AtLeast(11, 5, 0) {
		flavor.TimestampEnd = fit.TimestampEnd2106
	}
	conds, unchecked := fit.Plan(fit.Config{Orig: p.orig, Ghost: ghost, Mapping: mapping, OrigChecks: origChecks, GhostChecks: ghostChecks, Flavor: flavor})
	var found, tryColumns []string
	for _, u := range unchecked {
		if strings.HasPrefix(u.Column, "CHECK ") {
			p.warnings = append(p.warnings, fmt.Sprintf("%s: %s", quoteColumn(u.Column), u.Why))
			continue
		}
		tryColumns = append(tryColumns, u.Column)
	}
	if len(tryColumns) > 0 {
		// No exact condition: the server converts every value, as the copy will.
		cfg.Logger.Info("trying the conversion of every value with the server (no condition is known for its type change): one read of the table per column",
			zap.Strings("columns", tryColumns))
		failures, err := fit.Convert(ctx, s.primary, fit.ConvertConfig{Orig: p.orig, Mapping: mapping, Key: key, Clause: p.alter.Clause, Columns: tryColumns})
		if err != nil {
			p.warnings = append(p.warnings, fmt.Sprintf("doppel could not try the conversion of %s before the copy (%v): a value that does not convert stops the copy", strings.Join(tryColumns, ", "), err))
		}
		for _, f := range failures {
			found = append(found, fmt.Sprintf("column %s: a value that does not convert to its new type (the server's ALTER: \"%s\")", sqlbuild.QuoteIdent(f.Column), f.Reason))
		}
	}
	var counts []int64
	if len(conds) > 0 {
		var err error
		if counts, err = fit.Count(ctx, s.inspect, p.orig, mapping, conds); err != nil {
			return err
		}
	}
	for i, c := range conds {
		if counts[i] == 0 {
			continue
		}
		others := append(append([]fit.Cond(nil), conds[:i]...), conds[i+1:]...)
		reason, accepted, _, err := fit.Trial(ctx, s.primary, p.orig, mapping, p.alter.Clause, c, others)
		switch {
		case err != nil:
			reason = "doppel could not try the ALTER on one of them: " + err.Error()
		case accepted:
			// The condition is wider than the server's rule for this value: the copy decides.
			cfg.Logger.Warn("the server's ALTER takes a row doppel counted as not fitting; going on",
				zap.String("column", c.Column), zap.String("check", c.Check), zap.Int64("rows_counted", counts[i]))
			continue
		case reason != "" && c.Column != "" && !strings.Contains(reason, "'"+c.Column+"'") && !strings.Contains(reason, "`"+c.Column+"`"):
			// The server stops at the first value it cannot convert.
			reason = "each also holds a value another column cannot take; the server's ALTER on one of them: \"" + reason + "\""
		case reason != "":
			reason = "the server's ALTER on one of them: \"" + reason + "\""
		default:
			reason = "they were changed since they were counted"
		}
		what := "column " + sqlbuild.QuoteIdent(c.Column)
		if c.Column == "" {
			what = "CHECK constraint " + sqlbuild.QuoteIdent(c.Check)
		}
		found = append(found, fmt.Sprintf("%s: %d %s with %s (%s)", what, counts[i], plural(counts[i], "row", "rows"), c.What, reason))
	}
	if len(found) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s holds rows that the altered table cannot hold: %s. A native ALTER TABLE fails on them the same way; doppel would stop at the first of them after creating the ghost table. Fix those rows (or change the ALTER) and run doppel again; nothing was created",
		sqlbuild.QualifiedName(cfg.Database, cfg.Table), strings.Join(found, "; "))
	if !isStrict(p.ddlMode) {
		msg += fmt.Sprintf(". Under the server's sql_mode (%s), which is not strict, a native ALTER would not fail but change these values with a warning (a NULL into the type's default, a value cut or clipped to the nearest it can hold); doppel never changes a value silently", p.ddlMode)
	}
	return refuse("%s", msg)
}

func quoteColumn(name string) string {
	if rest, ok := strings.CutPrefix(name, "CHECK "); ok {
		return "CHECK constraint " + sqlbuild.QuoteIdent(rest)
	}
	return "column " + sqlbuild.QuoteIdent(name)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
