package throttle

import (
	"testing"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{}, &sb) }
