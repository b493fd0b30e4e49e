package plan

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// Options tune the plan. The zero value reads 3 chunks of 1000 rows and runs every data check.
type Options struct {
	// AllowDataLoss means the user accepts clauses that lose data: they make the verdict "needs care"
	// instead of "refused".
	AllowDataLoss bool
	// SampleChunks and ChunkRows size the timed read sample; 0 means 3 and 1000, a negative
	// SampleChunks skips the sample (and so the estimate).
	SampleChunks int
	ChunkRows    int
	// SkipDataChecks skips the duplicate and NULL checks, which may read the whole table.
	SkipDataChecks bool
	// AllowNullableUniqueKey is the migration's --allow-nullable-unique-key, for the choice of the
	// iteration key.
	AllowNullableUniqueKey bool
}

// writeCost is how much longer doppel's copy of a chunk is assumed to take than reading it: the copy
// reads the same rows, then writes them into the ghost table with its indexes and into the binlog.
// It is an assumption for the estimate, stated as such in every report, until bench/ measures it.
const writeCost = 3

// Build plans the ALTER a for the table t, as table.Inspect read it, on the server db points at: it
// classifies every clause for the server's flavour and version, reads the table's triggers and
// foreign keys, looks for duplicates and NULLs where a clause depends on them, measures the table and
// times a short read sample. It writes nothing.
func Build(ctx context.Context, db *sql.DB, flavor dbconn.Flavor, t *table.Table, a *alter.Alter, opts Options) (*Report, error) {
	l, err := readLinks(ctx, db, t)
	if err != nil {
		return nil, err
	}
	size, err := table.SizeOf(ctx, db, t.Schema, t.Name)
	if err != nil {
		return nil, err
	}
	r, c := classify(flavor, t, a, l)
	r.Size = &Size{Rows: size.Rows, DataBytes: size.DataBytes, IndexBytes: size.IndexBytes}

	if !opts.SkipDataChecks {
		if err := runChecks(ctx, db, t.Schema, t.Name, r); err != nil {
			return nil, err
		}
	}
	if r.Key, err = iterationKey(ctx, db, t, a, opts); err != nil {
		return nil, err
	}
	if r.Binlog, err = readBinlog(ctx, db); err != nil {
		return nil, err
	}
	free, note, err := readFreeDisk(ctx, db, flavor)
	if err != nil {
		return nil, fmt.Errorf("reading the free disk space for %s: %w", sqlbuild.QualifiedName(t.Schema, t.Name), err)
	}
	r.Space = &Space{GhostBytes: size.DataBytes + size.IndexBytes, BinlogBytes: size.DataBytes, FreeBytes: free, Note: note}
	if r.Sample, err = sample(ctx, db, t, opts); err != nil {
		return nil, err
	}
	if r.Sample != nil {
		r.Estimate = estimate(r.Sample, size.Rows)
	}
	c.serverFindings(r)
	r.finish(opts)
	return r, nil
}

// sample times a read of a few chunks of t as opts size it, or returns nil when opts skip it or t has
// no key to read along.
func sample(ctx context.Context, db *sql.DB, t *table.Table, opts Options) (*Sample, error) {
	chunks, rowsPer := opts.SampleChunks, opts.ChunkRows
	if chunks == 0 {
		chunks = 3
	}
	if rowsPer <= 0 {
		rowsPer = 1000
	}
	key := sampleKey(t)
	if chunks < 0 || key == nil {
		return nil, nil
	}
	return sampleRead(ctx, db, t, key, chunks, rowsPer)
}

// Classify plans the ALTER a for the table t without a server: the clause classification, the risks
// that need no data and the deployment order. Build is Classify plus what the server tells.
func Classify(flavor dbconn.Flavor, t *table.Table, a *alter.Alter, opts Options) *Report {
	r, _ := classify(flavor, t, a, links{})
	r.finish(opts)
	return r
}

// links tie the table to others: its triggers, and foreign keys either way. doppel copies and swaps
// only a table without any.
type links struct {
	triggers, foreignKeys, referencedBy []string
}

