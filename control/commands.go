package control

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Names the Controller receives. Aliases typed by the operator (info, pause, resume, cut-over, ...)
// arrive under these canonical names.
const (
	ChunkSize               = "chunk-size"
	DMLBatchSize            = "dml-batch-size"
	MaxLagMillis            = "max-lag-millis"
	MaxLoad                 = "max-load"
	CriticalLoad            = "critical-load"
	NiceRatio               = "nice-ratio"
	ThrottleQuery           = "throttle-query"
	ThrottleHTTP            = "throttle-http"
	ThrottleControlReplicas = "throttle-control-replicas"
	PostponeCutOverFlagFile = "postpone-cut-over-flag-file"

	Coordinates = "coordinates"
	Applier     = "applier"
	Inspector   = "inspector"

	Throttle   = "throttle"
	NoThrottle = "no-throttle"
	Unpostpone = "unpostpone"
	Panic      = "panic"
)

// kind says how a command is used.
type kind int

const (
	// report: answered by the control package and Controller.Status; takes no argument.
	report kind = iota
	// fact: a read-only value from Controller.Get; "name" or "name=?".
	fact
	// setting: "name=?" reads it with Controller.Get, "name=value" changes it with Controller.Set.
	setting
	// action: Controller.Act; an optional argument must be the migrated table's name, so a command
	// meant for another migration cannot act on this one.
	action
)

// valueType is the syntax a setting's value must have before Set is called.
type valueType int

const (
	text valueType = iota
	integer
	float
)

type command struct {
	name    string
	aliases []string
	kind    kind
	value   valueType
	arg     string // how help shows the value
	help    string
	// throttleNote: the answer reminds the operator how long doppel may stay throttled.
	throttleNote bool
}

// throttleNote is added to the answer of commands that may throttle for a long time.
const throttleNote = "# Note: doppel can stay throttled only as long as the server keeps the binary logs it has not read yet"

// commands is gh-ost's command set, in the order help lists it. It is never modified.
var commands = []command{
	{name: "help", kind: report, help: "this list"},
	{name: "status", aliases: []string{"info"}, kind: report, help: "detailed status: progress, settings, throttling"},
	{name: "sup", kind: report, help: "one-line status"},
	{name: Coordinates, kind: fact, help: "binary log coordinates the migration has read up to"},
	{name: Applier, kind: fact, help: "the server doppel writes to"},
	{name: Inspector, kind: fact, help: "the server doppel inspects and reads the binary log from"},
	{name: ChunkSize, kind: setting, value: integer, arg: "<rows>", help: "rows per copy chunk; applies from the next chunk"},
	{name: DMLBatchSize, kind: setting, value: integer, arg: "<changes>", help: "binlog row changes per replay transaction; applies from the next batch"},
	{name: MaxLagMillis, kind: setting, value: integer, arg: "<ms>", help: "replica lag above which doppel throttles"},
	{name: MaxLoad, kind: setting, value: text, arg: "<Name=N,...>", help: "status thresholds above which doppel throttles, e.g. Threads_running=25"},
	{name: CriticalLoad, kind: setting, value: text, arg: "<Name=N,...>", help: "status thresholds at which doppel stops (or hibernates)"},
	{name: NiceRatio, kind: setting, value: float, arg: "<ratio>", help: "rest after each chunk, as a multiple of its time: 0 none, 1 doubles the copy time"},
	{name: ThrottleQuery, kind: setting, value: text, arg: "<query>", help: "query on the primary; a result > 0 throttles (empty: none)", throttleNote: true},
	{name: ThrottleHTTP, kind: setting, value: text, arg: "<URL>", help: "URL checked with HEAD; anything but 200 throttles (empty: none)", throttleNote: true},
	{name: ThrottleControlReplicas, kind: setting, value: text, arg: "<host[:port],...>", help: "replicas whose lag also counts (replaces the list)"},
	{name: PostponeCutOverFlagFile, kind: setting, value: text, arg: "<path>", help: "the cut-over waits while this file exists (empty: do not wait)"},
	{name: Throttle, aliases: []string{"pause", "suspend"}, kind: action, help: "throttle until no-throttle", throttleNote: true},
	{name: NoThrottle, aliases: []string{"unthrottle", "resume", "continue"}, kind: action, help: "end the throttle command (other reasons may still throttle)"},
	{name: Unpostpone, aliases: []string{"no-postpone", "cut-over"}, kind: action, help: "stop postponing the cut-over: swap as soon as ready"},
	{name: Panic, kind: action, help: "stop the migration now; the original table is left as it is"},
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
		if c.kind == setting {
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

// parseValue checks a setting's value and returns it in canonical form: a whole number, a finite
// number, or text with one pair of enclosing quotes removed.
func parseValue(c command, v string) (string, error) {
	switch c.value {
	case integer:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %q is not a whole number", c.name, v, v)
		}
		return strconv.FormatInt(n, 10), nil
	case float:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%s=%s: %q is not a number", c.name, v, v)
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return v, nil
}
