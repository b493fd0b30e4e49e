//go:build !failpoints

package main

import "testing"

// TestShippedBinaryHasNoFailpoints: DOPPEL_FAILPOINT set by mistake must not hold the shipped
// binary at a step (at cutover:locked it would keep the original locked forever).
func TestShippedBinaryHasNoFailpoints(t *testing.T) {
	t.Setenv("DOPPEL_FAILPOINT", "cutover:locked")
	if fp := failpointFromEnv(nil); fp != nil {
		t.Fatal("a binary built without -tags failpoints reads DOPPEL_FAILPOINT")
	}
}
