package loadgen

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"sync"
)

// A row is the key of one row of the table, as the generator addresses it.
type row struct {
	key []value
	id  string // identity: equal for keys the table holds equal (see identity)
}

// keySet tracks the rows the table holds, so that operations target real rows. A row a worker is
// operating on is taken out of the set, so no two workers touch the same row (fewer deadlocks, and
// the set stays exact); its identity stays reserved until the row is gone, so no insert reuses it.
type keySet struct {
	mu     sync.Mutex
	idle   []row           // rows no worker is operating on
	ids    map[string]bool // identities of every row, idle or taken
	recent []row           // keys of rows gone lately, oldest first, for reuse
}

// recentLen keys of rows gone lately are remembered, so that new rows can take a key deleted
// moments ago: a replay must then apply the delete and the insert of one key in their order.
const recentLen = 64

func newKeySet() *keySet { return &keySet{ids: map[string]bool{}} }

// reserve claims the identity of a new row; false when a row with an equal key exists.
func (s *keySet) reserve(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids[id] {
		return false
	}
	s.ids[id] = true
	return true
}

// release forgets an identity reserved for a row that was never written.
func (s *keySet) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

// free forgets a row that is gone (deleted, or moved to another key) and keeps its key for reuse.
func (s *keySet) free(k row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, k.id)
	s.recent = append(s.recent, k)
	if len(s.recent) > recentLen {
		s.recent = s.recent[1:]
	}
}

// reuse reserves the key of a row gone lately; false when there is none free.
func (s *keySet) reuse(r *rand.Rand) (row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) == 0 {
		return row{}, false
	}
	i := r.IntN(len(s.recent))
	k := s.recent[i]
	s.recent = append(s.recent[:i], s.recent[i+1:]...)
	if s.ids[k.id] {
		return row{}, false // taken again meanwhile
	}
	s.ids[k.id] = true
	return k, true
}

// put makes a row (whose identity is reserved) available to the workers.
func (s *keySet) put(k row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[k.id] = true
	s.idle = append(s.idle, k)
}

// take removes a random idle row for one worker to operate on; false when there is none.
func (s *keySet) take(r *rand.Rand) (row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) == 0 {
		return row{}, false
	}
	i := r.IntN(len(s.idle))
	k := s.idle[i]
	last := len(s.idle) - 1
	s.idle[i] = s.idle[last]
	s.idle = s.idle[:last]
	return k, true
}

// identity returns a string that is equal for two keys exactly when the table holds them equal, as
// far as the generator's keys go: text of a case-insensitive collation is folded (key text is ASCII
// letters and digits, so folding ASCII is enough), everything else is compared as written.
func identity(cols []*column, key []value) string {
	var b strings.Builder
	for i, v := range key {
		if i > 0 {
			b.WriteByte('|')
		}
		switch v.kind {
		case kindBytes:
			raw := v.raw
			if cols[i].caseInsensitive() {
				raw = asciiLower(raw)
			}
			b.WriteString(hex.EncodeToString(raw))
		default:
			b.WriteString(v.text)
		}
	}
	return b.String()
}

func asciiLower(s []byte) []byte {
	out := make([]byte, len(s))
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
