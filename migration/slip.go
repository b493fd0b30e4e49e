package migration

import (
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/binlog"
)

// divert is the applier's Divert: the cut-over's guard decides whether a change of the original is
// a write that got past the swap (cutover.Guard.Divert); its key is described for the error.
func (r *run) divert(ch binlog.Change) bool {
	return r.guard.Divert(func() string {
		row := ch.After
		if row == nil {
			row = ch.Before
		}
		key, err := r.applier.KeyOf(row)
		if err != nil {
			return "(?)"
		}
		parts := make([]string, len(key))
		for i, v := range key {
			parts[i] = fmt.Sprintf("%s=%v", r.p.key.Columns[i].Orig.Name, printable(v))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	})
}

func printable(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}
