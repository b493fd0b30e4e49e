package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// State is where a migration stands against the history table.
type State string

const (
	StateApplied State = "applied"
	StatePending State = "pending"
	// StateChanged: applied, but its file's checksum is no longer the one recorded.
	StateChanged State = "changed"
	// StateFailed: its newest run (up or down) did not finish; StoppedAt says where.
	StateFailed State = "failed"
	// StateMissing: the history holds it applied, but the directory has no file for it.
	StateMissing State = "missing"
)

// Status is one migration's line of `doppel migrate status`.
type Status struct {
	Version     string    `json:"version"`
	Description string    `json:"description"`
	Script      string    `json:"script"`
	State       State     `json:"state"`
	AppliedAt   time.Time `json:"appliedAt,omitzero"`
	// Direction and StoppedAt say which run of a failed migration stopped, at which statement.
	Direction string `json:"direction,omitempty"`
	StoppedAt int    `json:"stoppedAt,omitempty"`
	Note      string `json:"note,omitempty"`

	m       *Migration
	applied *Row // the successful up in effect
	last    *Row // the newest row
}

// statuses folds the history into one Status per version, files and history together, ordered by
// version.
func (w *Workflow) statuses(rows []Row) []Status {
	newest := map[string]*Row{}
	upRow := map[string]*Row{}
	for i := range rows {
		r := &rows[i]
		newest[r.Version] = r
		switch {
		case r.Direction == "up" && r.Success:
			upRow[r.Version] = r
		case r.Direction == "down" && r.Success:
			delete(upRow, r.Version)
		}
	}
	var out []Status
	seen := map[string]bool{}
	for i := range w.migrations {
		m := &w.migrations[i]
		v := m.Version.String()
		seen[v] = true
		s := Status{Version: v, Description: m.Description, Script: m.Up.Name, State: StatePending, m: m, applied: upRow[v], last: newest[v]}
		if s.applied != nil {
			s.State, s.AppliedAt = StateApplied, s.applied.AppliedAt
			if s.applied.Checksum != m.Up.Checksum {
				s.State = StateChanged
				s.Note = fmt.Sprintf("%s was edited after it was applied (checksum %s…, recorded %s…)", m.Up.Name, m.Up.Checksum[:12], s.applied.Checksum[:12])
			}
		}
		if l := s.last; l != nil && !l.Success {
			s.State, s.Direction, s.StoppedAt = StateFailed, l.Direction, l.StoppedAt
			s.Note = fmt.Sprintf("the %s run of %s stopped at statement %d: %s", l.Direction, l.Script, l.StoppedAt, firstLine(l.Error))
			if l.Direction == "up" && l.Checksum != m.Up.Checksum {
				s.Note += fmt.Sprintf("; and %s was edited since", m.Up.Name)
			}
		}
		out = append(out, s)
	}
	for v, r := range upRow {
		if !seen[v] {
			out = append(out, Status{Version: v, Description: r.Description, Script: r.Script, State: StateMissing, AppliedAt: r.AppliedAt, applied: r, last: newest[v],
				Note: fmt.Sprintf("applied on %s, but %s is not in the directory", r.AppliedAt.Format(time.DateTime), r.Script)})
		}
	}
	sortStatuses(out)
	return out
}

func sortStatuses(s []Status) {
	key := func(st Status) Version { v, _ := ParseVersion(st.Version); return v }
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && key(s[j]).Compare(key(s[j-1])) < 0; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return excerptN(s, 200)
}

func excerptN(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// Status reads the history and says where every migration stands.
func (w *Workflow) Status(ctx context.Context) ([]Status, error) {
	rows, err := w.hist.read(ctx)
	if err != nil {
		return nil, err
	}
	return w.statuses(rows), nil
}

// problems are what stops every command but status, validate and repair: an applied file edited,
// an applied file gone, a pending migration older than an applied one.
func problems(st []Status) []string {
	var out []string
	var newestApplied *Status
	for i := range st {
		s := &st[i]
		switch s.State {
		case StateChanged:
			out = append(out, fmt.Sprintf("%s: %s. Never edit an applied migration: put the change in a new one. If the edit changes nothing that ran (a comment), record the new checksum with `doppel migrate repair --execute`", s.Version, s.Note))
		case StateMissing:
			out = append(out, fmt.Sprintf("%s: %s. Put the file back; the history keeps it applied", s.Version, s.Note))
		case StateFailed:
			if s.Direction == "up" && s.m != nil && s.last.Checksum != s.m.Up.Checksum {
				out = append(out, fmt.Sprintf("%s: %s. `doppel migrate repair --execute` removes the failed run (undo what its first statements did first)", s.Version, s.Note))
			}
		}
		if s.applied != nil && s.State != StateMissing {
			newestApplied = s
		}
	}
	if newestApplied != nil {
		nv, _ := ParseVersion(newestApplied.Version)
		for _, s := range st {
			if s.State == StatePending && s.m.Version.Compare(nv) < 0 {
				out = append(out, fmt.Sprintf("%s (%s) is pending but %s, a later version, is applied: migrations run in version order; renumber it after %s", s.Version, s.Script, newestApplied.Version, newestApplied.Version))
			}
		}
	}
	return out
}

// Validate reads every file with the parser and compares the directory with the history: it returns
// every problem found, none when all is well.
func (w *Workflow) Validate(ctx context.Context) ([]string, error) {
	st, err := w.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := problems(st)
	for _, m := range w.migrations {
		for _, f := range []*File{m.Up, m.Down} {
			if f == nil {
				continue
			}
			if _, err := Split(f.Name, f.Text, w.srv); err != nil {
				out = append(out, err.Error())
			}
		}
	}
	return out, nil
}
