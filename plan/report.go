package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Report is the plan for one ALTER: what the server could do natively, what each clause risks, what the
// copy would cost and in which order to ship it. The JSON tags are the --output=json shape.
type Report struct {
	Flavor   string `json:"flavor"`
	Version  string `json:"version"`
	Database string `json:"database"`
	Table    string `json:"table"`
	Alter    string `json:"alter"`

	Verdict Verdict `json:"verdict"`
	// Algorithm is how the server itself would run the whole ALTER: the dearest of its clauses.
	Algorithm Algorithm `json:"algorithm"`
	Rebuild   bool      `json:"rebuildsTable"`

	Clauses  []ClauseReport `json:"clauses"`
	Findings []Finding      `json:"findings,omitempty"`
	// Moves are the triggers and foreign keys doppel moves to the new table at the swap, each with
	// how and who waits for it.
	Moves []Move `json:"moves,omitempty"`

	// The measurements are nil when the plan did not or could not take them.
	Size     *Size     `json:"size,omitempty"`
	Space    *Space    `json:"space,omitempty"`
	Binlog   *Binlog   `json:"binlog,omitempty"`
	Sample   *Sample   `json:"sample,omitempty"`
	Estimate *Estimate `json:"estimate,omitempty"`

	// Key is the key doppel would iterate, as a migration would choose it.
	Key *IterationKey `json:"iterationKey,omitempty"`

	Deployment Deployment `json:"deployment"`
	// ShowExitCode adds the exit code to the verdict line of WriteText, for `doppel plan`, whose exit
	// code is the verdict. A migration printing the report exits by its own rules.
	ShowExitCode bool `json:"-"`
}

// Move is a trigger or a foreign key that doppel moves to the new table.
type Move struct {
	Kind     string `json:"kind"` // trigger; parent (the table's own foreign key); child (another table's, referencing it)
	What     string `json:"what"`
	How      string `json:"how"`
	Blocking string `json:"blocking"`
}

// Finding is something about the table or the server, rather than one clause, that matters.
type Finding struct {
	Risk    Risk   `json:"risk"`
	Message string `json:"message"`
}

// Size is what information_schema.TABLES says. Rows is InnoDB's estimate, not a count.
type Size struct {
	Rows       int64 `json:"rows"`
	DataBytes  int64 `json:"dataBytes"`
	IndexBytes int64 `json:"indexBytes"`
}

// Space is the disk the copy needs next to what the server has free.
type Space struct {
	// GhostBytes: the ghost table ends up about as large as the table is now.
	GhostBytes int64 `json:"ghostBytes"`
	// BinlogBytes: with binlog_format=ROW every copied row is also written to the binary log.
	BinlogBytes int64 `json:"binlogBytes"`
	// FreeBytes is nil when the server does not tell.
	FreeBytes *int64 `json:"freeBytes"`
	Note      string `json:"note,omitempty"`
}

// Binlog is the server's binary log setup as the copy depends on it.
type Binlog struct {
	Enabled bool   `json:"enabled"`
	Format  string `json:"format,omitempty"`
	// RetentionSeconds is how long binlogs are kept; nil means they are never purged automatically.
	RetentionSeconds *int64 `json:"retentionSeconds"`
}

// Sample is the measured read of a few chunks of the table along its key.
type Sample struct {
	Key            string  `json:"key"`
	Chunks         int     `json:"chunks"`
	Rows           int64   `json:"rows"`
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	RowsPerSecond  float64 `json:"rowsPerSecond"`
}

// Estimate is the expected duration of doppel's copy. It is an estimate, never a promise.
type Estimate struct {
	CopySeconds float64 `json:"copySeconds"`
	Basis       string  `json:"basis"`
}

// Deployment is the order in which the schema change and the application code must ship.
type Deployment struct {
	Order   Order       `json:"order"`
	Summary string      `json:"summary"`
	Phases  []PhasePlan `json:"phases,omitempty"`
}

// PhasePlan spells out the steps one clause needs.
type PhasePlan struct {
	Clause string   `json:"clause"`
	Steps  []string `json:"steps"`
}

// Refuse records that doppel's migration refuses the change, with its words: the verdict becomes
// refused, whatever the clauses say.
func (r *Report) Refuse(msg string) {
	r.Findings = append(r.Findings, Finding{Refused, "a migration refuses this change: " + msg})
	r.Verdict = VerdictRefused
}

// ExitCode is the process exit code for the verdict: 0 safe, 1 needs care, 2 refused.
func (r *Report) ExitCode() int { return int(r.Verdict) }

// Instant reports whether the server can run the whole ALTER with ALGORITHM=INSTANT, so doppel may run
// it natively instead of copying. It says nothing about risk: check Verdict first.
func (r *Report) Instant() bool {
	active := 0
	for _, c := range r.Clauses {
		if c.Ignored {
			continue
		}
		if c.Algorithm != Instant || c.Risk == Refused {
			return false
		}
		active++
	}
	return active > 0
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the plan as JSON: %w", err)
	}
	return nil
}

