// Package sqlbuild builds the SQL text doppel sends. It is pure: no I/O, table-driven tests.
// Every identifier goes through QuoteIdent, so names holding backticks, spaces, reserved words or
// non-ASCII characters are written correctly.
package sqlbuild

import "strings"

// QuoteIdent quotes a MySQL identifier: wrapped in backticks, embedded backticks doubled.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QualifiedName returns `db`.`table`.
func QualifiedName(database, table string) string {
	return QuoteIdent(database) + "." + QuoteIdent(table)
}

// QuoteIdents quotes each name and joins them with ", ".
func QuoteIdents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = QuoteIdent(n)
	}
	return strings.Join(q, ", ")
}

// IsWord reports whether s is a non-empty run of ASCII letters, digits and underscores, as character
// set and collation names are. Those are written into SQL unquoted, so anything else is refused.
func IsWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// QuoteString returns s as a single-quoted SQL string literal, for the few places that take no
// placeholder (a DDL comment, CHANGE MASTER). Backslashes, quotes and control bytes are escaped.
func QuoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}
