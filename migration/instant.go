package migration

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/table"
)

// writePreflight prints the pre-flight report (package plan) after the migration plan: what the
// server could do natively, the risks, the figures and the deployment order. Data loss is what the
// user asked for by giving the ALTER to doppel, so it makes the verdict "needs care", not "refused".
func writePreflight(ctx context.Context, cfg *Config, s *servers, a *alter.Alter) {
	report, err := preflight(ctx, cfg, s, a, plan.Options{AllowDataLoss: true})
	if err != nil {
		cfg.Logger.Warn("no pre-flight report", zap.Error(err))
		return
	}
	fmt.Fprintln(cfg.Out)
	if err := report.WriteText(cfg.Out); err != nil {
		cfg.Logger.Warn("writing the pre-flight report", zap.Error(err))
	}
	fmt.Fprintln(cfg.Out)
}

// attemptInstant runs the ALTER natively with ALGORITHM=INSTANT when the pre-flight rules say the
// server can (--attempt-instant-ddl). Naming the algorithm makes the server refuse rather than copy
// should a rule be wrong; then, or on any error, the migration goes on the usual way.
func attemptInstant(ctx context.Context, cfg *Config, s *servers, a *alter.Alter) (*Result, bool) {
	start := time.Now()
	report, err := preflight(ctx, cfg, s, a, plan.Options{AllowDataLoss: true, SkipDataChecks: true, SampleChunks: -1})
	if err != nil || !report.Instant() || report.Verdict == plan.VerdictRefused {
		cfg.Logger.Info("the ALTER cannot run instantly on this server; copying instead", zap.Error(err))
		return nil, false
	}
	stmt := "ALTER TABLE " + sqlbuild.QualifiedName(cfg.Database, cfg.Table) + " " + a.Clause + ", ALGORITHM=INSTANT"
	if _, err := s.primary.ExecContext(ctx, stmt); err != nil {
		cfg.Logger.Warn("the server refused the instant ALTER; copying instead", zap.Error(err))
		return nil, false
	}
	cfg.Logger.Info("altered natively with ALGORITHM=INSTANT", zap.Duration("took", time.Since(start)))
	return &Result{Instant: true, Duration: time.Since(start)}, true
}

// preflight builds the pre-flight report for the ALTER as validation read it. The table is read
// again here, where only the ALTER is at hand; validation's reading (validated.orig) is the same.
func preflight(ctx context.Context, cfg *Config, s *servers, a *alter.Alter, opts plan.Options) (*plan.Report, error) {
	t, err := table.Inspect(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return nil, err
	}
	return plan.Build(ctx, s.inspect, s.flavor, t, a, opts)
}
