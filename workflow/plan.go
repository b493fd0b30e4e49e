package workflow

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/table"
)

// How is how a statement runs.
type How string

const (
	// HowInstant: the plan says the server changes only metadata; it runs natively with a bounded
	// lock_wait_timeout, retried.
	HowInstant How = "instant"
	// HowNative: the server runs it as written (CREATE, DROP, RENAME, data, an ALTER of a small table).
	HowNative How = "native"
	// HowOnline: doppel's online engine copies the table and swaps it.
	HowOnline How = "online"
	// HowBackfill: the Backfiller runs it in throttled chunks.
	HowBackfill How = "backfill"
	// HowAtItsTurn: an earlier statement of the run changes its table: it is planned when it runs.
	HowAtItsTurn How = "at-its-turn"
)

// Step is the plan of one statement.
type Step struct {
	Statement int          `json:"statement"` // 1-based, in its file
	Line      int          `json:"line"`
	SQL       string       `json:"sql"`
	Kind      Kind         `json:"kind"`
	How       How          `json:"how"`
	Verdict   plan.Verdict `json:"verdict"`
	Order     plan.Order   `json:"deployOrder"`
	// LosesData: the statement destroys data that exists now (a dropped table or column, a narrowed
	// type); only --allow-data-loss (or a down script) lets it run.
	LosesData bool `json:"losesData,omitempty"`
	// EstimateSeconds is the plan's estimate of the copy, for what copies the table.
	EstimateSeconds *float64 `json:"estimateSeconds,omitempty"`
	Why             string   `json:"why"`
	Findings        []string `json:"findings,omitempty"`
	// Report is the pre-flight report of an ALTER TABLE (package plan).
	Report *plan.Report `json:"plan,omitempty"`

	stmt Statement
}

// MigrationPlan is the plan of one script.
type MigrationPlan struct {
	Version     string       `json:"version"`
	Description string       `json:"description"`
	Script      string       `json:"script"`
	Direction   string       `json:"direction"`
	Verdict     plan.Verdict `json:"verdict"`
	// Deployment is when the script must ship relative to the application code (expand–contract).
	Deployment Deployment `json:"deployment"`
	Steps      []Step     `json:"statements"`
	// From is the statement a continued run starts at (1-based); 0 for a new run.
	From int `json:"continuesAt,omitempty"`

	m    *Migration
	cont *Row
}

// Deployment is the deployment order of a script: its statements' orders combined.
type Deployment struct {
	Order   plan.Order `json:"order"`
	Summary string     `json:"summary"`
}

// Plan is the pre-flight report of a run: every script it would run, in order. Its verdict is the
// worst of theirs, and the exit code of `doppel migrate plan`.
type Plan struct {
	Database   string          `json:"database"`
	Direction  string          `json:"direction"`
	Verdict    plan.Verdict    `json:"verdict"`
	Problems   []string        `json:"problems,omitempty"`
	Migrations []MigrationPlan `json:"migrations"`
}

// ExitCode is the verdict as `doppel plan` gives it: 0 safe, 1 needs care, 2 refused.
func (p *Plan) ExitCode() int { return int(p.Verdict) }

// planner plans statements in order, knowing which tables the earlier ones change.
type planner struct {
	w             *Workflow
	allowDataLoss bool
	// touched are the tables (lower case) an earlier statement of the run names: a statement on one
	// of them is planned when its turn comes, against the table as it is then.
	touched map[string]bool
}

func (w *Workflow) newPlanner(allowDataLoss bool) *planner {
	return &planner{w: w, allowDataLoss: allowDataLoss, touched: map[string]bool{}}
}

// script plans the statements of one file from statement from (1-based) on.
func (p *planner) script(ctx context.Context, m *Migration, f *File, dir string, from int, continuing bool) (MigrationPlan, error) {
	mp := MigrationPlan{Version: m.Version.String(), Description: m.Description, Script: f.Name, Direction: dir, m: m}
	if from > 0 && continuing {
		mp.From = from
	}
	stmts, err := Split(f.Name, f.Text, p.w.srv)
	if err != nil {
		return mp, err
	}
	if len(stmts) == 0 {
		return mp, fmt.Errorf("%s holds no statement", f.Name)
	}
	for i, s := range stmts {
		if i+1 < from {
			continue
		}
		st, err := p.statement(ctx, s)
		if err != nil {
			return mp, fmt.Errorf("planning statement %d of %s (line %d): %w", i+1, f.Name, s.Line, err)
		}
		st.Statement = i + 1
		mp.Steps = append(mp.Steps, st)
	}
	mp.finish()
	return mp, nil
}

