package workflow

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/plan"
)

func TestDeploymentOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		orders  []plan.Order
		want    plan.Order
		summary string
	}{
		{"nothing the code sees", []plan.Order{plan.AnyOrder, plan.AnyOrder}, plan.AnyOrder, "when convenient"},
		{"additive", []plan.Order{plan.MigrationFirst, plan.AnyOrder}, plan.MigrationFirst, "migration before code"},
		{"removing", []plan.Order{plan.CodeFirst}, plan.CodeFirst, "code before migration"},
		{"both", []plan.Order{plan.MigrationFirst, plan.CodeFirst}, plan.ExpandContract, "two phases: the additive part (statement 1) before the code, the rest (statement 2) after it"},
		{"a rename", []plan.Order{plan.ExpandContract}, plan.ExpandContract, "two phases: neither order is safe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := MigrationPlan{}
			for i, o := range tc.orders {
				mp.Steps = append(mp.Steps, Step{Statement: i + 1, Order: o})
			}
			mp.finish()
			if mp.Deployment.Order != tc.want || !strings.Contains(mp.Deployment.Summary, tc.summary) {
				t.Errorf("%s: %q, want %s: %q", mp.Deployment.Order, mp.Deployment.Summary, tc.want, tc.summary)
			}
		})
	}
}

