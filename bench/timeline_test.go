package main

import "testing"

func TestParseSup(t *testing.T) {
	for _, tc := range []struct {
		line           string
		state          string
		copied, estate int64
		ok             bool
	}{
		{"copy 12/100 12.0%; applied 3; backlog 0; state copying; elapsed 1s; ETA 9s", "copying", 12, 100, true},
		{"copy 100/100 100.0%; applied 3; backlog 0; state verifying; elapsed 5s; ETA unknown; throttled: replica x lags 2s", "verifying", 100, 100, true},
		{"not doppel", "", 0, 0, false},
	} {
		p, ok := parseSup(tc.line)
		if ok != tc.ok || p.state != tc.state || p.copied != tc.copied || p.estimate != tc.estate {
			t.Errorf("parseSup(%q) = %+v, %t", tc.line, p, ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		p    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{5, 1, 4, 2, 3}, 1, 5},
		{[]float64{5, 1, 4, 2, 3}, 0, 1},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}
