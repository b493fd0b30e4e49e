package fit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Check is one enforced CHECK constraint of a table, as the server prints it.
type Check struct {
	// Name is the constraint's name; MariaDB names a column-level check after its column.
	Name string
	// Expr is the condition, as SHOW CREATE TABLE prints it.
	Expr string
	// Columns are the columns the condition reads: the backquoted names in it (the server quotes
	// every column reference, and nothing else, with backquotes).
	Columns []string
}

// querier is a *sql.DB or the *sql.Conn of the session that sees a temporary table.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ReadChecks reads the enforced CHECK constraints of schema.name from SHOW CREATE TABLE, which shows
// temporary tables too (information_schema.CHECK_CONSTRAINTS does not) and prints them the same way
// on MySQL 8.0.16+ and MariaDB 10.2+. Older servers have none.
func ReadChecks(ctx context.Context, q querier, schema, name string) ([]Check, error) {
	var tbl, ddl string
	if err := q.QueryRowContext(ctx, "SHOW CREATE TABLE "+sqlbuild.QualifiedName(schema, name)).Scan(&tbl, &ddl); err != nil {
		return nil, fmt.Errorf("reading the CHECK constraints of %s: %w", name, err)
	}
	checks, err := parseChecks(ddl)
	if err != nil {
		return nil, fmt.Errorf("reading the CHECK constraints of %s: %w", name, err)
	}
	return checks, nil
}

// parseChecks finds the CHECK constraints in the text of SHOW CREATE TABLE: table-level ones
// (CONSTRAINT `name` CHECK (…)) and MariaDB's column-level ones (`col` type … CHECK (…)). MySQL's
// NOT ENFORCED constraints (printed with a /*!80016 NOT ENFORCED */ comment) are left out: the server
// does not check them. This is a tokenizer, not a parser: it only tells quotes, backquotes, comments
// and parentheses apart, which is all finding the constraints takes, and it accepts every type,
// collation and option either server prints.
func parseChecks(ddl string) ([]Check, error) {
	toks, err := tokenize(ddl)
	if err != nil {
		return nil, err
	}
	// The definitions are the comma-separated items of the first parenthesis.
	start := -1
	for i, t := range toks {
		if t.kind == punct && t.text == "(" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no column list in %q", truncate(ddl))
	}
	var checks []Check
	depth := 0
	item := start
	for i := start; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == punct && t.text == "(":
			depth++
		case t.kind == punct && t.text == ")" && depth > 0:
			depth--
		case t.kind == punct && (t.text == "," || t.text == ")") && depth == 0:
			c, ok, err := itemCheck(ddl, toks[item:i])
			if err != nil {
				return nil, err
			}
			if ok {
				checks = append(checks, c)
			}
			if t.text == ")" {
				return checks, nil
			}
			item = i + 1
		}
	}
	return nil, fmt.Errorf("unbalanced parentheses in %q", truncate(ddl))
}

// itemCheck returns the CHECK constraint of one definition, if it has one.
func itemCheck(ddl string, toks []token) (Check, bool, error) {
	if len(toks) == 0 {
		return Check{}, false, nil
	}
	var c Check
	switch {
	case toks[0].isWord("CONSTRAINT") && len(toks) > 1 && toks[1].kind == ident:
		c.Name = toks[1].text
	case toks[0].kind == ident:
		c.Name = toks[0].text
	default:
		return Check{}, false, nil
	}
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == punct && t.text == "(":
			depth++
		case t.kind == punct && t.text == ")":
			depth--
		case depth == 0 && t.isWord("CHECK") && i+1 < len(toks) && toks[i+1].kind == punct && toks[i+1].text == "(":
			end, err := closing(toks, i+1)
			if err != nil {
				return Check{}, false, err
			}
			c.Expr = strings.TrimSpace(ddl[toks[i+1].end:toks[end].start])
			for _, in := range toks[i+2 : end] {
				if in.kind == ident && !containsFold(c.Columns, in.text) {
					c.Columns = append(c.Columns, in.text)
				}
			}
			if end+1 < len(toks) && toks[end+1].kind == comment && strings.Contains(strings.ToUpper(toks[end+1].text), "NOT ENFORCED") {
				return Check{}, false, nil
			}
			return c, true, nil
		}
	}
	return Check{}, false, nil
}

// closing returns the index of the parenthesis that closes the one at open.
func closing(toks []token, open int) (int, error) {
	depth := 0
	for i := open; i < len(toks); i++ {
		if toks[i].kind != punct {
			continue
		}
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced parentheses in a CHECK constraint")
}

type tokenKind int

const (
	word tokenKind = iota
	ident
	str
	comment
	punct
)

type token struct {
	kind       tokenKind
	text       string // an identifier unquoted; a comment with its delimiters
	start, end int    // byte offsets in the text
}

func (t token) isWord(w string) bool { return t.kind == word && strings.EqualFold(t.text, w) }

// tokenize splits SQL text into words, backquoted identifiers, strings, comments and single
// punctuation characters. Strings may use backslash escapes (as SHOW CREATE TABLE prints them) or
// doubled quotes.
func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '`':
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated identifier in %q", truncate(s))
				}
				if s[j] == '`' {
					if j+1 < len(s) && s[j+1] == '`' {
						b.WriteByte('`')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			out = append(out, token{kind: ident, text: b.String(), start: i, end: j + 1})
			i = j + 1
		case c == '\'' || c == '"':
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string in %q", truncate(s))
				}
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			out = append(out, token{kind: str, text: s[i : j+1], start: i, end: j + 1})
			i = j + 1
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("unterminated comment in %q", truncate(s))
			}
			end := i + 2 + j + 2
			out = append(out, token{kind: comment, text: s[i:end], start: i, end: end})
			i = end
		case c == '#' || c == '-' && i+2 < len(s) && s[i+1] == '-' && (s[i+2] == ' ' || s[i+2] == '\t'):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			out = append(out, token{kind: comment, text: s[i : i+j], start: i, end: i + j})
			i += j
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, token{kind: word, text: s[i:j], start: i, end: j})
			i = j
		default:
			out = append(out, token{kind: punct, text: s[i : i+1], start: i, end: i + 1})
			i++
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
