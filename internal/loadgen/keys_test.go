package loadgen

import (
	"math/rand/v2"
	"testing"
)

// TestKeySet walks the life of rows through the key set: a taken row is invisible to other
// workers, a freed key comes back for reuse only while no row holds it, and a reserved identity
// cannot be reserved twice.
func TestKeySet(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := newKeySet()
	a := row{key: []value{number("1")}, id: "1"}
	b := row{key: []value{number("2")}, id: "2"}
	for _, step := range []struct {
		name string
		do   func() bool
		want bool
	}{
		{"reserve a new key", func() bool { return s.reserve(a.id) }, true},
		{"reserve it again", func() bool { return s.reserve(a.id) }, false},
		{"nothing idle before put", func() bool { _, ok := s.take(r); return ok }, false},
		{"put, then take it", func() bool { s.put(a); k, ok := s.take(r); return ok && k.id == a.id }, true},
		{"taken rows keep their identity", func() bool { return s.reserve(a.id) }, false},
		{"nothing idle while taken", func() bool { _, ok := s.take(r); return ok }, false},
		{"free it: reusable", func() bool { s.free(a); k, ok := s.reuse(r); return ok && k.id == a.id }, true},
		{"a reused key is reserved", func() bool { return s.reserve(a.id) }, false},
		{"nothing more to reuse", func() bool { _, ok := s.reuse(r); return ok }, false},
		{"a freed key taken meanwhile is not reused", func() bool {
			s.put(b)
			k, _ := s.take(r)
			s.free(k)
			s.reserve(b.id) // an insert took the key again
			_, ok := s.reuse(r)
			return ok
		}, false},
		{"release forgets a reservation", func() bool { s.release(b.id); return s.reserve(b.id) }, true},
	} {
		if got := step.do(); got != step.want {
			t.Fatalf("%s: got %v, want %v", step.name, got, step.want)
		}
	}
	if n := len(s.ids); n != 2 {
		t.Errorf("%d identities tracked, want 2", n)
	}
}
