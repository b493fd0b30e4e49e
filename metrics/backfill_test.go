package metrics

import (
	"testing"
	"time"
)

// exerciseBackfill calls every method, so that every series exists.
func exerciseBackfill(b *Backfill) {
	b.SetRowsEstimated(1000)
	b.ObserveChunk(10*time.Millisecond, 100, 40)
	b.SetChunkSize(100)
	b.SetReplicaLag("replica1:3306", 0.5)
	b.SetThrottled("replica-lag")
	b.SetNotThrottled()
	b.SetETA(-1)
	b.SetETA(time.Minute)
}

func TestBackfill(t *testing.T) {
	reg := NewRegistry()
	b, err := NewBackfill(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewBackfill(reg, "shop", "orders"); err == nil {
		t.Error("a second backfill of the same table registered")
	}
	// A migration of the same table shares the registry.
	if _, err := New(reg, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	b.ObserveChunk(time.Second, 100, 40)
	b.ObserveChunk(time.Second, 50, 0)
	b.SetThrottled("max-load")
	b.SetThrottled("replica-lag")
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					name += "/" + l.GetValue()
				}
			}
			got[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"doppel_backfill_rows_scanned_total":    150,
		"doppel_backfill_rows_affected_total":   40,
		"doppel_backfill_throttled/max-load":    0,
		"doppel_backfill_throttled/replica-lag": 1,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	var nilB *Backfill
	exerciseBackfill(nilB) // no panic
}