func (mp *MigrationPlan) finish() {
	mp.Verdict = plan.VerdictSafe
	order := plan.AnyOrder
	var additive, removing []string
	for _, s := range mp.Steps {
		mp.Verdict = max(mp.Verdict, s.Verdict)
		order = combineOrders(order, s.Order)
		switch s.Order {
		case plan.MigrationFirst:
			additive = append(additive, fmt.Sprintf("statement %d", s.Statement))
		case plan.CodeFirst, plan.ExpandContract:
			removing = append(removing, fmt.Sprintf("statement %d", s.Statement))
		}
	}
	mp.Deployment.Order = order
	switch {
	case order == plan.AnyOrder:
		mp.Deployment.Summary = "the application cannot tell the difference: run it when convenient"
	case order == plan.MigrationFirst:
		mp.Deployment.Summary = "migration before code: run it, then deploy the code that uses it; old code keeps working"
	case order == plan.CodeFirst:
		mp.Deployment.Summary = "code before migration: deploy code that no longer uses what it removes or renames, then run it"
	case len(additive) > 0 && len(removing) > 0:
		mp.Deployment.Summary = fmt.Sprintf("two phases: the additive part (%s) before the code, the rest (%s) after it; split the file in two (expand, then contract)",
			strings.Join(additive, ", "), strings.Join(removing, ", "))
	default:
		mp.Deployment.Summary = "two phases: neither order is safe; expand (add the new shape, copy), deploy code using it, then contract (drop the old) in a later migration"
	}
}

// combineOrders is plan's rule: the same order, or any order with another, stays; two different
// orders make a phased change.
func combineOrders(a, b plan.Order) plan.Order {
	switch {
	case a == b || b == plan.AnyOrder:
		return a
	case a == plan.AnyOrder:
		return b
	default:
		return plan.ExpandContract
	}
}

// statement plans one statement and records the tables it names for those after it.
func (p *planner) statement(ctx context.Context, s Statement) (Step, error) {
	st := Step{Line: s.Line, SQL: s.SQL, Kind: s.Kind, How: HowNative, Verdict: plan.VerdictSafe, stmt: s}
	defer func() {
		for _, t := range s.Tables {
			p.touched[strings.ToLower(t)] = true
		}
	}()
	switch {
	case s.Backfill:
		st.How, st.Why = HowBackfill, "a backfill (-- doppel:backfill): in throttled chunks"
		if p.w.cfg.Backfiller == nil {
			st.How, st.Why = HowNative, "a backfill, but no backfill engine is configured: natively, in one statement"
		}
		return st, nil
	case s.Kind == KindAlter:
		return p.alter(ctx, st)
	case s.Kind == KindCreate:
		st.Order, st.Why = plan.MigrationFirst, "creates: natively"
	case s.Kind == KindDrop:
		st.Order, st.Why = plan.CodeFirst, "drops: natively"
		if s.DropsData {
			st.LosesData, st.Verdict = true, plan.VerdictNeedsCare
			st.Findings = append(st.Findings, "destroys the rows it drops")
			if !p.allowDataLoss {
				st.Verdict = plan.VerdictRefused
				st.Findings = append(st.Findings, "the statement loses data: doppel refuses it without --allow-data-loss")
			}
		}
	case s.Kind == KindRename:
		st.Order, st.Verdict, st.Why = plan.ExpandContract, plan.VerdictNeedsCare, "renames: natively, instantly"
		st.Findings = append(st.Findings, "code using the old name fails at once: expand–contract (a view or a copy under the new name first)")
	case s.Kind == KindData:
		st.Why = "changes rows: natively, in one statement (mark a large one with -- doppel:backfill)"
	default:
		st.Verdict, st.Why = plan.VerdictNeedsCare, "doppel does not classify this statement: natively, as written"
	}
	return st, nil
}

