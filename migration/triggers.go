package migration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/internal/triggers"
	"github.com/doppel-sql/doppel/table"
)

// The original's triggers move to the new table as internal/triggers describes: none on the ghost
// while it is copied and replayed into, twins under temporary names created under the cut-over's
// lock, the names restored after the swap.

// checkTriggers refuses a table with triggers without --include-triggers; with it, reads them on
// the primary and names their twins (p.triggers).
func checkTriggers(ctx context.Context, cfg *Config, s *servers, p *validated) error {
	names, err := table.Triggers(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the triggers of %s: %w", cfg.Table, err)
	}
	if len(names) == 0 {
		return nil
	}
	qt := sqlbuild.QualifiedName(cfg.Database, cfg.Table)
	if !cfg.IncludeTriggers {
		return refuse("%s has triggers (%s). Pass --include-triggers to move them to the new table: they fire on the original until the swap and on the new table after it, under their own names and definitions. Without it doppel refuses: they would stay with the old table", qt, strings.Join(names, ", "))
	}
	ts, err := triggers.Read(ctx, s.primary, cfg.Database, cfg.Table)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if strings.HasSuffix(t.Name, cfg.TriggerSuffix) && !cfg.RemoveTriggerSuffixIfExists {
			return refuse("trigger %s of %s ends with the --trigger-suffix %q. It may be the temporary name of a trigger an earlier doppel run moved and could not name back after its swap (the trigger works; only its name is temporary): then recreate it under its own name (SHOW CREATE TRIGGER shows it; in one session: LOCK TABLES %s WRITE, CREATE TRIGGER under the name, DROP TRIGGER %s, UNLOCK TABLES). If the name is meant, pass another --trigger-suffix, or --remove-trigger-suffix-if-exists",
				sqlbuild.QuoteIdent(t.Name), qt, cfg.TriggerSuffix, qt, sqlbuild.QuoteIdent(t.Name))
		}
	}
	all, err := triggers.Names(ctx, s.primary, cfg.Database)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for name, on := range all {
		// The ghost's own triggers are leftovers of a run stopped under the cut-over's lock: they
		// are dropped before anything is written to it.
		if on != cfg.Table && on != p.names.ghost {
			taken[name] = true
		}
	}
	moves, err := triggers.Plan(ts, cfg.TriggerSuffix, cfg.RemoveTriggerSuffixIfExists, taken)
	if err != nil {
		return refuse("%s: %v", qt, err)
	}
	v := s.flavor.Version()
	if err := triggers.Build(ctx, s.primary, triggers.FlavorOf(s.flavor.Name(), v.Major, v.Minor, v.Patch), cfg.Database, cfg.Table, p.names.ghost, moves); err != nil {
		return err
	}
	p.triggersRead, p.triggers = ts, moves
	return nil
}

// tryTriggers creates the twins on the ghost and drops them again, before anything is written to
// it: a trigger the altered table cannot carry (one naming a column the ALTER drops or renames),
// or a definer doppel may not create triggers for, stops the run now rather than at the cut-over.
// Triggers found on the ghost (a run stopped under the cut-over's lock left them) are dropped first.
func (r *run) tryTriggers(ctx context.Context) error {
	if len(r.p.triggers) == 0 {
		return nil
	}
	wait := r.cfg.CutOverLockTimeout
	left, err := triggers.DropAll(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost, wait)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		r.log().Info("dropped the triggers an earlier run left on the ghost table", zap.Strings("triggers", left))
	}
	err = triggers.CreateTwins(ctx, r.s.primary, r.p.triggers, wait)
	_, derr := triggers.DropAll(context.WithoutCancel(ctx), r.s.primary, r.cfg.Database, r.p.names.ghost, wait)
	if err != nil {
		v := r.s.flavor.Version()
		return errors.Join(fmt.Errorf("the triggers of %s cannot be created on the altered table, so they could not follow it: %w. A trigger naming a column the ALTER drops or renames fails so; change the trigger first. Creating a trigger for another definer needs %s",
			sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), err, triggers.FlavorOf(r.s.flavor.Name(), v.Major, v.Minor, v.Patch).DefinerPrivilege()), derr)
	}
	return derr
}

