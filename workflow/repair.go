package workflow

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// Repair makes the history agree with the directory, explicitly: a failed run's row is removed (its
// migration is pending again, or applied again for a failed down: undo by hand what its first
// statements did), and an applied file's new checksum is recorded (an edit that changes nothing
// that ran, such as a comment). It returns what it did, or without Config.Execute what it would do.
func (w *Workflow) Repair(ctx context.Context) ([]string, error) {
	if w.cfg.Execute {
		if err := w.hist.create(ctx); err != nil {
			return nil, err
		}
		l, err := takeLock(ctx, w.cfg.DB, w.cfg.Database, w.cfg.DeployLockWait, func(s string) { w.say("doppel migrate: %s", s) })
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := l.release(); err != nil {
				w.cfg.Logger.Warn("releasing the migrations lock", zap.Error(err))
			}
		}()
	}
	st, err := w.Status(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, s := range st {
		var what, query string
		var args []any
		switch s.State {
		case StateFailed:
			what = fmt.Sprintf("%s: remove the failed %s run of %s (stopped at statement %d)", s.Version, s.last.Direction, s.last.Script, s.last.StoppedAt)
			query, args = "DELETE FROM "+w.hist.name+" WHERE installed_rank = ?", []any{s.last.Rank}
		case StateChanged:
			what = fmt.Sprintf("%s: record the new checksum of %s (%s…)", s.Version, s.m.Up.Name, s.m.Up.Checksum[:12])
			query, args = "UPDATE "+w.hist.name+" SET checksum = ? WHERE installed_rank = ?", []any{s.m.Up.Checksum, s.applied.Rank}
		default:
			continue
		}
		if w.cfg.Execute {
			if _, err := w.cfg.DB.ExecContext(ctx, query, args...); err != nil {
				return done, fmt.Errorf("repairing the history table %s: %w", w.hist.name, err)
			}
		}
		done = append(done, what)
	}
	return done, nil
}