// TestPlanJSON pins the --output=json shape a CI gate reads, and the exit code.
func TestPlanJSON(t *testing.T) {
	est := 12.5
	p := &Plan{Database: "shop", Direction: "up", Verdict: plan.VerdictNeedsCare, Migrations: []MigrationPlan{{
		Version: "2", Description: "add email", Script: "0002_add_email.up.sql", Direction: "up", Verdict: plan.VerdictNeedsCare,
		Deployment: Deployment{Order: plan.MigrationFirst, Summary: "migration before code"},
		Steps: []Step{
			{Statement: 1, Line: 1, SQL: "ALTER TABLE users ADD COLUMN email VARCHAR(100) NULL", Kind: KindAlter, How: HowInstant, Verdict: plan.VerdictSafe, Order: plan.MigrationFirst},
			{Statement: 2, Line: 3, SQL: "ALTER TABLE users ADD INDEX email (email)", Kind: KindAlter, How: HowOnline, Verdict: plan.VerdictNeedsCare, EstimateSeconds: &est, Findings: []string{"x"}},
		},
	}}}
	var b bytes.Buffer
	if err := p.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Database   string `json:"database"`
		Verdict    string `json:"verdict"`
		Migrations []struct {
			Version    string `json:"version"`
			Script     string `json:"script"`
			Verdict    string `json:"verdict"`
			Deployment struct {
				Order string `json:"order"`
			} `json:"deployment"`
			Statements []struct {
				Statement       int      `json:"statement"`
				Line            int      `json:"line"`
				Kind            string   `json:"kind"`
				How             string   `json:"how"`
				Verdict         string   `json:"verdict"`
				DeployOrder     string   `json:"deployOrder"`
				EstimateSeconds *float64 `json:"estimateSeconds"`
			} `json:"statements"`
		} `json:"migrations"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	m := got.Migrations[0]
	s := m.Statements[1]
	if got.Database != "shop" || got.Verdict != "needs-care" || m.Version != "2" || m.Deployment.Order != "migration-first" ||
		m.Statements[0].How != "instant" || m.Statements[0].Kind != "alter" || s.How != "online" || s.Verdict != "needs-care" || s.EstimateSeconds == nil || *s.EstimateSeconds != 12.5 || s.Line != 3 {
		t.Errorf("JSON:\n%s", b.String())
	}
	if p.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1 (needs care)", p.ExitCode())
	}
	var text bytes.Buffer
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verdict needs care", "2 add email (0002_add_email.up.sql): needs care", "deployment: migration before code", "online", "~12.5s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
}

func TestStatuses(t *testing.T) {
	v := func(s string) Version { x, _ := ParseVersion(s); return x }
	file := func(name, text string) *File { return &File{Name: name, Text: text, Checksum: Checksum([]byte(text))} }
	w := &Workflow{migrations: []Migration{
		{Version: v("1"), Description: "a", Up: file("0001_a.up.sql", "a"), Down: file("0001_a.down.sql", "-a")},
		{Version: v("2"), Description: "b", Up: file("0002_b.up.sql", "b edited")},
		{Version: v("3"), Description: "c", Up: file("0003_c.up.sql", "c")},
		{Version: v("4"), Description: "d", Up: file("0004_d.up.sql", "d")},
	}}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	row := func(rank int64, ver, dir, text string, ok bool, stopped int) Row {
		return Row{Rank: rank, Version: ver, Direction: dir, Script: "s", Checksum: Checksum([]byte(text)), AppliedAt: at, Success: ok, StoppedAt: stopped}
	}
	for _, tc := range []struct {
		name     string
		rows     []Row
		want     string
		problems []string
	}{
		{"nothing applied", nil, "1:pending 2:pending 3:pending 4:pending", nil},
		{"applied, edited, failed", []Row{row(1, "1", "up", "a", true, 0), row(2, "2", "up", "b", true, 0), row(3, "3", "up", "c", false, 2)},
			"1:applied 2:changed 3:failed 4:pending", []string{"0002_b.up.sql was edited after it was applied"}},
		{"reverted", []Row{row(1, "1", "up", "a", true, 0), row(2, "1", "down", "-a", true, 0)}, "1:pending 2:pending 3:pending 4:pending", nil},
		{"a failed down keeps it applied", []Row{row(1, "1", "up", "a", true, 0), row(2, "1", "down", "-a", false, 1)}, "1:failed 2:pending 3:pending 4:pending", nil},
		{"missing file and out of order", []Row{row(1, "3", "up", "c", true, 0), row(2, "9", "up", "z", true, 0)},
			"1:pending 2:pending 3:applied 4:pending 9:missing", []string{"not in the directory", "1 (0001_a.up.sql) is pending but 3, a later version, is applied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := w.statuses(tc.rows)
			var got []string
			for _, s := range st {
				got = append(got, s.Version+":"+string(s.State))
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("states %s, want %s", strings.Join(got, " "), tc.want)
			}
			probs := strings.Join(problems(st), "\n")
			for _, p := range tc.problems {
				if !strings.Contains(probs, p) {
					t.Errorf("problems lack %q:\n%s", p, probs)
				}
			}
			if len(tc.problems) == 0 && probs != "" {
				t.Errorf("unexpected problems:\n%s", probs)
			}
		})
	}
}

func TestSchemaCompare(t *testing.T) {
	create := "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=%s DEFAULT CHARSET=utf8mb4"
	a := strings.Replace(create, "%s", "5", 1)
	b := strings.Replace(create, "%s", "900", 1)
	if withoutAutoIncrement(a) != withoutAutoIncrement(b) || strings.Contains(withoutAutoIncrement(a), "AUTO_INCREMENT=") || !strings.Contains(withoutAutoIncrement(a), "NOT NULL AUTO_INCREMENT") {
		t.Errorf("the counter must go, the column attribute stay:\n%s", withoutAutoIncrement(a))
	}
	for _, tc := range []struct {
		name string
		a, b map[string]string
		want string
	}{
		{"equal", map[string]string{"t": "x\ny"}, map[string]string{"t": "x\ny"}, ""},
		{"column left over", map[string]string{"t": "a\nb"}, map[string]string{"t": "a\nb\nc"}, "table `t` differs:\n    + c"},
		{"table gone", map[string]string{"t": "a", "u": "b"}, map[string]string{"t": "a"}, "table `u` is gone"},
		{"table left over", map[string]string{}, map[string]string{"v": "a"}, "table `v` is left over"},
		{"column order", map[string]string{"t": "a\nb\nc"}, map[string]string{"t": "a\nc\nb"}, "line 2 was b, is c (another order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := schemaDiff(tc.a, tc.b)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("diff %q, want %q", got, tc.want)
			}
		})
	}
}
