package migration

import (
	"context"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// checkForeignKeys refuses a table that takes part in foreign keys.
func checkForeignKeys(ctx context.Context, cfg *Config, s *servers) error {
	declared, referencing, err := table.ForeignKeys(ctx, s.inspect, cfg.Database, cfg.Table)
	if err != nil {
		return fmt.Errorf("reading the foreign keys of %s: %w", cfg.Table, err)
	}
	if len(declared)+len(referencing) > 0 {
		return refuse("%s takes part in foreign keys (%s). After the swap they would point at the old table or be lost; doppel refuses. Drop the foreign keys first, or use a native ALTER", sqlbuild.QualifiedName(cfg.Database, cfg.Table), strings.Join(append(declared, referencing...), "; "))
	}
	return nil
}

// foreignKeyHandovers are the handovers of the foreign keys that reference the original (none yet).
func (r *run) foreignKeyHandovers() []handover { return nil }