func readLinks(ctx context.Context, db *sql.DB, t *table.Table) (links, error) {
	var l links
	var err error
	if l.triggers, err = table.TriggerLinks(ctx, db, t.Schema, t.Name); err != nil {
		return l, fmt.Errorf("reading the triggers of %s: %w", sqlbuild.QualifiedName(t.Schema, t.Name), err)
	}
	if l.foreignKeys, l.referencedBy, err = table.ForeignKeyLinks(ctx, db, t.Schema, t.Name); err != nil {
		return l, fmt.Errorf("reading the foreign keys of %s: %w", sqlbuild.QualifiedName(t.Schema, t.Name), err)
	}
	return l, nil
}

// planner keeps what the table findings need after the clauses are classified.
type planner struct {
	*classifier
	droppedIndexes map[string]bool
	addedIndexes   int // plain secondary indexes the ALTER adds
}

func classify(f dbconn.Flavor, t *table.Table, a *alter.Alter, l links) (*Report, *planner) {
	r := &Report{Flavor: f.Name(), Version: f.Version().String(), Database: t.Schema, Table: t.Name, Alter: a.Clause}
	p := &planner{classifier: newClassifier(f, t, a.Specs), droppedIndexes: map[string]bool{}}
	for _, s := range a.Specs {
		switch s.Tp {
		case ast.AlterTableDropPrimaryKey:
			p.droppedIndexes["primary"] = true
		case ast.AlterTableDropIndex:
			p.droppedIndexes[strings.ToLower(s.Name)] = true
		case ast.AlterTableAddConstraint:
			if s.Constraint != nil && (s.Constraint.Tp == ast.ConstraintIndex || s.Constraint.Tp == ast.ConstraintKey) {
				p.addedIndexes++
			}
		}
		r.Clauses = append(r.Clauses, p.clause(s))
	}
	if a.Rewritten {
		r.Findings = append(r.Findings, Finding{NeedsCare, "the ALTER uses MariaDB syntax the SQL parser lacks; the plan read it as the nearest syntax it knows, " +
			"as the clauses below show, so what it says of them may be off"})
	}
	p.tableFindings(r, l)
	return r, p
}

// tableFindings are the facts about the table that decide whether doppel can copy it at all.
func (p *planner) tableFindings(r *Report, l links) {
	t := p.t
	if !strings.EqualFold(t.Engine, "InnoDB") {
		r.Findings = append(r.Findings, Finding{NeedsCare, fmt.Sprintf("the table uses %s; the rules are InnoDB's", t.Engine)})
	}
	r.Moves = moves(l)
	if len(l.triggers) > 0 {
		r.Findings = append(r.Findings, Finding{NeedsCare, fmt.Sprintf("the table has %d trigger(s): doppel moves them only with --include-triggers (refused without); see \"moved at the swap\"", len(l.triggers))})
	}
	if n := len(l.foreignKeys) + len(l.referencedBy); n > 0 {
		r.Findings = append(r.Findings, Finding{NeedsCare, fmt.Sprintf("the table takes part in %d foreign key(s): doppel moves them at the swap (--discard-foreign-keys leaves out the table's own); see \"moved at the swap\"", n)})
	}
	if p.iterationKey() == nil {
		r.copyFinding("no PRIMARY KEY or UNIQUE key on NOT NULL columns survives the change: doppel has no key to copy the table along")
	}
}

// iterationKey is an existing key doppel's copy can walk that this ALTER leaves in place.
func (p *planner) iterationKey() *table.Index {
	for i := range p.t.Indexes {
		ix := &p.t.Indexes[i]
		if !ix.Unique || p.droppedIndexes[strings.ToLower(ix.Name)] || !usableKey(p.t, ix) {
			continue
		}
		kept := true
		for _, kc := range ix.Columns {
			kept = kept && !p.dropped[strings.ToLower(kc.Name)]
		}
		if kept {
			return ix
		}
	}
	return nil
}

