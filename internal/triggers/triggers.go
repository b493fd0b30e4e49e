// Package triggers reads a table's triggers as the server holds them and moves them to the table
// that takes its place in the cut-over, keeping each one exactly: its name, definer, sql_mode,
// character set and collation, timing, event, order and body.
//
// # How a trigger moves
//
//  1. Read (the check): information_schema.TRIGGERS for the metadata and ACTION_ORDER, SHOW CREATE
//     TRIGGER for the statement as it was created, in the bytes of its character_set_client
//     (doppel's sessions read with character_set_results=binary). The body is taken from that
//     statement, never parsed: it is the statement's last CHAR_LENGTH(ACTION_STATEMENT)
//     characters, cut by the server in the statement's own character set.
//  2. Under the cut-over's lock (CreateTwins): each trigger is created on the ghost under a
//     temporary name (TempName: the name and --trigger-suffix), with its definer, sql_mode,
//     character set and collation, FOLLOWS its predecessor, in ACTION_ORDER. Until then the ghost
//     has no trigger: the copy and the replay never fire one (what the original's triggers did to
//     other tables is in the binlog as those tables' own changes). A failed attempt drops them
//     again (DropTwins).
//  3. The RENAME swaps the tables: the original's triggers go with it to the old table, the twins
//     are the new table's. Every write fires exactly one of the two sets.
//  4. After the swap (Restore): the old table's triggers are dropped (nothing writes to the old
//     table), then, in one session holding LOCK TABLES T WRITE, each trigger's original statement
//     is replayed as it was created (same bytes, sql_mode, character_set_client,
//     collation_connection) in ACTION_ORDER, and the twins are dropped. Writers wait for the few
//     statements; none runs between a CREATE and a DROP, so none fires both sets or neither.
//
// A trigger whose body names its own table reads, after the swap, the new table under that name:
// names in a body are resolved each time the trigger runs. Before the swap the twins never run
// (the ghost is not written between their creation and the RENAME).
package triggers

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// MaxNameLen is the longest identifier the servers take, in characters.
const MaxNameLen = 64

// A Trigger is one trigger as the server holds it.
type Trigger struct {
	Name   string
	Table  string
	Timing string // BEFORE or AFTER
	Event  string // INSERT, UPDATE or DELETE
	// Order is ACTION_ORDER: the trigger's place among those of its table, timing and event, from 1.
	Order int
	// Definer is information_schema's DEFINER: user@host, or a role's name.
	Definer             string
	SQLMode             string
	CharsetClient       string
	CollationConnection string
	// Statement is SHOW CREATE TRIGGER's "SQL Original Statement": the bytes it was created with,
	// in CharsetClient.
	Statement []byte
	// Body is the statement's body, in CharsetClient.
	Body []byte
	// Shown is information_schema's ACTION_STATEMENT (in utf8mb3), for Changed.
	Shown []byte
}

// Key identifies what the trigger does besides its name, for comparing two readings.
func (t Trigger) Key() string {
	return strings.Join([]string{t.Name, t.Timing, t.Event, fmt.Sprint(t.Order), t.Definer, t.SQLMode,
		t.CharsetClient, t.CollationConnection, string(t.Shown)}, "\x00")
}

// A Move is a trigger and what it is called on the ghost until the names are restored.
type Move struct {
	Trigger
	// Temp is the twin's name on the ghost (TempName).
	Temp string
	// Twin is the statement creating the twin on the ghost, in CharsetClient.
	Twin []byte
}

// TempName is the name a trigger has on the ghost: name and suffix (gh-ost's --trigger-suffix).
// With removeIfExists (gh-ost's --remove-trigger-suffix-if-exists), a name that already ends with
// the suffix loses it instead, so that a schema whose names alternate between two forms keeps
// working. A name that would exceed MaxNameLen characters is cut, and an 8-digit hash of the
// whole name keeps cut names apart.
func TempName(name, suffix string, removeIfExists bool) string {
	if removeIfExists && strings.HasSuffix(name, suffix) && len(name) > len(suffix) {
		return strings.TrimSuffix(name, suffix)
	}
	if utf8.RuneCountInString(name)+utf8.RuneCountInString(suffix) <= MaxNameLen {
		return name + suffix
	}
	sum := sha256.Sum256([]byte(name))
	tag := "_" + hex.EncodeToString(sum[:4])
	keep := max(0, MaxNameLen-utf8.RuneCountInString(suffix)-len(tag))
	return string([]rune(name)[:keep]) + tag + suffix
}

