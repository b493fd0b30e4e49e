package plan

import (
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/table"
)

// Algorithm is how the server itself could run a change, from cheapest to dearest. The order matters:
// an ALTER as a whole runs with the dearest algorithm any of its clauses needs.
type Algorithm int

const (
	// Instant changes only metadata: seconds, whatever the table's size.
	Instant Algorithm = iota
	// Inplace works inside the storage engine and lets writes go on (LOCK=NONE). It may still
	// rebuild the table, which takes as long as a copy; ClauseReport.Rebuild says so.
	Inplace
	// InplaceLocking works in place but blocks writes for its whole duration (LOCK=SHARED).
	InplaceLocking
	// Copy copies the table row by row and blocks writes for the whole copy.
	Copy
)

var algorithmNames = [...]string{"instant", "inplace", "inplace-locking", "copy"}

func (a Algorithm) String() string {
	if a < 0 || int(a) >= len(algorithmNames) {
		return fmt.Sprintf("algorithm(%d)", int(a))
	}
	return algorithmNames[a]
}

// MarshalText makes an Algorithm a JSON string.
func (a Algorithm) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// describe says what the algorithm means for the application, for the text report.
func (a Algorithm) describe() string {
	switch a {
	case Instant:
		return "INSTANT: metadata only, seconds"
	case Inplace:
		return "INPLACE: writes go on while it runs"
	case InplaceLocking:
		return "INPLACE, but blocks writes while it runs"
	default:
		return "COPY: blocks writes for the whole copy"
	}
}

// Risk is what a clause may do to data or to the application, from harmless to forbidden.
type Risk int

const (
	Safe Risk = iota
	// NeedsCare: the change keeps the data but can break the application or fail on some data.
	NeedsCare
	// DataLoss: the change can destroy data that exists now.
	DataLoss
	// Refused: doppel will not run it.
	Refused
)

var riskNames = [...]string{"safe", "needs-care", "data-loss", "refused"}

func (r Risk) String() string {
	if r < 0 || int(r) >= len(riskNames) {
		return fmt.Sprintf("risk(%d)", int(r))
	}
	return riskNames[r]
}

// MarshalText makes a Risk a JSON string.
func (r Risk) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r Risk) label() string { return strings.ReplaceAll(r.String(), "-", " ") }

// Verdict is the plan's answer for the ALTER as a whole; it is also the exit code.
type Verdict int

const (
	VerdictSafe      Verdict = 0
	VerdictNeedsCare Verdict = 1
	VerdictRefused   Verdict = 2
)

var verdictNames = [...]string{"safe", "needs-care", "refused"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// MarshalText makes a Verdict a JSON string.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Order is when the schema change must ship relative to the application code that uses it.
type Order int

const (
	// AnyOrder: the application cannot tell the difference.
	AnyOrder Order = iota
	// MigrationFirst: additive; old code keeps working, new code needs it.
	MigrationFirst
	// CodeFirst: old code would break; ship code that no longer depends on what goes away first.
	CodeFirst
	// ExpandContract: neither order is safe; split the change into phases.
	ExpandContract
)

var orderNames = [...]string{"any", "migration-first", "code-first", "expand-contract"}

func (o Order) String() string {
	if o < 0 || int(o) >= len(orderNames) {
		return fmt.Sprintf("order(%d)", int(o))
	}
	return orderNames[o]
}

// MarshalText makes an Order a JSON string.
func (o Order) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

func (o Order) describe() string {
	switch o {
	case AnyOrder:
		return "either order"
	case MigrationFirst:
		return "migration before code"
	case CodeFirst:
		return "code before migration"
	default:
		return "expand-contract, in phases"
	}
}

// The table as it is before the ALTER is a table.Table, as table.Inspect reads it. These look it up
// the way the classifier asks.

// position returns where the column named name is in the table, or -1.
func position(t *table.Table, name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

func primaryKey(t *table.Table) *table.Index {
	for i := range t.Indexes {
		if t.Indexes[i].IsPrimary() {
			return &t.Indexes[i]
		}
	}
	return nil
}

// indexed reports whether some index uses the column.
func indexed(t *table.Table, column string) bool {
	for _, ix := range t.Indexes {
		for _, c := range ix.Columns {
			if strings.EqualFold(c.Name, column) {
				return true
			}
		}
	}
	return false
}

func hasFulltext(t *table.Table) bool {
	for _, ix := range t.Indexes {
		if strings.EqualFold(ix.Kind, "FULLTEXT") {
			return true
		}
	}
	return false
}

// isVirtual reports whether col is a VIRTUAL generated column.
func isVirtual(col *table.Column) bool { return col.Generated && !col.Stored }

// tableCharset is the table's default character set, the one its collation belongs to.
func tableCharset(t *table.Table) string { return charsetOfCollation(t.Collation) }
