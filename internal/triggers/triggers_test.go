package triggers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTempName(t *testing.T) {
	long := strings.Repeat("a", 60)
	long64 := strings.Repeat("é", 64)
	for _, tc := range []struct {
		name, suffix string
		remove       bool
		want         string
	}{
		{"t_ai", "_gho", false, "t_ai_gho"},
		{"t_ai_gho", "_gho", false, "t_ai_gho_gho"},
		{"t_ai_gho", "_gho", true, "t_ai"},
		{"t_ai", "_gho", true, "t_ai_gho"},
		{"_gho", "_gho", true, "_gho_gho"}, // nothing would be left: the suffix is added
		{"a`b", "_v2", false, "a`b_v2"},
		{strings.Repeat("x", 60), "_gho", false, strings.Repeat("x", 60) + "_gho"}, // exactly 64
		{long + "b", "_gho", false, strings.Repeat("a", 51) + "_" + hash8(long+"b") + "_gho"},
		{long64, "_gho", false, strings.Repeat("é", 51) + "_" + hash8(long64) + "_gho"},
	} {
		got := TempName(tc.name, tc.suffix, tc.remove)
		if got != tc.want {
			t.Errorf("TempName(%q, %q, %v) = %q, want %q", tc.name, tc.suffix, tc.remove, got, tc.want)
		}
		if n := utf8.RuneCountInString(got); n > MaxNameLen {
			t.Errorf("TempName(%q) has %d characters", tc.name, n)
		}
	}
	// Cut names stay apart.
	if TempName(long+"b", "_gho", false) == TempName(long+"c", "_gho", false) {
		t.Error("two long names cut to the same temporary name")
	}
}

func hash8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

