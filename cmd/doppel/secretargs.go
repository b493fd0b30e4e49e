package main

import (
	"strings"
	"unsafe"
)

// secretFlags take a password as their value.
var secretFlags = []string{"password", "master-password"}

// hideSecretArgs overwrites, in the process's own argument memory, the values of the password
// flags with x's, so that ps and /proc/<pid>/cmdline no longer show them once doppel has started.
// On Linux the strings of os.Args are the process's argv itself (the runtime does not copy them);
// args must be those strings, and the caller must have copied whatever it still needs. A password
// is visible in the process list for the moment before this runs: --ask-pass, MYSQL_PWD or --conf
// never are.
func hideSecretArgs(args []string) {
	for i, a := range args {
		for _, name := range secretFlags {
			for _, dashes := range []string{"--", "-"} {
				if v, ok := strings.CutPrefix(a, dashes+name+"="); ok {
					overwrite(v)
				}
				if a == dashes+name && i+1 < len(args) {
					overwrite(args[i+1])
				}
			}
		}
	}
}

// overwrite replaces s's bytes with x's in place. s must live in writable memory it owns (argv).
func overwrite(s string) {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	for i := range b {
		b[i] = 'x'
	}
}

// cloneArgs copies args into memory of their own, so that hiding the originals changes nothing
// doppel reads.
func cloneArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.Clone(a)
	}
	return out
}
