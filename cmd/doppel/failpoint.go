//go:build failpoints

package main

import (
	"fmt"
	"io"
	"os"
)

// failpointFromEnv returns, in a binary built with -tags failpoints for the fault tests, a
// Failpoint that at the step named by DOPPEL_FAILPOINT ("cutover:locked", "copy:chunk", …) says so
// on stderr and waits to be killed (docs/testing.md). The shipped binary has none: a forgotten
// variable there would hold LOCK TABLES on the original forever.
func failpointFromEnv(stderr io.Writer) func(string) {
	step := os.Getenv("DOPPEL_FAILPOINT")
	if step == "" {
		return nil
	}
	return func(at string) {
		if at == step {
			fmt.Fprintf(stderr, "doppel: failpoint %s reached; waiting to be killed\n", at)
			select {}
		}
	}
}
