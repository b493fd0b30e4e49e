package alter

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// canonical rewrites text as the server reads it: an executable comment that runs on srv is replaced
// by its content, every other comment by a space. The result holds no comment at all, so what the
// parser checks is what the server runs, on every server the statement reaches (a replica of another
// version included).
//
// The rules are the servers' own lexers (sql_lex.cc):
//   - "/*!" runs its content on MySQL and MariaDB; "/*!NNNNN" only when the server's version, written
//     MMmmpp without leading zeros, is at least NNNNN. MySQL reads five digits, and from 8.1 six when
//     a white-space character follows them; MariaDB reads six when there is a sixth, and ignores
//     versions 50700 to 99999 (MySQL 5.7 to 9.9) in "/*!", though not in "/*M!".
//   - "/*M!" and "/*M!NNNNNN" are the same for MariaDB only; MySQL reads a plain comment.
//   - A versioned comment that does not run may hold one plain comment; a plain comment ends at the
//     first "*/". "/*+" (optimizer hints) is a plain comment in an ALTER.
//   - "#" and "-- " (two dashes, then a space, a control character or the end) run to the end of
//     the line, inside an executable comment too.
//   - '…' and "…" are strings, with backslash escapes and doubled quotes (doppel's sessions use
//     neither ANSI_QUOTES nor NO_BACKSLASH_ESCAPES); `…` is a name, with doubled backticks. MySQL 9's
//     dollar-quoted strings are refused.
func canonical(text string, srv *Server) (string, error) {
	if !utf8.ValidString(text) {
		return "", errors.New("--alter is not valid UTF-8")
	}
	if strings.IndexByte(text, 0) >= 0 {
		return "", errors.New("--alter holds a NUL character")
	}
	var out []byte
	// removed separates what a comment ending before text[next] separated, with one blank at most.
	removed := func(next int) {
		for len(out) > 0 && isSpace(out[len(out)-1]) {
			out = out[:len(out)-1]
		}
		if len(out) > 0 && next < len(text) && !isSpace(text[next]) {
			out = append(out, ' ')
		}
	}
	inExec := false // inside an executable comment that runs
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end, err := quoted(text, i)
			if err != nil {
				return "", err
			}
			out = append(out, text[i:end]...)
			i = end
		case c == '#' || (c == '-' && strings.HasPrefix(text[i:], "--") && (i+2 == len(text) || isControlOrSpace(text[i+2]))):
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(text)
			}
			removed(i)
		case c == '*' && inExec && strings.HasPrefix(text[i:], "*/"):
			inExec = false
			i += 2
			removed(i)
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			start := i
			marker, runs, ok := executable(text[i:], srv)
			if !ok {
				end := commentEnd(text, i+2, false)
				if end < 0 {
					return "", unterminated(text, start)
				}
				i = end
				removed(i)
				continue
			}
			if inExec {
				return "", fmt.Errorf("--alter nests an executable comment in another (at %q): the servers disagree on what that runs; write it without the inner one", excerpt(text, start))
			}
			if runs {
				inExec = true
				i += marker
				removed(i)
				continue
			}
			end := commentEnd(text, i+marker, true)
			if end < 0 {
				return "", unterminated(text, start)
			}
			i = end
			removed(i)
		case c == '$' && !srv.MariaDB && srv.Version >= 90000 && (i == 0 || !isIdentChar(text[i-1])):
			// MySQL 9 reads $tag$…$tag$ as a string, in which a comment is text.
			return "", fmt.Errorf("--alter has a word starting with $ (at %q), which MySQL 9 may read as a dollar-quoted string: quote strings with ' and names with backticks", excerpt(text, i))
		default:
			out = append(out, c)
			i++
		}
	}
	if inExec {
		return "", errors.New("--alter opens an executable comment (/*! …) that never ends: the server refuses it; close it with */")
	}
	return strings.TrimSpace(string(out)), nil
}

// executable reports whether s, which starts with "/*", opens an executable comment on srv: then
// marker is the length of its opening ("/*!", "/*M!", with the version if any) and runs whether srv
// runs its content.
func executable(s string, srv *Server) (marker int, runs, ok bool) {
	mariaMarker := srv.MariaDB && strings.HasPrefix(s, "/*M!")
	switch {
	case mariaMarker:
		marker = 4
	case strings.HasPrefix(s, "/*!"):
		marker = 3
	default:
		return 0, false, false
	}
	digits := 0
	for digits < 6 && marker+digits < len(s) && isDigit(s[marker+digits]) {
		digits++
	}
	if digits < 5 {
		return marker, true, true // no version: the content runs
	}
	n := 5
	if digits == 6 {
		if srv.MariaDB {
			n = 6
		} else if srv.Version >= 80100 && marker+6 < len(s) && isSpace(s[marker+6]) {
			n = 6
		}
	}
	version := 0
	for _, d := range s[marker : marker+n] {
		version = version*10 + int(d-'0')
	}
	runs = version <= srv.Version
	if srv.MariaDB && !mariaMarker && version >= 50700 && version <= 99999 {
		runs = false // MariaDB leaves MySQL 5.7+ syntax alone
	}
	return marker + n, runs, true
}

// commentEnd returns the index just past the "*/" that closes the comment whose content starts at i,
// or -1 when there is none. A versioned comment that does not run may hold one plain comment (nest).
func commentEnd(s string, i int, nest bool) int {
	for i < len(s) {
		switch {
		case nest && strings.HasPrefix(s[i:], "/*"):
			if i = commentEnd(s, i+2, false); i < 0 {
				return -1
			}
		case strings.HasPrefix(s[i:], "*/"):
			return i + 2
		default:
			i++
		}
	}
	return -1
}

// quoted returns the index just past the string or quoted name that starts at i.
func quoted(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++ // the escaped character, whatever it is
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	what := "string"
	if q == '`' {
		what = "quoted name"
	}
	return 0, fmt.Errorf("--alter has a %s that never ends (at %q): close it with %c", what, excerpt(s, i), q)
}

func unterminated(s string, i int) error {
	return fmt.Errorf("--alter has a comment that never ends (at %q): the server refuses it; close it with */", excerpt(s, i))
}

// excerpt is the start of s at i, for messages.
func excerpt(s string, i int) string {
	s = s[i:]
	if len(s) > 30 {
		n := 30
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is the servers' white space: space, tab, newline, vertical tab, form feed, carriage return.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func isControlOrSpace(c byte) bool { return c <= ' ' || c == 0x7f }
