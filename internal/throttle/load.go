package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/doppel-sql/doppel/internal/spell"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
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
// digits, underscores), every N a whole number >= 1 (a variable is always at a limit of 0), and no
// name appears twice. An empty string is no limit. Errors say which part is wrong. Whether the
// server has the variables is checkStatus's question.
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
			return nil, fmt.Errorf("%q: %q is not a whole number >= 1", part, num)
		}
		if limit == 0 {
			return nil, fmt.Errorf("%q: a limit of 0 is always reached (the limit is reached when the value is >= it): use 1 or more", part)
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

// checkStatus checks on the server db points at that every variable l names is a global status
// variable holding a number, so that a misspelt name is refused up front instead of throttling
// for ever once the ghost table exists. flag names the setting in the error.
func checkStatus(ctx context.Context, db *sql.DB, flag string, l Load) error {
	if len(l) == 0 {
		return nil
	}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS")
	if err != nil {
		return fmt.Errorf("%s: reading the primary's status variables: %w", flag, err)
	}
	defer rows.Close()
	status := map[string]string{} // lower-cased name: value
	var names []string
	for rows.Next() {
		var name, value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			return fmt.Errorf("%s: reading the primary's status variables: %w", flag, err)
		}
		status[strings.ToLower(name.String)] = value.String
		names = append(names, name.String)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: reading the primary's status variables: %w", flag, err)
	}
	var errs []error
	for _, th := range l {
		value, ok := status[strings.ToLower(th.Name)]
		switch {
		case !ok:
			hint := "SHOW GLOBAL STATUS lists the names the server has, e.g. Threads_running"
			if near := spell.Nearest(th.Name, names, 2); near != "" {
				hint = "did you mean " + near + "? " + hint
			}
			errs = append(errs, fmt.Errorf("%s: the primary has no status variable %s (%s)", flag, th.Name, hint))
		default:
			if _, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
				errs = append(errs, fmt.Errorf("%s: the status variable %s holds %q, not a number: name one that counts, e.g. Threads_running", flag, th.Name, value))
			}
		}
	}
	return errors.Join(errs...)
}
