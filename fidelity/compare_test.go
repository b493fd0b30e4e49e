package fidelity

import (
	"bytes"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// How cellDiffs tells where a differing value is: in a row the copy wrote and no change touched,
// or in a row the scripted changes wrote, which the replay wrote last.
const (
	rowCopied   = "in a row only copied: "
	rowReplayed = "in a row the changes wrote (replayed): "
)

var autoIncrementRE = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// showCreate is SHOW CREATE TABLE without the table's name and AUTO_INCREMENT counter.
func (r *runner) showCreate(db *sql.DB, name string) string {
	r.t.Helper()
	var n, ddl string
	if err := db.QueryRowContext(r.ctx, "SHOW CREATE TABLE "+r.q(name)).Scan(&n, &ddl); err != nil {
		r.t.Fatal(err)
	}
	ddl = strings.Replace(ddl, sqlbuild.QuoteIdent(name), "`<table>`", 1)
	return autoIncrementRE.ReplaceAllString(ddl, "")
}

// definitionDiffs compares the migrated table's definition with the oracle's (natively altered)
// and the replica's, line by line: a differing column line is charged to its cell, any other line
// to the table ("").
func (r *runner) definitionDiffs(l *layout) map[string]string {
	out := map[string]string{}
	owner := l.owner()
	native := r.showCreate(r.primary, l.oracle())
	for _, side := range []struct {
		what string
		db   *sql.DB
	}{{"doppel", r.primary}, {"the replica", r.replica}} {
		got := r.showCreate(side.db, l.name)
		if got == native {
			continue
		}
		gl, nl := strings.Split(got, "\n"), strings.Split(native, "\n")
		for i := 0; i < max(len(gl), len(nl)); i++ {
			g, n := line(gl, i), line(nl, i)
			if g == n {
				continue
			}
			who := ""
			if name, ok := columnOfLine(n); ok {
				who = owner[name]
			}
			if out[who] == "" {
				out[who] = fmt.Sprintf("%s has %q, the native ALTER %q", side.what, strings.TrimSpace(g), strings.TrimSpace(n))
			}
		}
	}
	return out
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

var columnLineRE = regexp.MustCompile("^  `((?:[^`]|``)+)` ")

func columnOfLine(s string) (string, bool) {
	m := columnLineRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return strings.ReplaceAll(m[1], "``", "`"), true
}

// rowSet is a table's rows by the bytes of their key, each row's values in l.allColumns() order.
type rowSet map[string][][]byte

func (r *runner) readRows(db *sql.DB, tbl string, cols []string) rowSet {
	r.t.Helper()
	rows, err := db.QueryContext(r.ctx, "SELECT "+sqlbuild.QuoteIdents(cols)+" FROM "+r.q(tbl))
	if err != nil {
		r.t.Fatalf("reading %s: %v", tbl, err)
	}
	defer rows.Close()
	out := rowSet{}
	for rows.Next() {
		vals := make([][]byte, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			r.t.Fatalf("reading %s: %v", tbl, err)
		}
		out[string(vals[0])] = vals
	}
	if err := rows.Err(); err != nil {
		r.t.Fatalf("reading %s: %v", tbl, err)
	}
	return out
}

// cellDiffs compares table a (doppel's) with table b (the reference) byte for byte, values read
// as stored (doppel's sessions read with character_set_results=binary and time_zone +00:00). The
// first differing value of each cell is described under its column, and where touched (the keys
// the scripted changes wrote) is given, the first in a row only copied and the first in a row the
// replay wrote; rows in one table and not in the other are described under "".
func (r *runner) cellDiffs(l *layout, dbA *sql.DB, a string, dbB *sql.DB, b string, touched map[string]bool) map[string]string {
	cols := l.allColumns()
	owner := l.owner()
	ra, rb := r.readRows(dbA, a, cols), r.readRows(dbB, b, cols)
	var keys []string
	for k := range ra {
		keys = append(keys, k)
	}
	for k := range rb {
		if _, ok := ra[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var missing, extra []string
	type firsts struct{ copied, replayed, any string }
	diffs := map[string]*firsts{}
	for _, k := range keys {
		va, okA := ra[k]
		vb, okB := rb[k]
		switch {
		case !okA:
			missing = append(missing, show([]byte(k)))
			continue
		case !okB:
			extra = append(extra, show([]byte(k)))
			continue
		}
		for i, name := range cols {
			if sameValue(va[i], vb[i]) {
				continue
			}
			f := diffs[owner[name]]
			if f == nil {
				f = &firsts{}
				diffs[owner[name]] = f
			}
			d := fmt.Sprintf("%s=%s: %s is %s, the native ALTER's %s", l.key, show([]byte(k)), name, show(va[i]), show(vb[i]))
			switch {
			case touched == nil:
				if f.any == "" {
					f.any = d
				}
			case touched[k]:
				if f.replayed == "" {
					f.replayed = rowReplayed + d
				}
			case f.copied == "":
				f.copied = rowCopied + d
			}
		}
	}
	out := map[string]string{}
	for who, f := range diffs {
		var parts []string
		for _, p := range []string{f.copied, f.replayed, f.any} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		out[who] = strings.Join(parts, "; ")
	}
	var rows []string
	if len(missing) > 0 {
		rows = append(rows, fmt.Sprintf("%d rows missing (%s %s)", len(missing), l.key, strings.Join(first(missing, 5), ", ")))
	}
	if len(extra) > 0 {
		rows = append(rows, fmt.Sprintf("%d rows too many (%s %s)", len(extra), l.key, strings.Join(first(extra, 5), ", ")))
	}
	if len(rows) > 0 {
		out[""] = strings.Join(rows, "; ")
	}
	return out
}

// touchedKeys are the keys, as stored, of the rows the scripted changes wrote: the key expressions
// of l.touched() written, in the session the changes ran in, to a scratch table with a column of the
// key's type, and read back like the tables compared.
func (r *runner) touchedKeys(l *layout) map[string]bool {
	r.t.Helper()
	conn := r.session(true)
	defer conn.Close()
	const scratch = "_fidelity_touched"
	keyType := "INT"
	if l.keyed {
		keyType = l.src.typ
	}
	stmts := []string{"DROP TABLE IF EXISTS " + r.q(scratch), "CREATE TABLE " + r.q(scratch) + " (k " + keyType + " NOT NULL PRIMARY KEY)"}
	for _, k := range l.touched() {
		stmts = append(stmts, "INSERT IGNORE INTO "+r.q(scratch)+" VALUES ("+k+")")
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(r.ctx, s); err != nil {
			r.t.Fatalf("%s: %v", shortSQL(s), err)
		}
	}
	keys := r.readRows(r.primary, scratch, []string{"k"})
	sandbox.MustExec(r.t, r.primary, "DROP TABLE "+r.q(scratch))
	out := map[string]bool{}
	for k := range keys {
		out[k] = true
	}
	return out
}

// diff is every difference between two tables of l's layout, in one line; "" when they are equal.
func (r *runner) diff(l *layout, dbA *sql.DB, a string, dbB *sql.DB, b string) string {
	d := r.cellDiffs(l, dbA, a, dbB, b, nil)
	var parts []string
	for who, s := range d {
		parts = append(parts, strings.TrimSpace(who+" "+s))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func sameValue(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}

// show renders a value for a report: NULL, or its bytes in hex, with the text beside it when it is
// printable; long values are cut.
func show(b []byte) string {
	if b == nil {
		return "NULL"
	}
	const keep = 24
	cut := b
	suffix := ""
	if len(b) > keep {
		cut, suffix = b[:keep], fmt.Sprintf("…(%d bytes)", len(b))
	}
	s := fmt.Sprintf("0x%X%s", cut, suffix)
	if len(b) == 0 {
		s = "''"
	} else if utf8.Valid(cut) && strings.IndexFunc(string(cut), func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		s += fmt.Sprintf(" (%q%s)", cut, suffix)
	}
	return s
}

// TestCompareFindsDifferences: the comparison the matrix relies on sees a changed value (charged to
// its cell, in hex), a changed generated value, a missing and an extra row, and a changed
// definition.
func TestCompareFindsDifferences(t *testing.T) {
	src := &source{name: "self", typ: "VARCHAR(10)", values: []string{"'a'", "NULL"}, targets: []string{"TEXT", "CHAR(5)"}, generated: true}
	r := newRunner(t, src)
	l := newLayout(src, false)
	r.rebuild(l)
	if d := r.diff(l, r.primary, l.name, r.primary, l.oracle()); d != "" {
		t.Fatalf("a table and its fresh oracle differ: %s", d)
	}
	sandbox.MustExec(t, r.primary,
		"UPDATE t SET c01_char_5 = 'b' WHERE id = 3",
		"DELETE FROM t WHERE id = 4",
		"UPDATE t SET id = 99 WHERE id = 5",
		"ALTER TABLE t MODIFY c00_text VARCHAR(20)")
	r.waitReplica()
	d := r.cellDiffs(l, r.primary, l.name, r.primary, l.oracle(), map[string]bool{"1": true})
	for who, want := range map[string]string{
		"c01_char_5": `in a row only copied: id=0x33 ("3"): c01_char_5 is 0x62 ("b"), the native ALTER's 0x61 ("a")`,
		"":           `2 rows missing (id 0x34 ("4"), 0x35 ("5")); 1 rows too many (id 0x3939 ("99"))`,
	} {
		if !strings.Contains(d[who], want) {
			t.Errorf("difference of %q is %q, want it to contain %q", who, d[who], want)
		}
	}
	defs := r.definitionDiffs(l)
	if !strings.Contains(defs["c00_text"], "varchar(20)") {
		t.Errorf("the changed definition is not charged to its cell: %q", defs)
	}
}
