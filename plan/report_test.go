package plan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestInstant(t *testing.T) {
	r := classifyText(t, ma1011, orders, "ADD COLUMN c INT, ADD CONSTRAINT chk CHECK (amount >= 0), ALGORITHM=INPLACE", Options{})
	if r.Instant() {
		t.Fatal("ADD CHECK copies: not instant")
	}
	r = classifyText(t, ma1011, orders, "ADD COLUMN c INT DEFAULT 'x', LOCK=NONE", Options{})
	if !r.Instant() {
		t.Fatal("ADD COLUMN with a literal default is instant on MariaDB 10.11")
	}
	if got := clauseSQLOf(t, "ADD CONSTRAINT chk CHECK (amount >= 0)"); got != "ADD CONSTRAINT `chk` CHECK(`amount`>=0)" {
		t.Fatalf("CHECK renders as %q: MariaDB does not know ENFORCED", got)
	}
	if got := clauseSQLOf(t, "DROP CHECK chk"); got != "DROP CONSTRAINT `chk`" {
		t.Fatalf("DROP CHECK renders as %q for MariaDB", got)
	}
	if got := clauseSQLOf(t, "FORCE"); got != "FORCE" {
		t.Fatalf("FORCE renders as %q", got)
	}
}

func clauseSQLOf(t *testing.T, alter string) string {
	t.Helper()
	return clauseSQL(readAlter(t, flavor(t, ma1011), "orders", alter).Specs[0], "mariadb")
}

func TestWriteTextAndJSON(t *testing.T) {
	r := classifyText(t, my80, orders, "ADD COLUMN c INT NOT NULL, DROP COLUMN note", Options{})
	var text bytes.Buffer
	r.ShowExitCode = true
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"verdict  refused (exit 2)",
		"ADD COLUMN `c` INT NOT NULL",
		"data loss",
		"deployment  expand-contract, in phases",
		"for DROP COLUMN `note`:",
		"1. deploy: code stops reading `note`",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Verdict   string `json:"verdict"`
		Algorithm string `json:"algorithm"`
		Clauses   []struct {
			Risk      string `json:"risk"`
			Algorithm string `json:"algorithm"`
			Order     string `json:"deployOrder"`
		} `json:"clauses"`
		Deployment struct {
			Order  string `json:"order"`
			Phases []struct {
				Clause string   `json:"clause"`
				Steps  []string `json:"steps"`
			} `json:"phases"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != "refused" || back.Algorithm != "instant" || len(back.Clauses) != 2 ||
		back.Clauses[1].Risk != "data-loss" || back.Clauses[0].Order != "expand-contract" ||
		back.Deployment.Order != "expand-contract" || len(back.Deployment.Phases) != 2 {
		t.Fatalf("JSON shape:\n%s", js.String())
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{thousands(0), "0"},
		{thousands(999), "999"},
		{thousands(1234567), "1,234,567"},
		{thousands(-1234), "-1,234"},
		{bytesText(512), "512 B"},
		{bytesText(1536), "1.5 KiB"},
		{bytesText(3 << 30), "3.0 GiB"},
		{durationText(0.0042), "4ms"},
		{durationText(12.34), "12.3s"},
		{durationText(3725), "1h2m5s"},
		{durationText(3 * 86400), "3.0d"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
