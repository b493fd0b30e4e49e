package workflow

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// WriteJSON writes the plan as indented JSON: the shape of `doppel migrate plan --output=json`.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	return nil
}

// WriteText writes the plan for a person: per script, its deployment order, then how each
// statement runs, what it risks and how long the plan expects it to take.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	verdict := strings.ReplaceAll(p.Verdict.String(), "-", " ")
	pf("doppel migrate %s in %s: %d script(s), verdict %s", p.Direction, sqlbuild.QuoteIdent(p.Database), len(p.Migrations), verdict)
	for _, pr := range p.Problems {
		pf("  refused: %s", pr)
	}
	for _, mp := range p.Migrations {
		pf("")
		head := fmt.Sprintf("%s %s (%s)", mp.Version, mp.Description, mp.Script)
		if mp.From > 0 {
			head += fmt.Sprintf(", continuing at statement %d", mp.From)
		}
		pf("%s: %s", head, strings.ReplaceAll(mp.Verdict.String(), "-", " "))
		pf("  deployment: %s", mp.Deployment.Summary)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, s := range mp.Steps {
			est := ""
			if s.EstimateSeconds != nil {
				est = "~" + (time.Duration(*s.EstimateSeconds * float64(time.Second))).Round(100*time.Millisecond).String()
			}
			verdict := strings.ReplaceAll(s.Verdict.String(), "-", " ")
			if s.LosesData {
				verdict += ", loses data"
			}
			fmt.Fprintf(tw, "  %d\tline %d\t%s\t%s\t%s\t%s\n", s.Statement, s.Line, s.How, verdict, est, excerpt(s.SQL))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing the plan: %w", err)
		}
		for _, s := range mp.Steps {
			pf("    %d: %s", s.Statement, s.Why)
			for _, f := range s.Findings {
				pf("       %s", f)
			}
		}
		for i := 0; i < len(mp.Steps); i++ {
			if g := onlineGroup(mp.Steps[i:]); len(g) > 1 {
				pf("    %d to %d: online ALTERs of different tables, copied side by side and swapped together in one RENAME", g[0].Statement, g[len(g)-1].Statement)
				i += len(g) - 1
			}
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	return nil
}

// WriteStatus writes `doppel migrate status`.
func WriteStatus(w io.Writer, st []Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tdescription\tstate\tapplied at\tscript")
	for _, s := range st {
		at := ""
		if !s.AppliedAt.IsZero() {
			at = s.AppliedAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Version, s.Description, s.State, at, s.Script)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	for _, s := range st {
		if s.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Version, s.Note)
		}
	}
	return nil
}

// WriteStatusJSON writes `doppel migrate status --output=json`.
func WriteStatusJSON(w io.Writer, st []Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return fmt.Errorf("writing the status as JSON: %w", err)
	}
	return nil
}
