package alter

import (
	"strings"
	"testing"
)

var (
	mysql57   = &Server{Version: 50744}
	mysql80   = &Server{Version: 80036}
	mysql84   = &Server{Version: 80402}
	mariadb   = &Server{MariaDB: true, Version: 101106}
	mariadb10 = &Server{MariaDB: true, Version: 100011}
)

func TestCanonical(t *testing.T) {
	servers := map[string]*Server{"mysql57": mysql57, "mysql80": mysql80, "mysql84": mysql84, "mariadb": mariadb, "mariadb10.0": mariadb10}
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string // by server; "*" for every server not named
		err  string
	}{
		{name: "plain", in: "ADD COLUMN x INT", want: map[string]string{"*": "ADD COLUMN x INT"}},
		{name: "plain comment", in: "ADD COLUMN x INT /* note */ NULL", want: map[string]string{"*": "ADD COLUMN x INT NULL"}},
		{name: "comment glues nothing", in: "ADD COLUMN x/**/INT", want: map[string]string{"*": "ADD COLUMN x INT"}},
		{name: "hint is a comment", in: "ADD COLUMN x INT /*+ SET_VAR(x=1) */", want: map[string]string{"*": "ADD COLUMN x INT"}},
		{name: "line comments", in: "ADD COLUMN x INT -- why\n, ADD INDEX (x) # also", want: map[string]string{"*": "ADD COLUMN x INT\n, ADD INDEX (x)"}},
		{name: "double dash without space is minus", in: "ADD COLUMN x INT DEFAULT 1--1", want: map[string]string{"*": "ADD COLUMN x INT DEFAULT 1--1"}},
		{name: "double dash at the end", in: "FORCE --", want: map[string]string{"*": "FORCE"}},
		{name: "double dash and tab", in: "FORCE --\tx", want: map[string]string{"*": "FORCE"}},
		{name: "executable without version", in: "ADD COLUMN x INT /*! , ADD COLUMN y INT */", want: map[string]string{"*": "ADD COLUMN x INT , ADD COLUMN y INT"}},
		{name: "executable, old version", in: "ADD COLUMN x INT /*!40101 , CHANGE COLUMN w w2 INT */", want: map[string]string{"*": "ADD COLUMN x INT , CHANGE COLUMN w w2 INT"}},
		{name: "executable, version right after", in: "ADD COLUMN x INT /*!40101, DROP COLUMN w*/", want: map[string]string{"*": "ADD COLUMN x INT , DROP COLUMN w"}},
		{name: "executable, future version", in: "ADD COLUMN x INT /*!99999 , DROP COLUMN w */", want: map[string]string{"*": "ADD COLUMN x INT"}},
		{
			name: "executable, MySQL 8.0 version", in: "ADD COLUMN x INT /*!80000 , DROP COLUMN w */",
			want: map[string]string{"mysql57": "ADD COLUMN x INT", "*": "ADD COLUMN x INT , DROP COLUMN w", "mariadb": "ADD COLUMN x INT", "mariadb10.0": "ADD COLUMN x INT"},
		},
		{
			name: "executable, MySQL 5.7 version: MariaDB ignores it", in: "FORCE /*!50700 , DROP COLUMN w */",
			want: map[string]string{"*": "FORCE , DROP COLUMN w", "mariadb": "FORCE", "mariadb10.0": "FORCE"},
		},
		{
			name: "executable, just below 5.7", in: "FORCE /*!50699 , DROP COLUMN w */",
			want: map[string]string{"*": "FORCE , DROP COLUMN w"},
		},
		{
			name: "six digits: MariaDB 10.1", in: "FORCE /*!100100 , DROP COLUMN w */",
			// MySQL before 8.1 reads 10010 and runs "0 , DROP ..."; 8.1 and later read 100100.
			want: map[string]string{"mysql57": "FORCE 0 , DROP COLUMN w", "mysql80": "FORCE 0 , DROP COLUMN w", "mysql84": "FORCE", "mariadb": "FORCE , DROP COLUMN w", "mariadb10.0": "FORCE"},
		},
		{
			name: "six digits without space: MySQL 8.4 reads five", in: "FORCE /*!100100, DROP COLUMN w */",
			want: map[string]string{"mysql57": "FORCE 0, DROP COLUMN w", "mysql80": "FORCE 0, DROP COLUMN w", "mysql84": "FORCE 0, DROP COLUMN w", "mariadb": "FORCE , DROP COLUMN w", "mariadb10.0": "FORCE"},
		},
		{
			name: "MariaDB comment", in: "ADD COLUMN x INT /*M!100000 , CHANGE COLUMN w w2 INT */",
			want: map[string]string{"*": "ADD COLUMN x INT", "mariadb": "ADD COLUMN x INT , CHANGE COLUMN w w2 INT", "mariadb10.0": "ADD COLUMN x INT , CHANGE COLUMN w w2 INT"},
		},
		{
			name: "MariaDB comment, MySQL 5.7 version", in: "FORCE /*M!50700 , DROP COLUMN w */",
			want: map[string]string{"*": "FORCE", "mariadb": "FORCE , DROP COLUMN w", "mariadb10.0": "FORCE , DROP COLUMN w"},
		},
		{
			name: "MariaDB comment, later version", in: "FORCE /*M!101200 , DROP COLUMN w */",
			want: map[string]string{"*": "FORCE"},
		},
		{name: "MariaDB comment without version", in: "FORCE /*M! , DROP COLUMN w */", want: map[string]string{"*": "FORCE", "mariadb": "FORCE , DROP COLUMN w", "mariadb10.0": "FORCE , DROP COLUMN w"}},
		{name: "four digits are no version", in: "FORCE /*!1234 */", want: map[string]string{"*": "FORCE 1234"}},
		{name: "skipped version holds a comment", in: "FORCE /*!99999 a /* b */ c */ , ADD INDEX (x)", want: map[string]string{"*": "FORCE , ADD INDEX (x)"}},
		{name: "running version holds a comment", in: "FORCE /*!40101 , ADD INDEX /* i */ (x) */", want: map[string]string{"*": "FORCE , ADD INDEX (x)"}},
		{name: "plain comment ends at the first close", in: "FORCE /* a /* b */ , ADD INDEX (x)", want: map[string]string{"*": "FORCE , ADD INDEX (x)"}},
		{name: "close outside a comment stays", in: "FORCE */", want: map[string]string{"*": "FORCE */"}},
		{name: "comment in a string stays", in: "COMMENT = 'a /* b */ -- c # d'", want: map[string]string{"*": "COMMENT = 'a /* b */ -- c # d'"}},
		{name: "escaped quote in a string", in: `COMMENT = 'it\'s /* */', FORCE`, want: map[string]string{"*": `COMMENT = 'it\'s /* */', FORCE`}},
		{name: "doubled quote in a string", in: `COMMENT = "say ""/*"" ok"`, want: map[string]string{"*": `COMMENT = "say ""/*"" ok"`}},
		{name: "comment in a name stays", in: "ADD COLUMN `a/*b*/``c` INT", want: map[string]string{"*": "ADD COLUMN `a/*b*/``c` INT"}},
		{name: "string in an executable comment", in: "FORCE /*!40101 , COMMENT 'a */ b' */", want: map[string]string{"*": "FORCE , COMMENT 'a */ b'"}},
		{name: "line comment swallows the close", in: "FORCE /*! -- x */\n, ADD INDEX (x) */", want: map[string]string{"*": "FORCE\n, ADD INDEX (x)"}},
		{name: "unicode", in: "ADD COLUMN `prénom 😀` VARCHAR(10) COMMENT '😀' /* 😀 */", want: map[string]string{"*": "ADD COLUMN `prénom 😀` VARCHAR(10) COMMENT '😀'"}},
		{name: "unterminated comment", in: "FORCE /* x", err: "comment that never ends"},
		{name: "unterminated skipped version", in: "FORCE /*!99999 x /* y */", err: "comment that never ends"},
		{name: "unterminated executable", in: "FORCE /*! , ADD INDEX (x)", err: "never ends"},
		{name: "unterminated string", in: "COMMENT 'x", err: "string that never ends"},
		{name: "unterminated name", in: "ADD COLUMN `x INT", err: "quoted name that never ends"},
		{name: "nested executable", in: "FORCE /*! /*!40101 x */ */", err: "nests an executable comment"},
		{name: "dollar inside a name", in: "ADD COLUMN a$b INT", want: map[string]string{"*": "ADD COLUMN a$b INT"}},
		{name: "NUL", in: "FORCE\x00, DROP COLUMN w", err: "NUL"},
		{name: "invalid UTF-8", in: "COMMENT '\xff'", err: "UTF-8"},
	} {
		for sname, srv := range servers {
			t.Run(tc.name+"/"+sname, func(t *testing.T) {
				got, err := canonical(tc.in, srv)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want one containing %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want, ok := tc.want[sname]
				if !ok {
					want = tc.want["*"]
				}
				if got != want {
					t.Errorf("%q: got %q, want %q", tc.in, got, want)
				}
			})
		}
	}
}

// TestCanonicalDollarQuotes: MySQL 9 reads $…$ as a string, in which "/*" is text; the others read a
// comment there.
func TestCanonicalDollarQuotes(t *testing.T) {
	const in = "ADD COLUMN x INT COMMENT $$ /* $$, DROP COLUMN v /* */"
	if _, err := canonical(in, &Server{Version: 90100}); err == nil || !strings.Contains(err.Error(), "dollar-quoted") {
		t.Errorf("MySQL 9: error %v, want one about dollar quotes", err)
	}
	for _, srv := range []*Server{mysql84, mariadb} {
		if got, err := canonical(in, srv); err != nil || got != "ADD COLUMN x INT COMMENT $$" {
			t.Errorf("version %d: got %q, %v", srv.Version, got, err)
		}
	}
}
