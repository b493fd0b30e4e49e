package control

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Handlers are what the commands do; the migration provides them. Every command but help (which
// this package answers) is bound to the field of its name, and Listen refuses Handlers lacking one.
// They are called concurrently, one call per connection, and must not block for long.
type Handlers struct {
	// Status is the full status: the answer to status and info, and to every change.
	Status func() string
	// Sup is the one-line status.
	Sup func() string

	// Facts, read-only.
	Coordinates, Applier, Inspector func() (string, error)

	ChunkSize, DMLBatchSize, MaxLagMillis              Setting[int64]
	NiceRatio                                          Setting[float64]
	MaxLoad, CriticalLoad, ThrottleQuery, ThrottleHTTP Setting[string]
	ThrottleControlReplicas, PostponeCutOverFlagFile   Setting[string]

	// Actions: each returns what to tell the operator.
	Throttle, NoThrottle, Unpostpone, Panic func() (string, error)
	// Revert and EndRevertWindow act during a revert window (--revert-window): swap the old table
	// back in, or stop replaying into it.
	Revert, EndRevertWindow func() (string, error)
}

// Value is the type of a setting's value, which decides its syntax: a whole number, a finite
// number, or text (one pair of enclosing quotes removed).
type Value interface{ int64 | float64 | string }

// Setting is a value the operator reads with name=? and changes with name=value.
type Setting[T Value] struct {
	Get func() T
	// Set receives a value of the right syntax; ranges are Set's to check. An error is shown to
	// the operator and nothing changes.
	Set func(T) error
}

// Check returns an error naming the first command that has no handler. Listen calls it.
func (h *Handlers) Check() error {
	for _, c := range commands {
		if !c.bind(h).bound() {
			return fmt.Errorf("control: the %s command has no handler", c.name)
		}
	}
	return nil
}

// handler is one command's handler; its type is the command's kind: helpList, report, fact,
// Setting or action.
type handler interface{ bound() bool }

// helpList is help's handler: this package answers it.
type helpList struct{}

// report takes no argument.
type report func() string

// fact is read with "name" or "name=?".
type fact func() (string, error)

// action takes an optional argument that must be the migrated table's name, so a command meant
// for another migration cannot act on this one.
type action func() (string, error)

// setting is a Setting of any Value, read and changed as text.
type setting interface {
	handler
	get() string
	set(name, arg string) error
}

func (helpList) bound() bool     { return true }
func (f report) bound() bool     { return f != nil }
func (f fact) bound() bool       { return f != nil }
func (f action) bound() bool     { return f != nil }
func (s Setting[T]) bound() bool { return s.Get != nil && s.Set != nil }

func (s Setting[T]) get() string { return format(s.Get()) }

func (s Setting[T]) set(name, arg string) error {
	v, err := parse[T](arg)
	if err != nil {
		return fmt.Errorf("%s=%s: %w", name, arg, err)
	}
	if err := s.Set(v); err != nil {
		return fmt.Errorf("%s=%s: %w", name, format(v), err)
	}
	return nil
}

// parse checks a setting's value against its type's syntax.
func parse[T Value](s string) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return v, fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return v, fmt.Errorf("%q is not a number", s)
		}
		*p = f
	case *string:
		if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
			s = s[1 : len(s)-1]
		}
		*p = s
	}
	return v, nil
}

// format is a value's canonical form.
func format[T Value](v T) string {
	switch v := any(v).(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v) // a string
}

type command struct {
	name    string
	aliases []string
	bind    func(*Handlers) handler
	arg     string // how help shows a setting's value
	help    string
	// throttleNote: the answer reminds the operator how long doppel may stay throttled.
	throttleNote bool
	// ends: the migration stops, so the answer shows no status.
	ends bool
}

// throttleNote is added to the answer of commands that may throttle for a long time.
const throttleNote = "# Note: doppel can stay throttled only as long as the server keeps the binary logs it has not read yet"

