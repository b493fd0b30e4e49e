package migration

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
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
//
// An instant ALTER still needs the table's metadata lock for a moment, and while it waits for a
// long transaction every query of the table queues behind it: each attempt waits at most twice
// --cut-over-lock-timeout-seconds (gh-ost's bound), and after instantAttempts the migration copies
// instead, which needs no such wait until its cut-over.
func attemptInstant(ctx context.Context, cfg *Config, s *servers, a *alter.Alter) (*Result, bool) {
	start := time.Now()
	report, err := preflight(ctx, cfg, s, a, plan.Options{AllowDataLoss: true, SkipDataChecks: true, SampleChunks: -1})
	if err != nil || !report.Instant() || report.Verdict == plan.VerdictRefused {
		cfg.Logger.Info("the ALTER cannot run instantly on this server; copying instead", zap.Error(err))
		return nil, false
	}
	stmt := "ALTER TABLE " + sqlbuild.QualifiedName(cfg.Database, cfg.Table) + " " + a.Clause + ", ALGORITHM=INSTANT"
	wait := 2 * cfg.CutOverLockTimeout
	for attempt := 1; ; attempt++ {
		err := instantOnce(ctx, s.primary, stmt, wait)
		if err == nil {
			break
		}
		if dbconn.ErrorNumber(err) != dbconn.ErrLockWaitTimeout || attempt == instantAttempts || ctx.Err() != nil {
			cfg.Logger.Warn("the instant ALTER did not run; copying instead", zap.Int("attempts", attempt), zap.Error(err))
			return nil, false
		}
		cfg.Logger.Warn("the instant ALTER waited too long for the table's metadata lock (a long transaction holds it); trying again",
			zap.Int("attempt", attempt), zap.Duration("waited", wait))
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(time.Second):
		}
	}
	cfg.Logger.Info("altered natively with ALGORITHM=INSTANT", zap.Duration("took", time.Since(start)))
	return &Result{Instant: true, Duration: time.Since(start)}, true
}

// instantAttempts bounds the attempts of the instant ALTER before copying instead.
const instantAttempts = 3

// instantOnce runs stmt in a session whose lock_wait_timeout is wait, so that the queries queued
// behind its metadata-lock request wait no longer than that.
func instantOnce(ctx context.Context, db *sql.DB, stmt string, wait time.Duration) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer dbconn.Discard(conn) // its lock_wait_timeout must serve nothing else
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(1, int(wait/time.Second)))); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, stmt)
	return err
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