// Definer writes information_schema's DEFINER as a DEFINER clause's value: `user`@`host`, split at
// the last @ (a user name may hold one, a host name not), or `role`.
func Definer(definer string) string {
	i := strings.LastIndexByte(definer, '@')
	if i < 0 {
		return sqlbuild.QuoteIdent(definer)
	}
	return sqlbuild.QuoteIdent(definer[:i]) + "@" + sqlbuild.QuoteIdent(definer[i+1:])
}

// TwinHeader is the twin's statement up to its body: the trigger as created on schema.table under
// name, after follows when that is not empty.
func TwinHeader(t Trigger, schema, table, name, follows string) string {
	var b strings.Builder
	b.WriteString("CREATE DEFINER=" + Definer(t.Definer) + " TRIGGER " + sqlbuild.QualifiedName(schema, name) + " " +
		t.Timing + " " + t.Event + " ON " + sqlbuild.QualifiedName(schema, table) + " FOR EACH ROW ")
	if follows != "" {
		b.WriteString("FOLLOWS " + sqlbuild.QuoteIdent(follows) + " ")
	}
	return b.String()
}

// Drop drops a trigger if it exists.
func Drop(schema, name string) string {
	return "DROP TRIGGER IF EXISTS " + sqlbuild.QualifiedName(schema, name)
}

// Sorted returns the triggers in the order they are created again: by timing, event and
// ACTION_ORDER, so that each one created last among its timing and event lands where it was.
func Sorted(ts []Trigger) []Trigger {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b Trigger) int {
		if c := strings.Compare(a.Timing, b.Timing); c != 0 {
			return c
		}
		if c := strings.Compare(a.Event, b.Event); c != 0 {
			return c
		}
		return a.Order - b.Order
	})
	return out
}

// Predecessors returns, for each trigger of sorted (Sorted's order), the index of the one it
// follows among those of its timing and event, or -1 for the first.
func Predecessors(sorted []Trigger) []int {
	out := make([]int, len(sorted))
	for i, t := range sorted {
		out[i] = -1
		if i > 0 && sorted[i-1].Timing == t.Timing && sorted[i-1].Event == t.Event {
			out[i] = i - 1
		}
	}
	return out
}

// Plan names the twins of ts on the ghost and checks the names: each must fit, differ from every
// other twin's and be free in the schema (taken: the trigger names the schema holds, other than
// the twins found on the ghost itself, which a run that stopped under the lock left). The twins'
// statements are built without their bodies; Build completes them.
func Plan(ts []Trigger, suffix string, removeIfExists bool, taken map[string]bool) ([]Move, error) {
	sorted := Sorted(ts)
	moves := make([]Move, len(sorted))
	seen := map[string]string{}
	for _, t := range sorted {
		seen[strings.ToLower(t.Name)] = t.Name
	}
	for i, t := range sorted {
		temp := TempName(t.Name, suffix, removeIfExists)
		if temp == "" || temp == t.Name {
			return nil, fmt.Errorf("trigger %s would keep its name on the new table (--trigger-suffix %q): choose another --trigger-suffix", sqlbuild.QuoteIdent(t.Name), suffix)
		}
		lower := strings.ToLower(temp)
		if other, ok := seen[lower]; ok {
			return nil, fmt.Errorf("trigger %s would be called %s on the new table until the swap, which trigger %s already is: choose another --trigger-suffix", sqlbuild.QuoteIdent(t.Name), sqlbuild.QuoteIdent(temp), sqlbuild.QuoteIdent(other))
		}
		if taken[lower] {
			return nil, fmt.Errorf("trigger %s would be called %s on the new table until the swap, and the schema has a trigger of that name on another table: choose another --trigger-suffix", sqlbuild.QuoteIdent(t.Name), sqlbuild.QuoteIdent(temp))
		}
		seen[lower] = t.Name
		moves[i] = Move{Trigger: t, Temp: temp}
	}
	return moves, nil
}

// Querier runs a query: a *sql.DB or *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
