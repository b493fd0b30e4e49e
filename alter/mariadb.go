package alter

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// forParser rewrites MariaDB syntax the TiDB parser does not read into syntax it reads, token by
// token, for the parser's eyes only: doppel runs the clause as the user wrote it (canonical), and
// what it learns from the parse (renames, drops, refusals) does not depend on what is rewritten.
// What the ALTER does to the columns is read from the server's own result (the probe and the
// ghost). It refuses what a ghost copy cannot carry.
//
//   - the column attributes INVISIBLE (MySQL 8.0.23+ too) and COMPRESSED, the index attributes
//     IGNORED and NOT IGNORED, and REF_SYSTEM_ID=n are left out;
//   - the types INET4, INET6 and UUID are read as BINARY(4), BINARY(16) and BINARY(16) (UUID() as a
//     function stays);
//   - PERSISTENT (a STORED generated column) is read as STORED;
//   - an expression DEFAULT (…) is read as DEFAULT NULL;
//   - SYSTEM VERSIONING is refused: a system-versioned table keeps the history of its rows with the
//     times they changed, which a copy would rewrite.
func forParser(s string) (string, error) {
	toks := tokenize(s)
	var b strings.Builder
	last := 0                    // s[:last] is written
	skip := func(from, to int) { // leave out s[from:to]
		b.WriteString(s[last:from])
		last = to
	}
	replace := func(from, to int, with string) {
		b.WriteString(s[last:from])
		b.WriteString(with)
		last = to
	}
	prevIs := func(i int, c byte) bool { return i > 0 && toks[i-1].kind == punct && s[toks[i-1].start] == c }
	nextIs := func(i int, c byte) bool { return i+1 < len(toks) && toks[i+1].kind == punct && s[toks[i+1].start] == c }
	// A word right after these is a name, whatever it spells.
	nameAfter := map[string]bool{"ADD": true, "COLUMN": true, "MODIFY": true, "CHANGE": true, "DROP": true, "AFTER": true,
		"RENAME": true, "TO": true, "INDEX": true, "KEY": true, "CONSTRAINT": true, "EXISTS": true}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != word {
			continue
		}
		// SPATIAL INDEX: the parser has no spatial indexes; an index it is, for what doppel reads.
		if t.isWord(s, "SPATIAL") && i+1 < len(toks) && (toks[i+1].isWord(s, "INDEX") || toks[i+1].isWord(s, "KEY")) {
			skip(t.start, toks[i+1].start)
			continue
		}
		if i > 0 && (toks[i-1].kind == word && nameAfter[strings.ToUpper(s[toks[i-1].start:toks[i-1].end])] || prevIs(i, '(') || prevIs(i, ',')) {
			continue
		}
		w := strings.ToUpper(s[t.start:t.end])
		switch {
		case w == "VERSIONING" && i > 0 && toks[i-1].isWord(s, "SYSTEM"):
			return "", fmt.Errorf("--alter changes SYSTEM VERSIONING: a system-versioned table keeps the history of its rows with the times they changed, which a copy into a ghost table would rewrite. Run it natively")
		case (w == "INVISIBLE" || w == "COMPRESSED") && !prevIs(i, '='):
			skip(t.start, t.end)
		case w == "IGNORED":
			from := t.start
			if i > 0 && toks[i-1].isWord(s, "NOT") {
				from = toks[i-1].start
			}
			skip(from, t.end)
		case w == "REF_SYSTEM_ID" && nextIs(i, '=') && i+2 < len(toks):
			skip(t.start, toks[i+2].end)
			i += 2
		case (w == "INET6" || w == "UUID") && !nextIs(i, '(') && !prevIs(i, '.'):
			replace(t.start, t.end, "BINARY(16)")
		case w == "INET4" && !nextIs(i, '(') && !prevIs(i, '.'):
			replace(t.start, t.end, "BINARY(4)")
		case spatialTypes[w] && !nextIs(i, '(') && !prevIs(i, '.'):
			// The parser has no spatial types; doppel reads the column's type from the table.
			replace(t.start, t.end, "LONGBLOB")
		case w == "PERSISTENT":
			replace(t.start, t.end, "STORED")
		case w == "DEFAULT" && nextIs(i, '('):
			end := closing(s, toks, i+1)
			if end < 0 {
				continue // unbalanced: the parser says so
			}
			replace(t.start, toks[end].end, "DEFAULT NULL")
			i = end
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// spatialTypes are the geometry types, which MySQL and MariaDB share and the parser lacks.
var spatialTypes = map[string]bool{"GEOMETRY": true, "POINT": true, "LINESTRING": true, "POLYGON": true,
	"MULTIPOINT": true, "MULTILINESTRING": true, "MULTIPOLYGON": true, "GEOMETRYCOLLECTION": true}

// closing returns the index of the token that closes the parenthesis opened by toks[open].
func closing(s string, toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		if toks[i].kind != punct {
			continue
		}
		switch s[toks[i].start] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// ParseLogged parses a statement the binary log holds, as srv ran it: its executable comments
// expanded by srv's rules, MariaDB syntax read as forParser reads it. A statement that still does not
// parse returns the parser's error.
func ParseLogged(query string, srv *Server) ([]ast.StmtNode, error) {
	canon, err := canonical(query, srv)
	if err != nil {
		return nil, err
	}
	stmts, err := parseLocked(canon, srv)
	if err == nil {
		return stmts, nil
	}
	rewritten, rerr := forParser(canon)
	if rerr != nil || rewritten == canon {
		return nil, err
	}
	return parseLocked(rewritten, srv)
}

// Mentions reports whether query names table (as a bare or quoted name, with or without a schema),
// for a statement that cannot be parsed: one that might touch the table is then not ignored.
func Mentions(query, table string, srv *Server) bool {
	canon, err := canonical(query, srv)
	if err != nil {
		canon = query
	}
	for _, t := range tokenize(canon) {
		if name, ok := t.ident(canon); ok {
			if name == table || !srv.TableNamesCaseSensitive && strings.EqualFold(name, table) {
				return true
			}
		}
	}
	return false
}