// WriteText writes the report for a person: verdict first, then each clause, the table's figures and
// the deployment order.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }

	product := map[string]string{"mariadb": "MariaDB", "mysql": "MySQL"}[r.Flavor]
	p("doppel plan for %s on %s %s", sqlbuild.QualifiedName(r.Database, r.Table), product, r.Version)
	p("ALTER: %s", r.Alter)
	p("")
	verdict := strings.ReplaceAll(r.Verdict.String(), "-", " ")
	if r.ShowExitCode {
		verdict += fmt.Sprintf(" (exit %d)", r.ExitCode())
	}
	p("verdict\t%s", verdict)
	native := r.Algorithm.describe()
	if r.Rebuild && r.Algorithm != Copy {
		native += "; rebuilds the table"
	}
	p("native\t%s", native)
	if r.Instant() {
		p("\tdoppel can run it natively with --attempt-instant-ddl")
	}
	p("")
	p("#\tclause\tnative\trisk\twhy")
	for i, c := range r.Clauses {
		algo, risk := c.Algorithm.String(), c.Risk.label()
		if c.Ignored {
			algo, risk = "-", "-"
		}
		reasons := c.Reasons
		if c.Check != nil && (c.Check.Found == nil || !*c.Check.Found) {
			// What was found is already among the reasons, with what it means.
			reasons = append(append([]string{}, reasons...), c.Check.summary())
		}
		first := ""
		if len(reasons) > 0 {
			first = reasons[0]
		}
		p("%d\t%s\t%s\t%s\t%s", i+1, c.SQL, algo, risk, first)
		for _, reason := range reasons[min(1, len(reasons)):] {
			p("\t\t\t\t%s", reason)
		}
	}
	if len(r.Findings) > 0 {
		p("")
		for _, f := range r.Findings {
			p("%s\t%s", f.Risk.label(), f.Message)
		}
	}
	if len(r.Moves) > 0 {
		p("")
		p("moved at the swap")
		for _, m := range r.Moves {
			p("  %s\t%s", m.Kind, m.What)
			p("  \thow: %s", m.How)
			p("  \twaits: %s", m.Blocking)
		}
	}
	p("")
	r.writeFigures(p)
	p("")
	p("deployment\t%s", r.Deployment.Order.describe())
	p("\t%s", r.Deployment.Summary)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	// Phases are written after the flush so their long lines do not widen the columns above.
	for _, ph := range r.Deployment.Phases {
		if _, err := fmt.Fprintf(w, "  for %s:\n", ph.Clause); err != nil {
			return fmt.Errorf("writing the plan: %w", err)
		}
		for i, s := range ph.Steps {
			if _, err := fmt.Fprintf(w, "    %d. %s\n", i+1, s); err != nil {
				return fmt.Errorf("writing the plan: %w", err)
			}
		}
	}
	return nil
}

func (r *Report) writeFigures(p func(string, ...any)) {
	if s := r.Size; s != nil {
		p("rows\t~%s (the server's estimate)", thousands(s.Rows))
		p("size\tdata %s, indexes %s", bytesText(s.DataBytes), bytesText(s.IndexBytes))
	} else {
		p("size\tnot measured")
	}
	if s := r.Space; s != nil {
		p("copy needs\t~%s for the ghost table, ~%s of binlogs", bytesText(s.GhostBytes), bytesText(s.BinlogBytes))
		if s.FreeBytes != nil {
			p("free disk\t%s", bytesText(*s.FreeBytes))
		} else {
			p("free disk\tunknown: %s", s.Note)
		}
	}
	if b := r.Binlog; b != nil {
		switch {
		case !b.Enabled:
			p("binlogs\toff")
		case b.RetentionSeconds == nil:
			p("binlogs\t%s, never purged automatically", b.Format)
		default:
			p("binlogs\t%s, kept %s", b.Format, durationText(float64(*b.RetentionSeconds)))
		}
	}
	if k := r.Key; k != nil && k.Name != "" {
		p("key\t%s (%s): %s", sqlbuild.QuoteIdent(k.Name), sqlbuild.QuoteIdents(k.Columns), k.Why)
	} else if k != nil {
		p("key\t%s", k.Why)
	}
	if s := r.Sample; s != nil {
		p("sample\t%d chunks, %s rows read along %s in %s (%s rows/s)", s.Chunks, thousands(s.Rows), s.Key,
			durationText(s.ElapsedSeconds), thousands(int64(s.RowsPerSecond)))
	}
	if e := r.Estimate; e != nil {
		p("estimate\tcopy takes about %s (%s)", durationText(e.CopySeconds), e.Basis)
	} else if r.Size != nil {
		p("estimate\tnone: no sample was read (skipped, or no key to read along)")
	}
}

func (c *Check) summary() string {
	if c.Found == nil {
		return fmt.Sprintf("%s not checked: %s", c.Kind, c.Note)
	}
	return fmt.Sprintf("checked: no %s now", c.Kind)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= unit
		suffix = s
		if f < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", f, suffix)
}

// durationText rounds a duration to what a person cares about at that scale.
func durationText(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 48*time.Hour:
		return d.Round(time.Second).String()
	default:
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
}
