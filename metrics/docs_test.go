package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// exportedNames is every series name a registry built as cmd/doppel builds it exposes once a
// migration has called every method: histograms as their _bucket, _sum and _count series.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	reg := NewRegistry()
	m, err := New(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	exercise(m)
	b, err := NewBackfill(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	exerciseBackfill(b)
	return seriesNames(t, reg)
}

func seriesNames(t *testing.T, g prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		case dto.MetricType_SUMMARY:
			for _, s := range []string{"", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		default:
			names[mf.GetName()] = true
		}
	}
	return names
}

var (
	promQLStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promQLMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promQLRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promQLGrouping = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promQLTokens   = regexp.MustCompile(`[A-Za-z0-9_.:]+`)
	promQLKeywords = []string{
		"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
		"bool", "offset", "atan2", "inf", "nan",
	}
)

// metricNames returns the metric names a PromQL expression reads. It removes what holds no metric
// name (strings, label matchers, ranges, grouping label lists); what is left is functions (followed
// by a parenthesis), keywords, numbers and durations, and metric names.
func metricNames(expr string) []string {
	expr = promQLStrings.ReplaceAllString(expr, `""`)
	expr = promQLMatchers.ReplaceAllString(expr, " ")
	expr = promQLRanges.ReplaceAllString(expr, " ")
	expr = promQLGrouping.ReplaceAllString(expr, " ")
	var names []string
	for _, loc := range promQLTokens.FindAllStringIndex(expr, -1) {
		tok := expr[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || tok[0] == '.' || slices.Contains(promQLKeywords, strings.ToLower(tok)) {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(expr[loc[1]:], " \t\n"), "(") {
			continue // a function
		}
		names = append(names, tok)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`doppel_state`, []string{"doppel_state"}},
		{`rate(doppel_copy_rows_total{database=~"$database", table=~"$table"}[$__rate_interval])`, []string{"doppel_copy_rows_total"}},
		{`histogram_quantile(0.99, sum by (database, table, le) (rate(a_bucket{x="1"}[5m])))`, []string{"a_bucket"}},
		{`clamp_max(100 * a / (b > 0), 100)`, []string{"a", "b"}},
		{`a / on(table) group_left(state) b`, []string{"a", "b"}},
		{`a / ignoring (type) group_left b`, []string{"a", "b"}},
		{`time() - c`, []string{"c"}},
		{`max without (instance) (x) or vector(0)`, []string{"x"}},
		{`z offset 5m > bool 1e3`, []string{"z"}},
		{`x{reason="a (b) } y"} unless y`, []string{"x", "y"}},
		{`sum(rate(typo_totl[1m]))`, []string{"typo_totl"}},
		{`label_replace(x, "dst", "$1", "src", "(.*)")`, []string{"x"}},
		{`h and on (database, table) c > 0`, []string{"h", "c"}},
	}
	for _, tc := range tests {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%s) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// dashboard is the part of a Grafana dashboard that holds queries.
type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"` // a collapsed row's panels
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	return d
}

var (
	labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*[A-Za-z_]\w*\s*\)$`)
	doppelSelector   = regexp.MustCompile(`\bdoppel_\w+\s*(\{[^}]*\})?`)
)

// Every query of the dashboard reads only metrics doppel exports, and each doppel selector is
// filtered on the dashboard's database and table, so several migrations can share it.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	d := readDashboard(t)
	check := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q reads no metric", where, expr)
		}
		for _, n := range names {
			if !exported[n] {
				t.Errorf("%s: %q reads %s, which doppel does not export", where, expr, n)
			}
		}
	}
	var queries int
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" || p.Type == "text" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				queries++
				check("panel "+p.Title, tg.Expr)
				for _, sel := range doppelSelector.FindAllStringSubmatch(tg.Expr, -1) {
					if !strings.Contains(sel[1], `database=~"$database"`) || !strings.Contains(sel[1], `table=~"$table"`) {
						t.Errorf("panel %q: %s is not filtered on $database and $table", p.Title, sel[0])
					}
				}
			}
		}
	}
	walk(d.Panels)
	if queries == 0 {
		t.Fatal("the dashboard has no panel queries")
	}

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type != "query" {
			continue
		}
		m := labelValuesQuery.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(<selector>, <label>)", v.Name, v.Definition)
			continue
		}
		check("variable "+v.Name, m[1])
	}
	for name, typ := range map[string]string{"datasource": "datasource", "database": "query", "table": "query"} {
		if vars[name] != typ {
			t.Errorf("the dashboard has no %s variable %s", typ, name)
		}
	}
}

// docs/metrics.md names every metric doppel exports, and no other doppel_ name: a metric by its
// name, a histogram also by its _bucket, _sum and _count series.
func TestDocsListEveryMetric(t *testing.T) {
	raw, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	exported := exportedNames(t)

	reg := prometheus.NewRegistry()
	m, err := New(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	exercise(m)
	b, err := NewBackfill(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	exerciseBackfill(b)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]bool{}
	for _, mf := range mfs {
		families[mf.GetName()] = true
		if !strings.Contains(doc, "`"+mf.GetName()+"`") {
			t.Errorf("docs/metrics.md does not list `%s`", mf.GetName())
		}
	}
	for _, name := range regexp.MustCompile(`\bdoppel_\w+`).FindAllString(doc, -1) {
		if !families[name] && !exported[name] {
			t.Errorf("docs/metrics.md names %s, which doppel does not export", name)
		}
	}
}
