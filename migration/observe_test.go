package migration

import (
	"math"
	"testing"
	"time"
)

func TestRateMeter(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	type sample struct {
		after  time.Duration
		copied int64
	}
	for _, c := range []struct {
		name    string
		samples []sample
		want    float64
	}{
		{"no sample", nil, 0},
		{"one sample", []sample{{0, 500}}, 0},
		{"steady", []sample{{0, 0}, {time.Second, 1000}, {2 * time.Second, 2000}}, 1000},
		// Only about the last rateWindow counts (here 1,100 rows over the last 11 s): a fast start no
		// longer shows once slowed down.
		{"slowed down", []sample{{0, 0}, {time.Second, 100_000}, {2 * time.Second, 100_100}, {12 * time.Second, 101_100}, {13 * time.Second, 101_200}}, 100},
		{"stopped", []sample{{0, 0}, {time.Second, 5000}, {12 * time.Second, 5000}, {13 * time.Second, 5000}}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m rateMeter
			for _, s := range c.samples {
				m.add(t0.Add(s.after), s.copied)
			}
			if got := m.rate(); math.Abs(got-c.want) > 1e-9 {
				t.Errorf("rate %v rows/s, want %v", got, c.want)
			}
			if len(m.samples) > int(rateWindow/time.Second)+2 {
				t.Errorf("%d samples kept", len(m.samples))
			}
		})
	}
}
