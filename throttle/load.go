package throttle

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/doppel-sql/doppel/sqlbuild"
)

// Threshold is one "Name=N" of --max-load or --critical-load: the status variable Name reaching N
// (value >= N) trips the limit.
type Threshold struct {
	Name  string
	Limit int64
}

// Load is a parsed --max-load or --critical-load list. The zero value sets no limit.
type Load []Threshold

// ParseLoad parses "Name=N[,Name=N...]" strictly: every name is a status variable name (letters,
// digits, underscores), every N a whole number >= 0, and no name appears twice. An empty string is
// no limit. Errors say which part is wrong.
func ParseLoad(s string) (Load, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var l Load
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, num, ok := strings.Cut(part, "=")
		name, num = strings.TrimSpace(name), strings.TrimSpace(num)
		switch {
		case part == "":
			return nil, fmt.Errorf("%q has an empty entry: write Name=N,Name=N", s)
		case !ok:
			return nil, fmt.Errorf("%q: want Name=N, e.g. Threads_running=25", part)
		case !sqlbuild.IsWord(name):
			return nil, fmt.Errorf("%q: %q is not a status variable name (letters, digits and _ only)", part, name)
		}
		limit, err := strconv.ParseInt(num, 10, 64)
		if err != nil || limit < 0 {
			return nil, fmt.Errorf("%q: %q is not a whole number >= 0", part, num)
		}
		key := strings.ToLower(name)
		if seen[key] {
			return nil, fmt.Errorf("%q names %s twice", s, name)
		}
		seen[key] = true
		l = append(l, Threshold{Name: name, Limit: limit})
	}
	return l, nil
}

// String is the list in the form ParseLoad reads.
func (l Load) String() string {
	parts := make([]string, len(l))
	for i, th := range l {
		parts[i] = th.Name + "=" + strconv.FormatInt(th.Limit, 10)
	}
	return strings.Join(parts, ",")
}

// exceeded returns a description of the first threshold that values reach, or "" when none does.
// values is keyed by lower-cased variable name; a variable the server does not have is reported,
// because a limit that cannot be evaluated must not be taken as met silently.
func (l Load) exceeded(values map[string]float64) (hit string, missing string) {
	for _, th := range l {
		v, ok := values[strings.ToLower(th.Name)]
		if !ok {
			return "", th.Name
		}
		if v >= float64(th.Limit) {
			return fmt.Sprintf("%s=%s >= %d", th.Name, strconv.FormatFloat(v, 'f', -1, 64), th.Limit), ""
		}
	}
	return "", ""
}

// readStatus reads the named global status variables of the server db points at, keyed by
// lower-cased name. Names come from ParseLoad, so they are plain identifiers.
func readStatus(ctx context.Context, db *sql.DB, names []string) (map[string]float64, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = sqlbuild.QuoteString(n)
	}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ("+strings.Join(quoted, ", ")+")")
	if err != nil {
		return nil, fmt.Errorf("reading status variables: %w", err)
	}
	defer rows.Close()
	values := map[string]float64{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("reading status variables: %w", err)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("status variable %s is not a number (%q)", name, value)
		}
		values[strings.ToLower(name)] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading status variables: %w", err)
	}
	return values, nil
}