// copyFinding records something that stops doppel's copy. When the server can run the whole ALTER
// natively and instantly, the copy is not needed, so it only needs care.
func (r *Report) copyFinding(msg string) {
	if r.Instant() {
		r.Findings = append(r.Findings, Finding{NeedsCare, msg + "; only --attempt-instant-ddl can run this change"})
		return
	}
	r.Findings = append(r.Findings, Finding{Refused, msg})
}

// serverFindings compare the copy's needs with what the server has.
func (p *planner) serverFindings(r *Report) {
	if b := r.Binlog; b != nil {
		switch {
		case !b.Enabled:
			r.copyFinding("binary logging is off: doppel follows changes through the binlog")
		case b.Format != "ROW":
			r.copyFinding(fmt.Sprintf("binlog_format is %s: doppel needs ROW", b.Format))
		case b.RetentionSeconds != nil && r.Estimate != nil && float64(*b.RetentionSeconds) < 2*r.Estimate.CopySeconds:
			r.Findings = append(r.Findings, Finding{NeedsCare, fmt.Sprintf("binlogs are kept %s and the copy is estimated at %s: a migration that stops may not be able to resume",
				durationText(float64(*b.RetentionSeconds)), durationText(r.Estimate.CopySeconds))})
		}
	}
	if s := r.Space; s != nil && s.FreeBytes != nil && *s.FreeBytes < s.GhostBytes+s.BinlogBytes && !r.Instant() {
		r.copyFinding(fmt.Sprintf("the copy needs about %s but only %s is free", bytesText(s.GhostBytes+s.BinlogBytes), bytesText(*s.FreeBytes)))
	}
	p.indexFinding(r)
}

// runChecks runs the duplicate and NULL checks the clauses asked for and folds the outcome into them.
func runChecks(ctx context.Context, db *sql.DB, database, table string, r *Report) error {
	for i := range r.Clauses {
		cr := &r.Clauses[i]
		switch {
		case cr.unique != nil && cr.unique.skip != "":
			cr.Check = &Check{Kind: "duplicates", Note: cr.unique.skip}
		case cr.unique != nil:
			q, err := duplicateQuery(database, table, cr.unique)
			if err != nil {
				return fmt.Errorf("checking %s for duplicates: %w", sqlbuild.QualifiedName(database, table), err)
			}
			found, err := exists(ctx, db, q)
			if err != nil {
				return fmt.Errorf("checking %s for duplicates of the new key: %w", sqlbuild.QualifiedName(database, table), err)
			}
			cr.Check = &Check{Kind: "duplicates", Found: &found}
			if found {
				cr.Check.Note = "rows share a value of the new key"
				cr.raise(DataLoss, "duplicates exist now: the copy would keep one row of each and drop the others")
			}
		case cr.notNull != "":
			q := fmt.Sprintf("SELECT 1 FROM %s WHERE %s IS NULL LIMIT 1", sqlbuild.QualifiedName(database, table), sqlbuild.QuoteIdent(cr.notNull))
			found, err := exists(ctx, db, q)
			if err != nil {
				return fmt.Errorf("checking %s for NULLs in %s: %w", sqlbuild.QualifiedName(database, table), sqlbuild.QuoteIdent(cr.notNull), err)
			}
			cr.Check = &Check{Kind: "nulls", Found: &found}
			if found {
				cr.Check.Note = "rows hold NULL now"
				cr.raise(DataLoss, "NULLs exist now: the copy would replace them with the implicit default")
			}
		}
	}
	return nil
}

// estimate extrapolates the sample to the table: rows read per second, slowed down by writeCost.
func estimate(s *Sample, rows int64) *Estimate {
	if s.Rows == 0 {
		if rows > 0 {
			// The statistics claim rows the sample did not find: they are stale, and there is no
			// rate to extrapolate from.
			return nil
		}
		return &Estimate{Basis: "the table is empty"}
	}
	seconds := s.ElapsedSeconds * writeCost
	if rows > s.Rows {
		seconds = float64(rows) / s.RowsPerSecond * writeCost
	}
	return &Estimate{CopySeconds: seconds, Basis: fmt.Sprintf("an estimate: the sample's read rate, writes assumed to cost %dx the read, no throttling", writeCost)}
}

