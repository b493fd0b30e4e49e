package table

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func helperNamesOf(t string) map[string]string {
	return map[string]string{
		"ghost":             GhostName(t),
		"changelog":         ChangelogName(t),
		"old":               OldName(t),
		"old (timestamped)": TimestampedOldName(t, time.Date(2026, 12, 7, 4, 5, 6, 0, time.UTC)),
		"sentry":            SentryName(t),
		"revert records":    RevertName(t),
	}
}

func TestHelperNamesEveryLength(t *testing.T) {
	for _, fill := range []string{"t", "x_", "`", "é", "表", "~", "$"} {
		for n := 1; n <= MaxNameLen; n++ {
			name := strings.Repeat(fill, n)
			name = string([]rune(name)[:n])
			names := helperNamesOf(name)
			seen := map[string]string{}
			for what, h := range names {
				if h == "" {
					t.Errorf("%q: no %s name", name, what)
					continue
				}
				if l := utf8.RuneCountInString(h); l > MaxNameLen {
					t.Errorf("%q (%d characters): %s name %q has %d characters", name, n, what, h, l)
				}
				if h == name {
					t.Errorf("%q: %s name is the table's own", name, what)
				}
				if other, ok := seen[h]; ok {
					t.Errorf("%q: %s and %s names are both %q", name, what, other, h)
				}
				seen[h] = what
			}
			if s := names["sentry"]; s <= name {
				t.Errorf("%q: sentry %q does not sort after the table's name", name, s)
			}
		}
	}
}

func TestHelperNames(t *testing.T) {
	long := strings.Repeat("a", 60)
	for _, tc := range []struct {
		table                    string
		ghost, changelog, sentry string
	}{
		// Names that fit are gh-ost's (and doppel's before), unchanged.
		{"t", "_t_gho", "_t_ghc", "t_swap"},
		{strings.Repeat("b", 59), "_" + strings.Repeat("b", 59) + "_gho", "_" + strings.Repeat("b", 59) + "_ghc", strings.Repeat("b", 59) + "_swap"},
		// 60 characters: "_" + T + "_gho" would be 65.
		{long, "_" + long[:50] + "_" + nameHash(long) + "_gho", "_" + long[:50] + "_" + nameHash(long) + "_ghc", long[:50] + "~" + nameHash(long) + "_swap"},
		// A '~' at the cut: the sentry is cut one character earlier, so it still sorts after.
		{strings.Repeat("c", 50) + "~~" + strings.Repeat("c", 10), "", "", strings.Repeat("c", 49) + "~" + nameHash(strings.Repeat("c", 50)+"~~"+strings.Repeat("c", 10)) + "_swap"},
	} {
		t.Run(tc.table[:min(len(tc.table), 8)], func(t *testing.T) {
			if tc.ghost != "" && GhostName(tc.table) != tc.ghost {
				t.Errorf("ghost %q, want %q", GhostName(tc.table), tc.ghost)
			}
			if tc.changelog != "" && ChangelogName(tc.table) != tc.changelog {
				t.Errorf("changelog %q, want %q", ChangelogName(tc.table), tc.changelog)
			}
			if SentryName(tc.table) != tc.sentry {
				t.Errorf("sentry %q, want %q", SentryName(tc.table), tc.sentry)
			}
		})
	}
}

// Two long names sharing everything but their end get different helper names, and none of one
// table's names is another's.
func TestHelperNamesLongSharedPrefix(t *testing.T) {
	base := strings.Repeat("orders_archive_", 5)[:63]
	a, b := base+"1", base+"2"
	all := map[string]string{}
	for _, tbl := range []string{a, b} {
		for what, h := range helperNamesOf(tbl) {
			if other, ok := all[h]; ok {
				t.Errorf("%s of %q is %q, as is %s", what, tbl, h, other)
			}
			all[h] = what + " of " + tbl
		}
	}
	if !strings.HasPrefix(GhostName(a), "_"+base[:40]) {
		t.Errorf("ghost %q does not start with the table's name", GhostName(a))
	}
}

func TestSentryNameNoMarker(t *testing.T) {
	name := strings.Repeat("\uFFEF", 64)
	if s := SentryName(name); s != "" {
		t.Errorf("sentry %q for a name whose characters all sort after the markers", s)
	}
}
