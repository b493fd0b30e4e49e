package changelog

import (
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/binlog"
)

func TestDecode(t *testing.T) {
	log := New("db", "_t_ghc")
	for _, tc := range []struct {
		name        string
		ch          binlog.Change
		hint, value string
		ok          bool
	}{
		{"marker", binlog.Change{Table: "_t_ghc", Kind: binlog.Insert, After: []any{int64(1), "2024-01-01", "marker", "12.3"}}, "marker", "12.3", true},
		{"heartbeat as bytes", binlog.Change{Table: "_t_ghc", Kind: binlog.Update, After: []any{int64(2), "x", []byte("heartbeat"), []byte("2024-01-01T00:00:00Z")}}, "heartbeat", "2024-01-01T00:00:00Z", true},
		{"another table", binlog.Change{Table: "t", Kind: binlog.Insert, After: []any{int64(1), "x", "marker", "1"}}, "", "", false},
		{"a delete", binlog.Change{Table: "_t_ghc", Kind: binlog.Delete, Before: []any{int64(1), "x", "marker", "1"}}, "", "", false},
	} {
		hint, value, ok := log.Decode(tc.ch)
		if hint != tc.hint || value != tc.value || ok != tc.ok {
			t.Errorf("%s: Decode = (%q, %q, %v), want (%q, %q, %v)", tc.name, hint, value, ok, tc.hint, tc.value, tc.ok)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 11, 12, 123456789, time.FixedZone("x", 3600))
	got, err := ParseHeartbeat(Heartbeat(now))
	if err != nil || !got.Equal(now) {
		t.Errorf("heartbeat round trip: %v (%v), want %v", got, err, now)
	}
}