// alter plans an ALTER TABLE with package plan, and decides how it runs: instantly, natively (a
// small table), or online.
func (p *planner) alter(ctx context.Context, st Step) (Step, error) {
	w := p.w
	name := st.stmt.Table
	exists, err := table.Exists(ctx, w.cfg.DB, w.cfg.Database, name)
	if err != nil {
		return st, err
	}
	if p.touched[strings.ToLower(name)] {
		st.How, st.Why = HowAtItsTurn, fmt.Sprintf("an earlier statement of this run changes %s: planned when its turn comes, against the table as it is then", sqlbuild.QuoteIdent(name))
		if exists {
			// What the clauses themselves refuse (a dropped column's data) is known now: refuse it
			// before anything runs rather than halfway through the run.
			return p.classifyNow(ctx, st)
		}
		return st, nil
	}
	if !exists {
		st.Verdict = plan.VerdictRefused
		st.Findings = append(st.Findings, fmt.Sprintf("%s does not exist", sqlbuild.QualifiedName(w.cfg.Database, name)))
		return st, nil
	}
	a, err := alter.Read(st.SQL, w.cfg.Database, name, w.srv)
	if err != nil {
		st.Verdict = plan.VerdictRefused
		st.Findings = append(st.Findings, err.Error())
		return st, nil
	}
	t, err := table.Inspect(ctx, w.cfg.DB, w.cfg.Database, name)
	if err != nil {
		return st, err
	}
	r, err := plan.Build(ctx, w.cfg.DB, w.flavor, t, a, plan.Options{AllowDataLoss: p.allowDataLoss})
	if err != nil {
		return st, err
	}
	st.Report, st.Verdict, st.Order = r, r.Verdict, r.Deployment.Order
	for _, f := range r.Findings {
		st.Findings = append(st.Findings, f.Message)
	}
	for _, c := range r.Clauses {
		if c.Risk > plan.Safe && len(c.Reasons) > 0 {
			st.Findings = append(st.Findings, c.SQL+": "+c.Reasons[0])
		}
		st.LosesData = st.LosesData || (c.Risk == plan.DataLoss && !c.Ignored)
	}
	size := int64(0)
	if r.Size != nil {
		size = r.Size.DataBytes + r.Size.IndexBytes
	}
	if !r.Instant() && size < w.cfg.OnlineThreshold {
		// The server's figures are statistics, and stale after a bulk load (a table just filled
		// can show a few pages): a native copy of a big table taken for a small one would block
		// its writers. Counting up to the rows the threshold holds at minRowBytes a row settles it.
		big, err := atLeastRows(ctx, w.cfg.DB, w.cfg.Database, name, w.cfg.OnlineThreshold/minRowBytes)
		if err != nil {
			return st, err
		}
		if big {
			st.Findings = append(st.Findings, fmt.Sprintf("the server's statistics say %s, but it holds at least %d rows: taken as at least --online-threshold", bytesText(size), w.cfg.OnlineThreshold/minRowBytes))
			size = w.cfg.OnlineThreshold
		}
	}
	switch {
	case r.Instant():
		st.How, st.Why = HowInstant, "metadata only (ALGORITHM=INSTANT): natively, with a bounded lock wait"
	case size >= w.cfg.OnlineThreshold:
		st.How, st.Why = HowOnline, fmt.Sprintf("%s is %s, at least --online-threshold %s: doppel's online copy", sqlbuild.QuoteIdent(name), bytesText(size), bytesText(w.cfg.OnlineThreshold))
		if w.cfg.Online == nil {
			st.Verdict = plan.VerdictRefused
			st.Findings = append(st.Findings, "no online engine is configured")
		} else if err := w.cfg.Online.Check(ctx, name, st.SQL); err != nil {
			st.Verdict = plan.VerdictRefused
			st.Findings = append(st.Findings, "the online engine refuses it: "+err.Error())
		}
		if r.Estimate != nil {
			st.EstimateSeconds = &r.Estimate.CopySeconds
		}
	default:
		st.How, st.Why = HowNative, fmt.Sprintf("%s is %s, under --online-threshold %s: natively (%s)", sqlbuild.QuoteIdent(name), bytesText(size), bytesText(w.cfg.OnlineThreshold), r.Algorithm)
		if r.Estimate != nil && r.Algorithm != plan.Instant {
			st.EstimateSeconds = &r.Estimate.CopySeconds
		}
	}
	return st, nil
}

// classifyNow classifies an ALTER planned at its turn against the table as it is now, with no data
// checks, and keeps its deployment order and a refusal: the rest is decided when the table is as the
// ALTER will find it.
func (p *planner) classifyNow(ctx context.Context, st Step) (Step, error) {
	w := p.w
	a, err := alter.Read(st.SQL, w.cfg.Database, st.stmt.Table, w.srv)
	if err != nil {
		return st, nil // the table may not have the shape yet the ALTER needs
	}
	t, err := table.Inspect(ctx, w.cfg.DB, w.cfg.Database, st.stmt.Table)
	if err != nil {
		return st, err
	}
	r := plan.Classify(w.flavor, t, a, plan.Options{AllowDataLoss: p.allowDataLoss})
	st.Order = r.Deployment.Order // what ships first depends on the clauses, not on the data
	for _, c := range r.Clauses {
		st.LosesData = st.LosesData || (c.Risk == plan.DataLoss && !c.Ignored)
	}
	if r.Verdict == plan.VerdictRefused {
		st.Verdict = plan.VerdictRefused
		for _, f := range r.Findings {
			st.Findings = append(st.Findings, f.Message)
		}
		for _, c := range r.Clauses {
			if c.Risk > plan.Safe && len(c.Reasons) > 0 {
				st.Findings = append(st.Findings, c.SQL+": "+c.Reasons[0])
			}
		}
	}
	return st, nil
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// minRowBytes is the least a row of a table takes, its indexes included, for the count that checks
// the statistics' size of a table (atLeastRows): small enough that no real table is taken for
// smaller than it is.
const minRowBytes = 64

// atLeastRows reports whether schema.name holds at least n rows, reading at most n of them (a
// plain consistent read: no lock).
func atLeastRows(ctx context.Context, db *sql.DB, schema, name string, n int64) (bool, error) {
	var got int64
	q := fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM %s LIMIT %d) AS probe", sqlbuild.QualifiedName(schema, name), n)
	if err := db.QueryRowContext(ctx, q).Scan(&got); err != nil {
		return false, fmt.Errorf("counting the rows of %s, whose statistics say it is small: %w", sqlbuild.QualifiedName(schema, name), err)
	}
	return got >= n, nil
}