// triggerHandovers move the original's triggers at the cut-over.
func (r *run) triggerHandovers() []handover {
	if len(r.p.triggers) == 0 {
		return nil
	}
	return []handover{{name: "triggers", prepare: r.createTwins, undo: r.dropTwins, swapped: r.restoreTriggerNames}}
}

// createTwins runs under the lock: the original's triggers are read again (one changed since the
// check ends the migration: the twins would not be its copies) and created on the ghost.
func (r *run) createTwins(ctx context.Context) error {
	start := time.Now()
	changed, err := triggers.Changed(ctx, r.s.primary, r.cfg.Database, r.cfg.Table, r.p.triggersRead)
	if err != nil {
		return err
	}
	if changed {
		return fmt.Errorf("%w: the triggers of %s changed during the migration; run doppel again", cutover.ErrAbort, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table))
	}
	if err := triggers.CreateTwins(ctx, r.s.primary, r.p.triggers, r.cfg.CutOverLockTimeout); err != nil {
		return err
	}
	r.log().Info("created the triggers on the ghost table under the lock", zap.Int("triggers", len(r.p.triggers)), zap.Duration("took", time.Since(start)))
	return nil
}

// dropTwins is the handover's undo: the ghost has no trigger again before any held change is
// replayed into it. A twin that cannot be dropped (another session holds the ghost's metadata
// lock) ends the attempts: a replayed change would fire it. The run then stops; the ghost is kept
// for --resume, which drops the twins before it replays anything.
func (r *run) dropTwins(ctx context.Context) error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if _, err = triggers.DropAll(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost, time.Duration(attempt)*r.cfg.CutOverLockTimeout); err == nil {
			return nil
		}
	}
	// A change replayed now would fire them: the apply loop stops before it writes anything more.
	r.twinsStuck.Store(true)
	return fmt.Errorf("%w: the triggers created on the ghost table for the swap could not be dropped after the attempt failed: %w; run doppel again with --resume, which drops them before it replays anything", cutover.ErrAbort, err)
}

// errTwinsStuck stops the apply loop when the ghost keeps triggers after a failed cut-over attempt.
var errTwinsStuck = errors.New("the ghost table has triggers after a failed cut-over attempt, which a replayed change would fire: the replay stopped")

// restoreTriggerNames gives the new table's triggers their names back (triggers.Restore). Until it
// has, every write fires each trigger once, under its temporary name.
func (r *run) restoreTriggerNames(ctx context.Context) error {
	temps := make([]string, len(r.p.triggers))
	for i, m := range r.p.triggers {
		temps[i] = m.Temp
	}
	r.log().Info("restoring the triggers' names", zap.Strings("temporary", temps))
	if r.cfg.Failpoint != nil {
		r.cfg.Failpoint("triggers:restore")
	}
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var blocked time.Duration
		blocked, err = triggers.Restore(ctx, triggers.RestoreConfig{
			DB: r.s.primary, Schema: r.cfg.Database, Table: r.cfg.Table, Old: r.cutover.Old,
			Moves: r.p.triggers, LockTimeout: r.cfg.CutOverLockTimeout,
		})
		if err == nil {
			r.log().Info("trigger names restored", zap.Duration("blocked", blocked))
			return nil
		}
		if errors.Is(err, triggers.ErrBoth) {
			break
		}
		r.log().Warn("could not restore the triggers' names; trying again", zap.Int("attempt", attempt), zap.Error(err))
		time.Sleep(time.Second)
	}
	return fmt.Errorf("the new table's triggers work but keep their temporary names (%s): %w. Recreate each under its own name: SHOW CREATE TRIGGER shows it; in one session, LOCK TABLES %s WRITE, then for each the CREATE TRIGGER under its name (with its sql_mode and character set) and DROP TRIGGER of the temporary one, then UNLOCK TABLES",
		strings.Join(temps, ", "), err, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table))
}

// ownTrigger reports whether schema.name is one of the twins this run creates on the ghost, or a
// trigger created on the ghost (an earlier run's twin, named with another --trigger-suffix, which a
// resumed stream meets), for the DDL watch: their CREATE and DROP are doppel's own.
func (r *run) ownTrigger(schema, name, table string) bool {
	if schema != r.cfg.Database {
		return false
	}
	if table == r.p.names.ghost {
		return true
	}
	for _, m := range r.p.triggers {
		if strings.EqualFold(m.Temp, name) {
			return true
		}
	}
	return false
}
