package binlog

import (
	"testing"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

// sb is the primary the integration tests stream from, shared by the package's tests (which do not
// run in parallel: some change global settings, kill the stream's connection or restart the server).
// RunTests also checks that the tests leaked no goroutine.
var sb *sandbox.Sandbox

func TestMain(m *testing.M) {
	sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb)
}