func TestDefiner(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"root@localhost", "`root`@`localhost`"},
		{"app@10.0.0.%", "`app`@`10.0.0.%`"},
		{"we@rd@host", "`we@rd`@`host`"},
		{"back`tick@h", "`back``tick`@`h`"},
		{"admin_role", "`admin_role`"},
		{"@localhost", "``@`localhost`"},
	} {
		if got := Definer(tc.in); got != tc.want {
			t.Errorf("Definer(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTwinHeader(t *testing.T) {
	tr := Trigger{Name: "t_ai", Timing: "AFTER", Event: "INSERT", Definer: "root@localhost"}
	for _, tc := range []struct {
		schema, table, name, follows, want string
	}{
		{"d", "_t_gho", "t_ai_gho", "", "CREATE DEFINER=`root`@`localhost` TRIGGER `d`.`t_ai_gho` AFTER INSERT ON `d`.`_t_gho` FOR EACH ROW "},
		{"d", "_t_gho", "t_ai_gho", "t_a0_gho", "CREATE DEFINER=`root`@`localhost` TRIGGER `d`.`t_ai_gho` AFTER INSERT ON `d`.`_t_gho` FOR EACH ROW FOLLOWS `t_a0_gho` "},
		{"my`db", "_we`ird_gho", "x`y_gho", "p`q", "CREATE DEFINER=`root`@`localhost` TRIGGER `my``db`.`x``y_gho` AFTER INSERT ON `my``db`.`_we``ird_gho` FOR EACH ROW FOLLOWS `p``q` "},
	} {
		if got := TwinHeader(tr, tc.schema, tc.table, tc.name, tc.follows); got != tc.want {
			t.Errorf("TwinHeader(%q, %q, %q, %q) =\n%s\nwant\n%s", tc.schema, tc.table, tc.name, tc.follows, got, tc.want)
		}
	}
	if got, want := Drop("d", "a`b"), "DROP TRIGGER IF EXISTS `d`.`a``b`"; got != want {
		t.Errorf("Drop = %q, want %q", got, want)
	}
}

func trg(name, timing, event string, order int) Trigger {
	return Trigger{Name: name, Timing: timing, Event: event, Order: order}
}

func names(ts []Trigger) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return strings.Join(out, ",")
}

func TestSortedAndPredecessors(t *testing.T) {
	ts := []Trigger{
		trg("a2", "AFTER", "INSERT", 2), trg("b1", "BEFORE", "UPDATE", 1), trg("a1", "AFTER", "INSERT", 1),
		trg("d1", "AFTER", "DELETE", 1), trg("a3", "AFTER", "INSERT", 3),
	}
	sorted := Sorted(ts)
	if got, want := names(sorted), "d1,a1,a2,a3,b1"; got != want {
		t.Errorf("Sorted = %s, want %s", got, want)
	}
	pred := Predecessors(sorted)
	want := []int{-1, -1, 1, 2, -1}
	for i := range want {
		if pred[i] != want[i] {
			t.Errorf("Predecessors = %v, want %v", pred, want)
			break
		}
	}
}

func TestPlan(t *testing.T) {
	two := []Trigger{trg("t_ai", "AFTER", "INSERT", 1), trg("t_bu", "BEFORE", "UPDATE", 1)}
	for _, tc := range []struct {
		name   string
		ts     []Trigger
		suffix string
		remove bool
		taken  map[string]bool
		want   string // temporary names, or the error's text
	}{
		{"suffixed", two, "_gho", false, nil, "t_ai_gho,t_bu_gho"},
		{"suffix removed", []Trigger{trg("t_ai_v2", "AFTER", "INSERT", 1)}, "_v2", true, nil, "t_ai"},
		{"removed name is another trigger's", []Trigger{trg("t_ai_v2", "AFTER", "INSERT", 1), trg("t_ai", "AFTER", "INSERT", 2)}, "_v2", true, nil, "which trigger `t_ai` already is"},
		{"taken in the schema", two, "_gho", false, map[string]bool{"t_bu_gho": true}, "has a trigger of that name on another table"},
		{"taken, other case", two, "_gho", false, map[string]bool{"t_ai_gho": true}, "has a trigger of that name"},
		{"empty suffix", two, "", false, nil, "would keep its name"},
		{"backticks", []Trigger{trg("a`b", "AFTER", "DELETE", 1)}, "_gho", false, nil, "a`b_gho"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moves, err := Plan(tc.ts, tc.suffix, tc.remove, tc.taken)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Plan: %v, want %q", err, tc.want)
				}
				return
			}
			var got []string
			for _, m := range moves {
				got = append(got, m.Temp)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("Plan = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestFlavorOf(t *testing.T) {
	for _, tc := range []struct {
		name                string
		major, minor, patch int
		keeps, renameLocked bool
	}{
		{"mariadb", 10, 11, 6, false, false},
		{"mysql", 8, 0, 12, true, false},
		{"mysql", 8, 0, 13, true, true},
		{"mysql", 8, 4, 0, true, true},
		{"mysql", 9, 0, 0, true, true},
		{"mysql", 5, 7, 44, true, false},
	} {
		f := FlavorOf(tc.name, tc.major, tc.minor, tc.patch)
		if f.StatementKeepsOrder() != tc.keeps || f.RenameUnderLock() != tc.renameLocked || f.DefinerPrivilege() == "" {
			t.Errorf("FlavorOf(%s %d.%d.%d) = keeps order %v, rename under lock %v", tc.name, tc.major, tc.minor, tc.patch, f.StatementKeepsOrder(), f.RenameUnderLock())
		}
	}
}

func TestSessionSQL(t *testing.T) {
	tr := Trigger{SQLMode: "ANSI_QUOTES,PIPES_AS_CONCAT", CharsetClient: "latin1", CollationConnection: "latin1_swedish_ci"}
	want := "SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT', character_set_client = latin1, collation_connection = latin1_swedish_ci"
	if got := SessionSQL(tr); got != want {
		t.Errorf("SessionSQL = %q, want %q", got, want)
	}
	tr.SQLMode = ""
	if got := SessionSQL(tr); !strings.Contains(got, "sql_mode = ''") {
		t.Errorf("SessionSQL with an empty sql_mode = %q", got)
	}
}

// TestBuild builds the twins' statements and, on MySQL, the final statements of triggers that share
// their timing and event; ASCII names in utf8mb4 need no server.
func TestBuild(t *testing.T) {
	mk := func(name, timing, event string, order int) Trigger {
		return Trigger{Name: name, Timing: timing, Event: event, Order: order, Definer: "app@%", CharsetClient: "utf8mb4",
			Statement: []byte("CREATE DEFINER=`app`@`%` TRIGGER " + name + " " + timing + " " + event + " ON t FOR EACH ROW SET @x = 1"), Body: []byte("SET @x = 1")}
	}
	ts := []Trigger{mk("a2", "AFTER", "INSERT", 2), mk("a1", "AFTER", "INSERT", 1), mk("b1", "BEFORE", "UPDATE", 1)}
	for _, tc := range []struct {
		flavor Flavor
		twins  []string
		finals []string
	}{
		{FlavorOf("mariadb", 10, 11, 6),
			[]string{
				"CREATE DEFINER=`app`@`%` TRIGGER `d`.`a1_gho` AFTER INSERT ON `d`.`_t_gho` FOR EACH ROW SET @x = 1",
				"CREATE DEFINER=`app`@`%` TRIGGER `d`.`a2_gho` AFTER INSERT ON `d`.`_t_gho` FOR EACH ROW FOLLOWS `a1_gho` SET @x = 1",
				"CREATE DEFINER=`app`@`%` TRIGGER `d`.`b1_gho` BEFORE UPDATE ON `d`.`_t_gho` FOR EACH ROW SET @x = 1",
			},
			[]string{
				"CREATE DEFINER=`app`@`%` TRIGGER a1 AFTER INSERT ON t FOR EACH ROW SET @x = 1",
				"CREATE DEFINER=`app`@`%` TRIGGER a2 AFTER INSERT ON t FOR EACH ROW SET @x = 1",
				"CREATE DEFINER=`app`@`%` TRIGGER b1 BEFORE UPDATE ON t FOR EACH ROW SET @x = 1",
			}},
		{FlavorOf("mysql", 8, 0, 36),
			nil,
			[]string{
				"CREATE DEFINER=`app`@`%` TRIGGER `d`.`a1` AFTER INSERT ON `d`.`t` FOR EACH ROW SET @x = 1",
				"CREATE DEFINER=`app`@`%` TRIGGER `d`.`a2` AFTER INSERT ON `d`.`t` FOR EACH ROW FOLLOWS `a1` SET @x = 1",
				"CREATE DEFINER=`app`@`%` TRIGGER b1 BEFORE UPDATE ON t FOR EACH ROW SET @x = 1", // alone: as created
			}},
	} {
		moves, err := Plan(ts, "_gho", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Build(t.Context(), nil, tc.flavor, "d", "t", "_t_gho", moves); err != nil {
			t.Fatal(err)
		}
		for i, m := range moves {
			if tc.twins != nil && string(m.Twin) != tc.twins[i] {
				t.Errorf("twin %d:\n%s\nwant\n%s", i, m.Twin, tc.twins[i])
			}
			if string(m.Statement) != tc.finals[i] {
				t.Errorf("final %d:\n%s\nwant\n%s", i, m.Statement, tc.finals[i])
			}
		}
	}
}
