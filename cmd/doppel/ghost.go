package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/doppel-sql/doppel/internal/spell"
)

// ghostFlag is a gh-ost flag that doppel takes only to say what becomes of it, so that a gh-ost
// command line never stops on an unknown flag. Every other gh-ost flag has its gh-ost meaning in
// doppel (testdata/gh-ost-flags.txt lists them all; TestEveryGhostFlagIsKnown checks).
type ghostFlag struct {
	name    string
	boolean bool // takes no value
	// refused: giving the flag stops doppel before it connects, with why. Otherwise the flag is
	// accepted, has no effect, and why is logged.
	refused bool
	why     string
}

// notYet is the reason of the flags whose features doppel does not have yet.
const notYet = "not supported by this version of doppel yet"

var ghostFlags = []ghostFlag{
	{name: "aliyun-rds", boolean: true, why: "doppel runs the same checks on every server and needs nothing turned off for Aliyun RDS"},
	{name: "azure", boolean: true, why: "doppel runs the same checks on every server and needs nothing turned off for Azure"},
	{name: "gcp", boolean: true, why: "doppel runs the same checks on every server and needs nothing turned off for GCP"},
	{name: "tungsten", boolean: true, why: "doppel needs no replication topology of its own; give the primary with --assume-master-host"},
	{name: "skip-metadata-lock-check", boolean: true, why: "doppel sees the cut-over's RENAME waiting in the processlist and needs no performance_schema metadata-lock instrument"},
	{name: "allow-setup-metadata-lock-instruments", boolean: true, why: "doppel sees the cut-over's RENAME waiting in the processlist and needs no performance_schema metadata-lock instrument"},
	{name: "skip-port-validation", boolean: true, why: "doppel does not compare the server's @@port with --port"},
	{name: "stack", boolean: true, why: "doppel's errors name every step they passed through"},
	{name: "charset", why: "doppel's sessions use utf8mb4 and copy every value as bytes, so no connection character set can change the data"},
	{name: "replication-lag-query", why: "deprecated in gh-ost too: doppel measures lag with its own heartbeat"},
	{name: "binlogsyncer-max-reconnect-attempts", why: "doppel reconnects the binlog stream with backoff for up to two minutes of outage, then stops with the run resumable"},
	{name: "runtime-metrics-interval", why: "a StatsD setting: doppel's Prometheus /metrics (--metrics-address) carries the Go runtime's figures"},
	{name: "statsd-addr", refused: true, why: "doppel exports Prometheus metrics, not StatsD: use --metrics-address=HOST:PORT and scrape /metrics"},
	{name: "statsd-tags", refused: true, why: "doppel exports Prometheus metrics, not StatsD: use --metrics-address=HOST:PORT; the database and table are labels of every series"},
	{name: "skip-strict-mode", boolean: true, refused: true, why: "doppel writes in strict mode so that a value the new table cannot hold fails the migration instead of being silently changed; leave the flag out"},
	{name: "force-table-names", refused: true, why: notYet + ": doppel names its helper tables after the table (_T_gho, _T_ghc, _T_del); leave the flag out"},
}

// ghostValue records that a gh-ost-only flag was given; it keeps nothing else.
type ghostValue struct {
	set     bool
	boolean bool
}

func (v *ghostValue) String() string   { return "" }
func (v *ghostValue) Set(string) error { v.set = true; return nil }
func (v *ghostValue) IsBoolFlag() bool { return v.boolean }

// addGhostFlags defines the gh-ost-only flags; the map says which were given, after Parse.
func addGhostFlags(fs *flag.FlagSet) map[string]*ghostValue {
	given := map[string]*ghostValue{}
	for _, g := range ghostFlags {
		v := &ghostValue{boolean: g.boolean}
		given[g.name] = v
		what := "accepted for gh-ost runbooks, no effect: " + g.why
		if g.refused {
			what = "gh-ost's; refused: " + g.why
		}
		fs.Var(v, g.name, what)
	}
	return given
}

// ghostNotes returns the errors of the refused gh-ost flags given and the notes of the accepted
// ones, in the order of ghostFlags.
func ghostNotes(given map[string]*ghostValue) (errs []error, notes []string) {
	for _, g := range ghostFlags {
		if !given[g.name].set {
			continue
		}
		if g.refused {
			errs = append(errs, fmt.Errorf("--%s (a gh-ost flag): %s", g.name, g.why))
		} else {
			notes = append(notes, fmt.Sprintf("--%s is accepted for gh-ost runbooks and has no effect: %s", g.name, g.why))
		}
	}
	return errs, notes
}

// unknownFlag is the one line for a flag doppel does not know: the closest known flag, when one is
// close enough to be a typo.
func unknownFlag(fs *flag.FlagSet, name string) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	msg := fmt.Sprintf("doppel: unknown flag --%s", name)
	// A third of the name's letters wrong is still a typo; more is another word.
	if best := spell.Nearest(name, names, max(1, len(name)/3)); best != "" {
		msg += fmt.Sprintf("; did you mean --%s?", best)
	} else if strings.Contains(name, "_") {
		msg += fmt.Sprintf("; flags are written with dashes: --%s", strings.ReplaceAll(name, "_", "-"))
	}
	return msg + " (doppel --help lists every flag)"
}
