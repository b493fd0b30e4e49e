package spell

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"chunk-size", "chunk-target-ms", "Threads_running", "Threads_connected"}
	for _, tc := range []struct {
		name   string
		within int
		want   string
	}{
		{"chunk-sise", 2, "chunk-size"},
		{"threads_runing", 2, "Threads_running"},
		{"chunk", 2, ""},
		{"", 1, ""},
		{"Threads_conected", 1, "Threads_connected"},
	} {
		if got := Nearest(tc.name, names, tc.within); got != tc.want {
			t.Errorf("Nearest(%q, %d) = %q, want %q", tc.name, tc.within, got, tc.want)
		}
	}
}