// finish sets what follows from the clauses and findings: the overall algorithm, the verdict and the
// deployment order.
func (r *Report) finish(opts Options) {
	r.Algorithm, r.Rebuild = Instant, false
	worst := Safe
	for _, c := range r.Clauses {
		if c.Ignored {
			continue
		}
		r.Algorithm = max(r.Algorithm, c.Algorithm)
		r.Rebuild = r.Rebuild || c.Rebuild
		worst = max(worst, c.Risk)
	}
	for _, f := range r.Findings {
		worst = max(worst, f.Risk)
	}
	switch worst {
	case Safe:
		r.Verdict = VerdictSafe
	case NeedsCare:
		r.Verdict = VerdictNeedsCare
	case DataLoss:
		if opts.AllowDataLoss {
			r.Verdict = VerdictNeedsCare
		} else {
			r.Verdict = VerdictRefused
			r.Findings = append(r.Findings, Finding{Refused, "the change can lose data: doppel refuses it unless data loss is explicitly allowed"})
		}
	default:
		r.Verdict = VerdictRefused
	}
	r.Deployment = deployment(r.Clauses)
}

// deployment combines the clauses' orders: one expand-contract clause, or additive and removing
// clauses together, make the whole ALTER a phased change.
func deployment(clauses []ClauseReport) Deployment {
	d := Deployment{Order: AnyOrder}
	var additive, removing []string
	for _, c := range clauses {
		if c.Ignored {
			continue
		}
		d.Order = combineOrders(d.Order, c.Order)
		switch c.Order {
		case MigrationFirst:
			additive = append(additive, c.SQL)
		case CodeFirst, ExpandContract:
			removing = append(removing, c.SQL)
		}
		if len(c.Phases) > 0 {
			d.Phases = append(d.Phases, PhasePlan{Clause: c.SQL, Steps: c.Phases})
		}
	}
	switch {
	case d.Order == AnyOrder:
		d.Summary = "the application cannot tell the difference: run it when convenient"
	case d.Order == MigrationFirst:
		d.Summary = "run the migration, then deploy the code that uses it; old code keeps working"
	case d.Order == CodeFirst:
		d.Summary = "deploy code that no longer depends on what changes, then run the migration"
	case len(additive) > 0 && len(removing) > 0:
		d.Summary = fmt.Sprintf("split it: first the additive part (%s), then deploy, then the rest as below",
			strings.Join(additive, ", "))
	default:
		d.Summary = "neither order is safe: ship it in the phases below"
	}
	return d
}

// moves says how doppel moves each trigger and foreign key at the swap, and who waits for it. The
// figures are the longest waits measured on MariaDB 10.11 on a loaded 2-core machine
// (docs/how-it-works.md); the real ones grow with the number of triggers and children.
func moves(l links) []Move {
	var out []Move
	for _, t := range l.triggers {
		out = append(out, Move{Kind: "trigger", What: t,
			How:      "fires on the original until the swap; created on the ghost under a temporary name under the cut-over's lock, named back under LOCK TABLES right after the swap (with --include-triggers)",
			Blocking: "the table's writers, twice: at the swap and at the names' restore; a CREATE (and a DROP) per trigger each time, 12–146 ms measured under load"})
	}
	for _, f := range l.foreignKeys {
		out = append(out, Move{Kind: "parent", What: f,
			How:      "the ghost carries it from its creation, under the name with a leading underscore added or removed, so a parent's cascade reaches the ghost too; each copied chunk locks the parent rows it references first",
			Blocking: "the parent's writers wait for the cut-over's lock (the parent is locked READ with the table): 15–246 ms measured under load"})
	}
	for _, f := range l.referencedBy {
		out = append(out, Move{Kind: "child", What: f,
			How:      "re-pointed at the ghost in the cut-over's locking session (two in-place ALTERs with foreign_key_checks=0), so the RENAME carries it to the new table; pointed back if the attempt fails",
			Blocking: "the child's writers wait for the cut-over's lock (the child is locked WRITE with the table); two ALTERs per child under it: 38–718 ms measured under load with two children"})
	}
	return out
}
