package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagGroups order doppel --help. Every flag of newFlagSet is in exactly one group
// (TestEveryFlagHasAGroup); the gh-ost flags doppel takes without using come last, on their own.
var flagGroups = []struct {
	title string
	names []string
}{
	{"Connection", []string{"host", "port", "user", "password", "ask-pass", "conf", "ssl", "ssl-ca", "ssl-cert", "ssl-key", "ssl-allow-insecure", "mysql-timeout",
		"allow-on-master", "allow-master-master", "assume-master-host", "migrate-on-replica", "test-on-replica", "test-on-replica-skip-replica-stop", "master-user", "master-password", "replica-server-id", "assume-rbr", "switch-to-rbr", "storage-engine"}},
	{"Migration", []string{"database", "table", "alter", "execute", "attempt-instant-ddl", "approve-renamed-columns", "skip-renamed-columns", "allow-unique-key-change", "allow-nullable-unique-key", "allow-zero-in-date",
		"chunk-size", "chunk-target-ms", "copy-workers", "defer-secondary-indexes", "dml-batch-size", "default-retries", "exact-rowcount", "concurrent-rowcount",
		"checkpoint", "checkpoint-seconds", "resume", "gtid", "checksum", "panic-on-warnings", "initially-drop-ghost-table", "initially-drop-old-table",
		"include-triggers", "trigger-suffix", "remove-trigger-suffix-if-exists", "discard-foreign-keys", "skip-foreign-key-checks"}},
	{"Throttling", []string{"max-lag-millis", "heartbeat-interval-millis", "throttle-control-replicas", "max-load", "critical-load", "critical-load-interval-millis", "critical-load-hibernate-seconds",
		"throttle-query", "throttle-http", "throttle-http-interval-millis", "throttle-http-timeout-millis", "ignore-http-errors", "throttle-flag-file", "throttle-additional-flag-file", "nice-ratio", "max-commit-latency"}},
	{"Cut-over", []string{"cut-over", "cut-over-lock-timeout-seconds", "cut-over-exponential-backoff", "exponential-backoff-max-interval", "postpone-cut-over-flag-file", "force-named-cut-over",
		"analyze-ghost-table-before-cutover", "ok-to-drop-table", "timestamp-old-table", "revert", "old-table", "revert-window"}},
	{"Control and hooks", []string{"serve-socket-file", "serve-tcp-port", "initially-drop-socket-file", "panic-flag-file", "force-named-panic",
		"hooks-path", "hooks-hint", "hooks-hint-owner", "hooks-hint-token", "hooks-status-interval", "hooks-timeout"}},
	{"Observability", []string{"metrics-address", "status-interval", "log-format", "verbose", "debug", "quiet", "check-flag", "version", "help"}},
}

// writeHelp is doppel --help: the subcommands, then the flags by group, written --flag.
func writeHelp(out io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(out, `doppel changes the schema of a live MySQL or MariaDB table without blocking it.

Usage:
  doppel --host=H --user=U --database=D --table=T --alter="..." [--execute]   migrate (validate only without --execute)
  doppel plan --host=H --user=U --database=D --table=T --alter="..."          say what an ALTER will do, change nothing
  doppel ctl --database=D --table=T <command>                                 send a command to a running migration
  doppel migrate --dir=DIR --database=D status|plan|up|down|validate|test|repair   run a directory of versioned migrations
  doppel backfill --host=H --user=U --database=D --sql="UPDATE t ..." [--execute]   a data migration in throttled key-range chunks

gh-ost's flags keep their names and meanings; docs/flags.md lists every difference.
`)
	for _, g := range flagGroups {
		fmt.Fprintf(out, "\n%s:\n", g.title)
		for _, name := range g.names {
			if f := fs.Lookup(name); f != nil {
				writeFlag(out, f)
			}
		}
	}
	fmt.Fprintf(out, "\ngh-ost flags doppel accepts without using, or refuses with the reason when given:\n ")
	width := 1
	for _, g := range ghostFlags {
		if width+len(g.name)+3 > 100 {
			fmt.Fprint(out, "\n ")
			width = 1
		}
		fmt.Fprintf(out, " --%s", g.name)
		width += len(g.name) + 3
	}
	fmt.Fprintln(out)
}

// writeFlag writes one flag: its name and value, its default when it has one, and its usage.
func writeFlag(out io.Writer, f *flag.Flag) {
	kind, usage := flag.UnquoteUsage(f)
	head := "--" + f.Name
	if kind != "" {
		head += "=" + kind
	}
	fmt.Fprintf(out, "  %s\n      %s", head, usage)
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && !strings.Contains(usage, "(default") {
		fmt.Fprintf(out, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(out)
}
