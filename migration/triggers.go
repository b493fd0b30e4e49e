package migration

import (
	"context"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// checkTriggers refuses a table with triggers.
func checkTriggers(ctx context.Context, cfg *Config, s *servers) error {
	triggers, err := table.Triggers(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the triggers of %s: %w", cfg.Table, err)
	}
	if len(triggers) > 0 {
		return refuse("%s has triggers (%s). Row-based replay cannot tell the trigger's writes from the application's, and the triggers would not follow the swap; drop them first and recreate them after", sqlbuild.QualifiedName(cfg.Database, cfg.Table), strings.Join(triggers, ", "))
	}
	return nil
}

// triggerHandovers are the handovers of the original's triggers (none yet).
func (r *run) triggerHandovers() []handover { return nil }
