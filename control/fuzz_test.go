package control

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// FuzzCommandLine sends any line to the command parser: it never panics, every answer ends with a
// newline, an ERROR answer changes nothing (no setting set, no action run), and a changed setting is
// answered with its name first.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"status", "sup", "help", "chunk-size=500", "chunk-size=?", "CHUNK-SIZE = 17 ", "chunk-size=1e3", "chunk-size=99999999999999999999",
		`throttle-query="SELECT 1"`, "throttle-query='", "max-load=a=b=c", "nice-ratio=NaN", "nice-ratio=-0", "panic=t", "panic=u",
		"unpostpone", "cut-over=t", "coordinates=1", "help=1", "=", "==", "\x00", "throttle\r", "no-throttle=t",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fk := newFake()
		s := &Server{cfg: Config{Table: "t", Handlers: fk.handlers()}, log: zap.NewNop(), conns: map[net.Conn]bool{}}
		answer := s.execute(context.Background(), line)
		if !strings.HasSuffix(answer, "\n") {
			t.Fatalf("%q: the answer %q does not end with a newline", line, answer)
		}
		set, act := fk.last()
		if strings.HasPrefix(answer, "ERROR: ") && (set != "" || act != "") {
			t.Fatalf("%q was refused (%q) but changed something: set %q, acted %q", line, answer, set, act)
		}
		if set != "" {
			name, _, _ := strings.Cut(set, "=")
			if !strings.HasPrefix(answer, name+"=") {
				t.Fatalf("%q set %s but answered %q", line, set, answer)
			}
		}
	})
}
