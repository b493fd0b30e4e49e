//go:build !failpoints

package main

import "io"

// failpointFromEnv: the shipped binary has no failpoints (failpoint.go, built with -tags failpoints
// for the fault tests, has them); DOPPEL_FAILPOINT means nothing to it.
func failpointFromEnv(io.Writer) func(string) { return nil }