// commands is gh-ost's command set, in the order help lists it. It is never modified.
var commands = []command{
	{name: "help", bind: func(*Handlers) handler { return helpList{} }, help: "this list"},
	{name: "status", aliases: []string{"info"}, bind: func(h *Handlers) handler { return report(h.Status) }, help: "detailed status: progress, settings, throttling"},
	{name: "sup", bind: func(h *Handlers) handler { return report(h.Sup) }, help: "one-line status"},
	{name: "coordinates", bind: func(h *Handlers) handler { return fact(h.Coordinates) }, help: "binary log coordinates the migration has read up to"},
	{name: "applier", bind: func(h *Handlers) handler { return fact(h.Applier) }, help: "the server doppel writes to"},
	{name: "inspector", bind: func(h *Handlers) handler { return fact(h.Inspector) }, help: "the server doppel inspects and reads the binary log from"},
	{name: "chunk-size", bind: func(h *Handlers) handler { return h.ChunkSize }, arg: "<rows>", help: "rows per copy chunk; applies from the next chunk"},
	{name: "dml-batch-size", bind: func(h *Handlers) handler { return h.DMLBatchSize }, arg: "<changes>", help: "binlog row changes per replay transaction; applies from the next batch"},
	{name: "max-lag-millis", bind: func(h *Handlers) handler { return h.MaxLagMillis }, arg: "<ms>", help: "replica lag above which doppel throttles"},
	{name: "max-load", bind: func(h *Handlers) handler { return h.MaxLoad }, arg: "<Name=N,...>", help: "status thresholds above which doppel throttles, e.g. Threads_running=25"},
	{name: "critical-load", bind: func(h *Handlers) handler { return h.CriticalLoad }, arg: "<Name=N,...>", help: "status thresholds at which doppel stops (or hibernates)"},
	{name: "nice-ratio", bind: func(h *Handlers) handler { return h.NiceRatio }, arg: "<ratio>", help: "rest after each chunk, as a multiple of its time: 0 none, 1 doubles the copy time"},
	{name: "throttle-query", bind: func(h *Handlers) handler { return h.ThrottleQuery }, arg: "<query>", help: "query on the primary; a result > 0 throttles (empty: none)", throttleNote: true},
	{name: "throttle-http", bind: func(h *Handlers) handler { return h.ThrottleHTTP }, arg: "<URL>", help: "URL checked with HEAD; anything but 200 throttles (empty: none)", throttleNote: true},
	{name: "throttle-control-replicas", bind: func(h *Handlers) handler { return h.ThrottleControlReplicas }, arg: "<host[:port],...>", help: "replicas whose lag also counts (replaces the list)"},
	{name: "postpone-cut-over-flag-file", bind: func(h *Handlers) handler { return h.PostponeCutOverFlagFile }, arg: "<path>", help: "the cut-over waits while this file exists (empty: do not wait)"},
	{name: "throttle", aliases: []string{"pause", "suspend"}, bind: func(h *Handlers) handler { return action(h.Throttle) }, help: "throttle until no-throttle", throttleNote: true},
	{name: "no-throttle", aliases: []string{"unthrottle", "resume", "continue"}, bind: func(h *Handlers) handler { return action(h.NoThrottle) }, help: "end the throttle command (other reasons may still throttle)"},
	{name: "unpostpone", aliases: []string{"no-postpone", "cut-over"}, bind: func(h *Handlers) handler { return action(h.Unpostpone) }, help: "stop postponing the cut-over: swap as soon as ready"},
	{name: "panic", bind: func(h *Handlers) handler { return action(h.Panic) }, help: "stop the migration now; the original table is left as it is", ends: true},
	{name: "revert", bind: func(h *Handlers) handler { return action(h.Revert) }, help: "in the revert window: swap the old table back in, nothing lost"},
	{name: "end-revert-window", bind: func(h *Handlers) handler { return action(h.EndRevertWindow) }, help: "in the revert window: stop; the old table is kept or dropped per --ok-to-drop-table", ends: true},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
		for _, a := range c.aliases {
			if a == name {
				return c, true
			}
		}
	}
	return command{}, false
}

// helpText lists every command, its aliases and what it does.
func helpText() string {
	const width = 34 // longer usages put their description on the next line
	var b strings.Builder
	b.WriteString("doppel commands, one per connection:\n")
	for _, c := range commands {
		usage := strings.Join(append([]string{c.name}, c.aliases...), ", ")
		if c.arg != "" {
			usage = c.name + "=" + c.arg
		}
		if len(usage) > width {
			fmt.Fprintf(&b, "  %s\n  %-*s  %s\n", usage, width, "", c.help)
		} else {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, usage, c.help)
		}
	}
	b.WriteString("Send name=? to read a setting, e.g. chunk-size=?\n")
	b.WriteString("throttle, no-throttle, unpostpone and panic also take =<table>: then they act only if <table> is the migrated table.\n")
	return b.String()
}
