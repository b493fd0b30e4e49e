package workflow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/alter"
)

// testServer is a MariaDB 10.11 with two character sets besides the parser's own.
var testServer = &alter.Server{MariaDB: true, Version: 101100, Charsets: []alter.Charset{
	{Name: "cp1251", DefaultCollation: "cp1251_general_ci", MaxLen: 1},
	{Name: "latin2", DefaultCollation: "latin2_general_ci", MaxLen: 1},
}, Collations: []alter.Collation{
	{Name: "cp1251_general_ci", Charset: "cp1251", ID: 51},
	{Name: "latin2_general_ci", Charset: "latin2", ID: 9},
}}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []string // "line kind[ backfill] table: sql"
		err  string
	}{
		{"statements and comments", "-- users\nCREATE TABLE users (id INT PRIMARY KEY, note VARCHAR(10) DEFAULT 'a;b');\n\n/* index */ ALTER TABLE users ADD INDEX n (note);\n",
			[]string{"2 create : CREATE TABLE users (id INT PRIMARY KEY, note VARCHAR(10) DEFAULT 'a;b')", "4 alter users: /* index */ ALTER TABLE users ADD INDEX n (note)"}, ""},
		{"backfill directive", "ALTER TABLE t ADD COLUMN c INT NULL;\n-- doppel:backfill\nUPDATE t SET c = id WHERE c IS NULL;\nUPDATE t SET c = 0 WHERE c IS NULL",
			[]string{"1 alter t: ALTER TABLE t ADD COLUMN c INT NULL", "3 data backfill : UPDATE t SET c = id WHERE c IS NULL", "4 data : UPDATE t SET c = 0 WHERE c IS NULL"}, ""},
		{"a semicolon in a string or comment", "INSERT INTO t VALUES ('x;y'); # a ; here\nDELETE FROM t WHERE id = 1;",
			[]string{"1 data : INSERT INTO t VALUES ('x;y')", "2 data : DELETE FROM t WHERE id = 1"}, ""},
		{"rename, drop", "RENAME TABLE a TO b;\nDROP TABLE b;\nTRUNCATE c;\nDROP INDEX i ON d",
			[]string{"1 rename : RENAME TABLE a TO b", "2 drop : DROP TABLE b", "3 drop : TRUNCATE c", "4 drop : DROP INDEX i ON d"}, ""},
		{"another database's table", "ALTER TABLE other.t ADD COLUMN c INT", []string{"1 other t: ALTER TABLE other.t ADD COLUMN c INT"}, ""},
		{"directive on DDL", "-- doppel:backfill\nALTER TABLE t ADD COLUMN c INT", nil, "not an UPDATE or an INSERT"},
		{"transaction control", "BEGIN;\nUPDATE t SET a = 1;\nCOMMIT;", nil, "transaction control"},
		{"syntax error", "CREATE TABLE t (id INT PRIMARY KEY);\n\n-- c\nALTER TABLE t ADD COLUMN;", nil, "cannot be read at line 4"},
		{"a semicolon in a comment inside a statement", "UPDATE t SET a = 1 -- not here; nor /* here; */\nWHERE id = 2;\nDELETE FROM t /* ; */ WHERE id = 3",
			[]string{"1 data : UPDATE t SET a = 1 -- not here; nor /* here; */\nWHERE id = 2", "3 data : DELETE FROM t /* ; */ WHERE id = 3"}, ""},
		{"quoted names and escapes", "INSERT INTO `we;ird` VALUES ('it\\'s; fine', \"a;\"\"b\");\nSELECT 1;",
			[]string{"1 data : INSERT INTO `we;ird` VALUES ('it\\'s; fine', \"a;\"\"b\")", "2 other : SELECT 1"}, ""},
		{"the server's character sets", "CREATE TABLE t (a VARCHAR(10) CHARACTER SET cp1251) DEFAULT CHARSET=latin2;",
			[]string{"1 create : CREATE TABLE t (a VARCHAR(10) CHARACTER SET cp1251) DEFAULT CHARSET=latin2"}, ""},
		{"MariaDB types", "ALTER TABLE t ADD COLUMN ip INET6 NULL, ADD COLUMN u UUID NULL;",
			[]string{"1 alter t: ALTER TABLE t ADD COLUMN ip INET6 NULL, ADD COLUMN u UUID NULL"}, ""},
		{"an executable comment", "ALTER TABLE t ADD COLUMN c INT /*M!100000 , ADD COLUMN d INT */;",
			[]string{"1 alter t: ALTER TABLE t ADD COLUMN c INT /*M!100000 , ADD COLUMN d INT */"}, ""},
		{"only comments", "-- nothing yet\n/* later */\n", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := Split("f.sql", tc.text, testServer)
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
			for _, s := range stmts {
				bf := ""
				if s.Backfill {
					bf = " backfill"
				}
				got = append(got, fmt.Sprintf("%d %s%s %s: %s", s.Line, s.Kind, bf, s.Table, s.SQL))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("split\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}
