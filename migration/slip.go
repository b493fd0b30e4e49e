package migration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/binlog"
	"github.com/doppel-sql/doppel/sqlbuild"
)

// errSlipped marks a swap that completed although writes reached the old table during it.
var errSlipped = errors.New("writes reached the old table during the swap")

// slips records the changes of the original table seen between the last catch-up under the
// cut-over's lock and doppel's RENAME. There must be none: the lock holds every write back and the
// RENAME goes first. One that got through went to the old table, not to the new one.
type slips struct {
	mu   sync.Mutex
	n    int
	keys []string // the first few, as text: user data, shown only in the error that needs them
}

// divert is the applier's Divert: once the swap has begun, a change of the original table is a
// write that got past the swap, recorded and not applied (the ghost is being renamed).
func (r *run) divert(ch binlog.Change) bool {
	if !r.sealed.Load() {
		return false
	}
	row := ch.After
	if row == nil {
		row = ch.Before
	}
	key, err := r.applier.KeyOf(row)
	r.slips.mu.Lock()
	defer r.slips.mu.Unlock()
	r.slips.n++
	if err == nil && len(r.slips.keys) < 10 {
		parts := make([]string, len(key))
		for i, v := range key {
			parts[i] = fmt.Sprintf("%s=%v", r.p.key.Columns[i].Orig.Name, printable(v))
		}
		r.slips.keys = append(r.slips.keys, "("+strings.Join(parts, ", ")+")")
	}
	return true
}

func printable(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// checkNoSlip waits, after the swap, until the apply loop has reached doppel's RENAME in the binlog,
// and fails loudly if any write reached the old table in between. The old table is then kept, so
// those rows can be recovered from it.
func (r *run) checkNoSlip(ctx context.Context) error {
	select {
	case <-r.applierDone:
	case <-ctx.Done():
		return nil
	case <-time.After(time.Minute):
		r.log().Warn("could not confirm in the binlog that no write reached the old table during the swap")
		return nil
	}
	r.slips.mu.Lock()
	defer r.slips.mu.Unlock()
	if r.slips.n == 0 {
		return nil
	}
	r.cfg.OkToDropTable = false
	old := sqlbuild.QualifiedName(r.cfg.Database, r.p.old)
	r.log().Error("writes reached the old table during the swap", zap.Int("changes", r.slips.n), zap.String("old table", old))
	return fmt.Errorf("the tables were swapped, but %d row change(s) made during the swap reached the old table %s instead of the new one, "+
		"for keys %s: compare those rows of %s and %s and copy what is missing; %s is kept: %w",
		r.slips.n, old, strings.Join(r.slips.keys, ", "), old, sqlbuild.QualifiedName(r.cfg.Database, r.cfg.Table), old, errSlipped)
}
