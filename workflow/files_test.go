package workflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		desc    string
		dir     direction
		ok      bool
		err     string
	}{
		{"0001_create_users.up.sql", "1", "create users", up, true, ""},
		{"0001_create_users.down.sql", "1", "create users", down, true, ""},
		{"20240101120000_add_email.up.sql", "20240101120000", "add email", up, true, ""},
		{"V1__create_users.sql", "1", "create users", up, true, ""},
		{"V1_1__fix.sql", "1.1", "fix", up, true, ""},
		{"V2.10__more.sql", "2.10", "more", up, true, ""},
		{"U3__create_users.sql", "3", "create users", down, true, ""},
		{"README.md", "", "", up, false, ""},
		{"R__views.sql", "", "", up, true, "repeatable"},
		{"V1_create.sql", "", "", up, true, "two underscores"},
		{"0001_create.sql", "", "", up, true, ".up.sql or .down.sql"},
		{"create.up.sql", "", "", up, true, "does not start with a version"},
		{"V1x__a.sql", "", "", up, true, "not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok, err := parseName(tc.name)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, tc.ok)
			}
			if ok && (f.version.String() != tc.version || f.description != tc.desc || f.dir != tc.dir) {
				t.Errorf("read %s %q %v, want %s %q %v", f.version, f.description, f.dir, tc.version, tc.desc, tc.dir)
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1", "2", -1},
		{"0002", "2", 0},
		{"1.9", "1.10", -1},
		{"1", "1.0", 0},
		{"1.1", "1", 1},
		{"10", "9", 1},
	} {
		a, err := ParseVersion(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != tc.want {
			t.Errorf("%s vs %s: %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestChecksum(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"CREATE TABLE t (id INT PRIMARY KEY);\n", Checksum([]byte("CREATE TABLE t (id INT PRIMARY KEY);\n"))},
	} {
		if got := Checksum([]byte(tc.in)); got != tc.want || len(got) != 64 {
			t.Errorf("Checksum(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if Checksum([]byte("a;")) == Checksum([]byte("a; ")) {
		t.Error("a changed byte must change the checksum")
	}
}

func TestReadDir(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // versions:descriptions, in order, with "+down" for a down script
		err   string
	}{
		{"golang-migrate", map[string]string{"0002_b.up.sql": "x", "0001_a.up.sql": "x", "0001_a.down.sql": "x", "0010_c.up.sql": "x", "notes.txt": "x"}, "1:a+down 2:b 10:c", ""},
		{"flyway", map[string]string{"V1__a.sql": "x", "U1__a.sql": "x", "V1_1__b.sql": "x", "V2__c.sql": "x"}, "1:a+down 1.1:b 2:c", ""},
		{"same version twice", map[string]string{"0001_a.up.sql": "x", "V1__b.sql": "x"}, "", "are both version 1"},
		{"down without up", map[string]string{"0001_a.down.sql": "x"}, "", "has no up script"},
		{"bad name", map[string]string{"0001_a.up.sql": "x", "init.sql": "x"}, "", "init.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ReadDir(write(t, tc.files))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				s := m.Version.String() + ":" + m.Description
				if m.Down != nil {
					s += "+down"
				}
				if m.Up.Checksum != Checksum([]byte(m.Up.Text)) {
					t.Errorf("%s: checksum %s is not the file's", m.Up.Name, m.Up.Checksum)
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("read %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}
