package dbconn

import (
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	for _, tc := range []struct {
		name, secs, days string
		want             time.Duration
	}{
		{"seconds decide", "3600", "7", time.Hour},
		{"days when the seconds are 0", "0", "7", 7 * 24 * time.Hour},
		{"days when the server has no seconds", "", "2", 48 * time.Hour},
		{"a fraction of a day (MariaDB)", "", "0.5", 12 * time.Hour},
		{"seconds without days (MySQL 8.4)", "600", "", 10 * time.Minute},
		{"both 0: never purged", "0", "0", 0},
		{"neither", "", "", 0},
	} {
		if got := retention(tc.secs, tc.days); got != tc.want {
			t.Errorf("%s: retention(%q, %q) = %s, want %s", tc.name, tc.secs, tc.days, got, tc.want)
		}
	}
}
