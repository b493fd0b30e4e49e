package fidelity

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
)

type verdict int

const (
	equal     verdict = iota // migrated, and equal to the native ALTER
	refusedOK                // refused up front with the server's reason, nothing created
	wrong                    // differs, failed after it started, or refused wrongly
)

// An outcome is what became of one cell.
type outcome struct {
	cell    *cell
	verdict verdict
	phase   string // where it went wrong: refusal, copy, replay, values, definition, replica
	detail  string
	// converted: doppel's checksum compared the cell's column after the server's own conversion
	// (no SQL expression is known to give the ghost's value).
	converted bool
}

func (o *outcome) fail(format string, args ...any) {
	o.verdict = wrong
	o.detail = fmt.Sprintf(format, args...)
}

func (o *outcome) String() string {
	return fmt.Sprintf("%s → %s [%s]: %s", o.cell.src, o.cell.target, o.phase, o.detail)
}

// sourceResult is what became of one table's cells.
type sourceResult struct {
	label    string
	order    int
	rows     int   // rows of the table at the start
	attempts int   // doppel migrations run for the accepted cells (more when some failed)
	changes  int64 // rows the scripted changes wrote during the migrations that succeeded
	replayed int64 // row changes doppel replayed in them
	outcomes []*outcome
	// unchangedDone: the unchanged column has its outcome.
	unchangedDone bool
}

func (s *sourceResult) add(o *outcome) { s.outcomes = append(s.outcomes, o) }

// summarize logs the matrix's table and fails the test with every wrong cell.
func summarize(t *testing.T, all []*sourceResult) {
	sort.SliceStable(all, func(i, j int) bool { return all[i].order < all[j].order })
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	const row = "%s\t%5d\t%5d\t%7d\t%5d\t%8d\t%4d\t%8d\t%7d\t%8d\n"
	fmt.Fprintln(w, "source\tcells\tequal\trefused\tWRONG\tconverted\trows\tmigrations\tchanges\treplayed")
	var tot sourceResult
	var wrongs []string
	var cells, eq, ref, bad, conv int
	for _, s := range all {
		var e, r, x, u int
		for _, o := range s.outcomes {
			switch o.verdict {
			case equal:
				e++
			case refusedOK:
				r++
			case wrong:
				x++
				wrongs = append(wrongs, o.String())
			}
			if o.converted {
				u++
			}
		}
		fmt.Fprintf(w, row, s.label, len(s.outcomes), e, r, x, u, s.rows, s.attempts, s.changes, s.replayed)
		cells, eq, ref, bad, conv = cells+len(s.outcomes), eq+e, ref+r, bad+x, conv+u
		tot.rows += s.rows
		tot.attempts += s.attempts
		tot.changes += s.changes
		tot.replayed += s.replayed
	}
	fmt.Fprintf(w, row, "total", cells, eq, ref, bad, conv, tot.rows, tot.attempts, tot.changes, tot.replayed)
	_ = w.Flush()
	t.Logf("the matrix (cells: source → target pairs; converted: compared by doppel's checksum after the server's own conversion; rows: at the start of each table; "+
		"migrations: doppel runs of the accepted cells; changes: rows the scripted changes wrote during the copy of the successful ones; replayed: row changes doppel replayed in them):\n%s", b.String())
	if len(wrongs) > 0 {
		t.Errorf("%d of %d cells are WRONG:\n  %s", bad, cells, strings.Join(wrongs, "\n  "))
	}
}

func TestServerReason(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"Error 1264 (22003): Out of range value for column 'c01' at row 1", "Out of range value"},
		{"Error 1406 (22001): Data too long for column 'c19_char_2' at row 1", "Data too long"},
		{"Error 1292 (22007): Incorrect date value: '-128' for column `db`.`t`.`c18_date` at row 1", "Incorrect date value"},
		{"Error 1265 (01000): Data truncated for column 'c25' at row 1", "Data truncated"},
		{"Error 1292 (22007): Truncated incorrect INTEGER value: '0.5'", "Truncated incorrect INTEGER value"},
		{"Error 1366 (22007): Incorrect string value: '\\xF0\\x9F\\x98\\x80' for column `d`.`t`.`c` at row 4", "Incorrect string value"},
		{"Error 1062 (23000): Duplicate entry 'a' for key 'PRIMARY'", "Duplicate entry"},
		{"Error 4025 (23000): CONSTRAINT `t.c` failed for `d`.`t`", "CONSTRAINT"},
	} {
		if got := serverReason(tc.msg); got != tc.want {
			t.Errorf("serverReason(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
