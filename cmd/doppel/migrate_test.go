package main

import (
	"strings"
	"testing"
)

func TestMigrateCommand(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		command string
		n       int
		err     string
	}{
		{[]string{"up"}, "up", 0, ""},
		{[]string{"up", "2"}, "up", 2, ""},
		{[]string{"down", "1"}, "down", 1, ""},
		{[]string{"plan", "3"}, "plan", 3, ""},
		{[]string{"status"}, "status", 0, ""},
		{[]string{"status", "2"}, "", 0, "takes no count"},
		{[]string{"up", "0"}, "", 0, "1 or more"},
		{[]string{"up", "x"}, "", 0, "1 or more"},
		{[]string{"up", "1", "2"}, "", 0, "unexpected"},
		{[]string{"upp"}, "", 0, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, n, err := migrateCommand(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || c != tc.command || n != tc.n {
				t.Errorf("%s %d %v, want %s %d", c, n, err, tc.command, tc.n)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"32MiB", 32 << 20, false},
		{"32M", 32 << 20, false},
		{"1GiB", 1 << 30, false},
		{"512KiB", 512 << 10, false},
		{"1000", 1000, false},
		{"0", 0, false},
		{"10TB", 0, true},
		{"-1", 0, true},
		{"MiB", 0, true},
	} {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
