package alter

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// mariadbCharsets is a server with some of MariaDB's character sets and collations the parser lacks.
var mariadbCharsets = &Server{
	MariaDB: true, Version: 101106,
	Charsets: []Charset{
		{Name: "cp1251", DefaultCollation: "cp1251_general_ci", MaxLen: 1},
		{Name: "utf16", DefaultCollation: "utf16_general_ci", MaxLen: 4},
		{Name: "utf8mb3", DefaultCollation: "utf8mb3_general_ci", MaxLen: 3},
	},
	Collations: []Collation{
		{Name: "cp1251_general_ci", Charset: "cp1251", ID: 51},
		{Name: "utf8mb4_nopad_bin", Charset: "utf8mb4", ID: 1070},
		{Name: "utf8mb3_polish_nopad_ci", Charset: "utf8mb3", ID: 1221},
		{Name: "uca1400_ai_ci", ID: 0},
		{Name: "utf8mb4_uca1400_ai_ci", Charset: "utf8mb4", ID: 2304},
	},
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name        string
		alter       string
		server      *Server // mariadbCharsets when nil
		clause      string
		renames     map[string]string
		dropped     []string
		setsAutoInc bool
		atSwap      bool
		err         string
	}{
		{name: "add column and index", alter: "ADD COLUMN x INT NULL, ADD INDEX (x)", clause: "ADD COLUMN x INT NULL, ADD INDEX (x)"},
		{name: "whole statement", alter: "ALTER TABLE `t` ADD COLUMN x INT;", clause: "ADD COLUMN x INT"},
		{name: "whole statement with schema", alter: "alter table d.t drop column c", clause: "drop column c", dropped: []string{"c"}},
		{name: "whole statement, spaced schema", alter: "ALTER TABLE `d` . `t` FORCE", clause: "FORCE"},
		{name: "whole statement in comments", alter: "/* why */ ALTER /*!40101 TABLE */ t -- the table\n FORCE /* ; */", clause: "FORCE"},
		{name: "other schema", alter: "ALTER TABLE other.t ADD COLUMN x INT", err: "--database is \"d\""},
		{name: "other table", alter: "ALTER TABLE u ADD COLUMN x INT", err: `names table "u"`},
		{name: "table in another case", alter: "ALTER TABLE D.T FORCE", clause: "FORCE"},
		{name: "table in another case, case-sensitive names", alter: "ALTER TABLE T FORCE", server: &Server{MariaDB: true, Version: 101106, TableNamesCaseSensitive: true}, err: `names table "T" but --table is "t"`},
		{name: "schema in another case, case-sensitive names", alter: "ALTER TABLE D.t FORCE", server: &Server{MariaDB: true, Version: 101106, TableNamesCaseSensitive: true}, err: "--database is"},
		{name: "comment between schema and name", alter: "ALTER TABLE d./**/t FORCE", clause: "FORCE"},
		{name: "semicolon then a comment", alter: "FORCE; -- done", clause: "FORCE"},
		{name: "semicolon in a line comment", alter: "FORCE -- ; DROP TABLE t", clause: "FORCE"},
		{name: "drop without COLUMN", alter: "DROP a", clause: "DROP a", dropped: []string{"a"}},
		{name: "engine InnoBase", alter: "ENGINE=InnoBase", clause: "ENGINE=InnoBase"},
		{name: "quoted name with backtick", alter: "ALTER TABLE `t``x` ENGINE=InnoDB", err: "names table \"t`x\""},
		{name: "alter ignore", alter: "ALTER IGNORE TABLE t ADD UNIQUE (v)", err: "ALTER IGNORE TABLE"},
		{name: "alter online", alter: "ALTER ONLINE TABLE t FORCE", err: "ALTER ONLINE TABLE"},
		{name: "a clause starting with ALTER", alter: "ALTER COLUMN v SET DEFAULT 1", clause: "ALTER COLUMN v SET DEFAULT 1"},
		{name: "change column renames", alter: "CHANGE COLUMN a b INT NOT NULL", clause: "CHANGE COLUMN a b INT NOT NULL", renames: map[string]string{"a": "b"}},
		{name: "MariaDB column attributes and types", alter: "ADD COLUMN x INT NULL INVISIBLE, ADD COLUMN ip INET6 NULL, ADD COLUMN u UUID NOT NULL DEFAULT UUID(), MODIFY c VARCHAR(100) COMPRESSED, ADD INDEX i (x) IGNORED",
			clause: "ADD COLUMN x INT NULL INVISIBLE, ADD COLUMN ip INET6 NULL, ADD COLUMN u UUID NOT NULL DEFAULT UUID(), MODIFY c VARCHAR(100) COMPRESSED, ADD INDEX i (x) IGNORED"},
		{name: "MariaDB rename with a MariaDB type", alter: "CHANGE a b INET4 NULL, ADD COLUMN g INT AS (x + 1) PERSISTENT", clause: "CHANGE a b INET4 NULL, ADD COLUMN g INT AS (x + 1) PERSISTENT", renames: map[string]string{"a": "b"}},
		{name: "expression default", alter: "ADD COLUMN d INT DEFAULT (a + 1) INVISIBLE", clause: "ADD COLUMN d INT DEFAULT (a + 1) INVISIBLE"},
		{name: "spatial types and indexes", alter: "ADD COLUMN p POINT NOT NULL, ADD COLUMN g GEOMETRY NULL DEFAULT (POINT(0, 0)), ADD SPATIAL INDEX sp (p), ADD COLUMN point INT",
			clause: "ADD COLUMN p POINT NOT NULL, ADD COLUMN g GEOMETRY NULL DEFAULT (POINT(0, 0)), ADD SPATIAL INDEX sp (p), ADD COLUMN point INT"},
		{name: "columns named like MariaDB words", alter: "ADD COLUMN invisible INT, ADD COLUMN uuid UUID", clause: "ADD COLUMN invisible INT, ADD COLUMN uuid UUID"},
		{name: "system versioning", alter: "ADD SYSTEM VERSIONING", err: "SYSTEM VERSIONING"},
		{name: "column without versioning", alter: "MODIFY c INT WITHOUT SYSTEM VERSIONING", err: "SYSTEM VERSIONING"},
		{name: "change column same name", alter: "CHANGE COLUMN a a BIGINT", clause: "CHANGE COLUMN a a BIGINT"},
		{name: "change column case only", alter: "CHANGE a A BIGINT", clause: "CHANGE a A BIGINT"},
		{name: "rename column to itself", alter: "RENAME COLUMN a TO A", clause: "RENAME COLUMN a TO A"},
		{name: "rename column", alter: "RENAME COLUMN `old name` TO `new name`", clause: "RENAME COLUMN `old name` TO `new name`", renames: map[string]string{"old name": "new name"}},
		{name: "swap", alter: "RENAME COLUMN a TO b, RENAME COLUMN b TO a", clause: "RENAME COLUMN a TO b, RENAME COLUMN b TO a", renames: map[string]string{"a": "b", "b": "a"}},
		{name: "renamed twice", alter: "RENAME COLUMN a TO b, CHANGE a c INT", err: "renames column `a` twice"},
		{name: "drop and add again", alter: "DROP COLUMN c, ADD COLUMN c INT", clause: "DROP COLUMN c, ADD COLUMN c INT", dropped: []string{"c"}},
		{name: "rename into a dropped name", alter: "DROP COLUMN a, CHANGE COLUMN b a INT", clause: "DROP COLUMN a, CHANGE COLUMN b a INT", renames: map[string]string{"b": "a"}, dropped: []string{"a"}},
		{name: "rename hidden in a MariaDB comment", alter: "ADD COLUMN x INT /*M!100000 , CHANGE COLUMN w w2 INT */", clause: "ADD COLUMN x INT , CHANGE COLUMN w w2 INT", renames: map[string]string{"w": "w2"}},
		{name: "MariaDB comment on MySQL", alter: "ADD COLUMN x INT /*M!100000 , CHANGE COLUMN w w2 INT */", server: mysql80, clause: "ADD COLUMN x INT"},
		{name: "rename hidden in an executable comment", alter: "ADD COLUMN x INT /*! , RENAME COLUMN w TO w2 */", server: mysql80, clause: "ADD COLUMN x INT , RENAME COLUMN w TO w2", renames: map[string]string{"w": "w2"}},
		{name: "second statement in a comment", alter: "ADD COLUMN x INT /*!; DROP TABLE t */", err: "must be one statement"},
		{name: "two statements", alter: "ADD COLUMN x INT; DROP TABLE t", err: "must be one statement"},
		{name: "semicolon in a string", alter: "COMMENT = 'a;b'", clause: "COMMENT = 'a;b'"},
		{name: "only a comment", alter: "/* nothing */", err: "empty"},
		{name: "rename table", alter: "RENAME TO u", err: "renames the table"},
		{name: "rename table among others", alter: "ADD COLUMN x INT, RENAME TO u", err: "renames the table"},
		{name: "foreign key", alter: "ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id)", err: "FOREIGN KEY"},
		{name: "algorithm", alter: "ADD COLUMN x INT, ALGORITHM=INPLACE", err: "ALGORITHM="},
		{name: "algorithm in a comment", alter: "ADD COLUMN x INT /*!50600 , ALGORITHM=INPLACE */", server: mysql80, err: "ALGORITHM="},
		{name: "discard tablespace", alter: "DISCARD TABLESPACE", err: "table maintenance operation"},
		{name: "garbage", alter: "ADD COLUMNN x INT", err: "cannot parse"},
		{name: "empty", alter: "  ", err: "empty"},
		{name: "mariadb syntax the parser cannot read", alter: "ADD COLUMN x INT WITH FOO BAR", err: "cannot parse --alter"},
		{name: "auto increment option", alter: "AUTO_INCREMENT = 1000", clause: "AUTO_INCREMENT = 1000", setsAutoInc: true},
		{name: "unicode names", alter: "ADD COLUMN `prénom 😀` VARCHAR(10)", clause: "ADD COLUMN `prénom 😀` VARCHAR(10)"},

		{name: "charset cp1251", alter: "MODIFY v TEXT CHARACTER SET cp1251", clause: "MODIFY v TEXT CHARACTER SET cp1251"},
		{name: "convert to utf16", alter: "CONVERT TO CHARACTER SET utf16", clause: "CONVERT TO CHARACTER SET utf16"},
		{name: "default charset", alter: "DEFAULT CHARSET = cp1251", clause: "DEFAULT CHARSET = cp1251"},
		{name: "nopad collation", alter: "MODIFY v VARCHAR(10) COLLATE utf8mb4_nopad_bin", clause: "MODIFY v VARCHAR(10) COLLATE utf8mb4_nopad_bin"},
		{name: "utf8mb3 collation", alter: "MODIFY v VARCHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_polish_nopad_ci", clause: "MODIFY v VARCHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_polish_nopad_ci"},
		{name: "uca1400 collation", alter: "MODIFY v VARCHAR(10) COLLATE uca1400_ai_ci", clause: "MODIFY v VARCHAR(10) COLLATE uca1400_ai_ci"},
		{name: "uca1400 collation with its charset", alter: "MODIFY v VARCHAR(10) COLLATE utf8mb4_uca1400_ai_ci", clause: "MODIFY v VARCHAR(10) COLLATE utf8mb4_uca1400_ai_ci"},
		{name: "unknown charset", alter: "MODIFY v TEXT CHARACTER SET klingon", err: "cannot parse"},
		{name: "charset introducer", alter: "MODIFY v TEXT CHARACTER SET cp1251 DEFAULT _cp1251'x'", err: "cannot parse"},

		{name: "engine InnoDB", alter: "ENGINE=InnoDB", clause: "ENGINE=InnoDB"},
		{name: "engine MyISAM", alter: "ENGINE=MyISAM", err: "ENGINE=MyISAM"},
		{name: "engine Aria among others", alter: "ADD COLUMN x INT, ENGINE = Aria", err: "ENGINE=Aria"},
		{name: "engine in an executable comment", alter: "FORCE /*! , ENGINE=MEMORY */", err: "ENGINE=MEMORY"},
		{name: "engine of new partitions", alter: "PARTITION BY HASH(id) (PARTITION p0 ENGINE=MyISAM, PARTITION p1 ENGINE=MyISAM)", err: "ENGINE=MyISAM"},

		{name: "drop partition", alter: "DROP PARTITION p0, p1", clause: "DROP PARTITION p0, p1", atSwap: true},
		{name: "truncate partition", alter: "TRUNCATE PARTITION p0", clause: "TRUNCATE PARTITION p0", atSwap: true},
		{name: "truncate all partitions", alter: "TRUNCATE PARTITION ALL", clause: "TRUNCATE PARTITION ALL", atSwap: true},
		{name: "drop partition with another change", alter: "ADD COLUMN x INT, DROP PARTITION p0", err: "as an ALTER of its own"},
		{name: "exchange partition", alter: "EXCHANGE PARTITION p0 WITH TABLE u", err: "exchanges a partition"},
		{name: "analyze partition", alter: "ANALYZE PARTITION p0", err: "run it natively: ALTER TABLE `d`.`t` ANALYZE PARTITION p0"},
		{name: "check partition", alter: "CHECK PARTITION p0", err: "maintenance"},
		{name: "optimize partition", alter: "OPTIMIZE PARTITION p0", err: "maintenance"},
		{name: "repair partition", alter: "REPAIR PARTITION ALL", err: "maintenance"},
		{name: "discard partition tablespace", alter: "DISCARD PARTITION p0 TABLESPACE", err: "DISCARD or IMPORT TABLESPACE"},
		{name: "import partition tablespace", alter: "IMPORT PARTITION p0 TABLESPACE", err: "DISCARD or IMPORT TABLESPACE"},
		{name: "add partition", alter: "ADD PARTITION (PARTITION p9 VALUES LESS THAN (900))", clause: "ADD PARTITION (PARTITION p9 VALUES LESS THAN (900))"},
		{name: "coalesce partition", alter: "COALESCE PARTITION 2", clause: "COALESCE PARTITION 2"},
		{name: "reorganize partition", alter: "REORGANIZE PARTITION p0 INTO (PARTITION a VALUES LESS THAN (5), PARTITION b VALUES LESS THAN (10))", clause: "REORGANIZE PARTITION p0 INTO (PARTITION a VALUES LESS THAN (5), PARTITION b VALUES LESS THAN (10))"},
		{name: "partition by", alter: "PARTITION BY HASH(id) PARTITIONS 4", clause: "PARTITION BY HASH(id) PARTITIONS 4"},
		{name: "remove partitioning", alter: "REMOVE PARTITIONING", clause: "REMOVE PARTITIONING"},
		{name: "rebuild partition", alter: "REBUILD PARTITION p0", clause: "REBUILD PARTITION p0"},
		{name: "TiDB only", alter: "SECONDARY_LOAD", err: "not MySQL or MariaDB syntax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.server
			if srv == nil {
				srv = mariadbCharsets
			}
			a, err := Parse(tc.alter, "d", "t", srv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Clause != tc.clause {
				t.Errorf("clause %q, want %q", a.Clause, tc.clause)
			}
			if tc.renames == nil {
				tc.renames = map[string]string{}
			}
			if !reflect.DeepEqual(a.Renames, tc.renames) {
				t.Errorf("renames %v, want %v", a.Renames, tc.renames)
			}
			if !reflect.DeepEqual(a.Dropped, tc.dropped) {
				t.Errorf("dropped %v, want %v", a.Dropped, tc.dropped)
			}
			if a.AtSwap != tc.atSwap || (a.GhostClause() == "") != tc.atSwap {
				t.Errorf("AtSwap %v, GhostClause %q; want AtSwap %v", a.AtSwap, a.GhostClause(), tc.atSwap)
			}
			if a.SetsAutoIncrement != tc.setsAutoInc {
				t.Errorf("SetsAutoIncrement %v, want %v", a.SetsAutoIncrement, tc.setsAutoInc)
			}
		})
	}
}

// TestRead reads, for the pre-flight plan, what Parse refuses; what cannot be read stays an error.
func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name      string
		alter     string
		specs     int
		rewritten bool
		err       string
	}{
		{name: "plain", alter: "ADD COLUMN x INT, DROP INDEX i", specs: 2},
		{name: "whole statement", alter: "ALTER TABLE t ADD COLUMN x INT;", specs: 1},
		{name: "foreign key", alter: "ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id)", specs: 1},
		{name: "rename table", alter: "ADD COLUMN x INT, RENAME TO u", specs: 2},
		{name: "algorithm and lock", alter: "ADD COLUMN x INT, ALGORITHM=INPLACE, LOCK=NONE", specs: 3},
		{name: "another engine", alter: "ENGINE=MyISAM", specs: 1},
		{name: "drop partition", alter: "DROP PARTITION p0", specs: 1},
		{name: "renamed twice", alter: "RENAME COLUMN a TO b, CHANGE a c INT", specs: 2},
		{name: "MariaDB syntax", alter: "ADD COLUMN ip INET6 NULL INVISIBLE", specs: 1, rewritten: true},
		{name: "MariaDB syntax in a MariaDB comment", alter: "ADD COLUMN x INT /*M!100000 INVISIBLE */", specs: 1, rewritten: true},
		{name: "system versioning", alter: "ADD SYSTEM VERSIONING", err: "SYSTEM VERSIONING"},
		{name: "garbage", alter: "ADD COLUMNN x INT", err: "cannot parse"},
		{name: "other table", alter: "ALTER TABLE u ADD COLUMN x INT", err: `names table "u"`},
		{name: "two statements", alter: "ADD COLUMN x INT; DROP TABLE t", err: "must be one statement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Read(tc.alter, "d", "t", mariadbCharsets)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Specs) != tc.specs || a.Rewritten != tc.rewritten {
				t.Errorf("%d specs, rewritten %v; want %d, %v", len(a.Specs), a.Rewritten, tc.specs, tc.rewritten)
			}
			if p, err := Parse(tc.alter, "d", "t", mariadbCharsets); err == nil && (len(p.Specs) != len(a.Specs) || p.Rewritten != a.Rewritten) {
				t.Errorf("Parse read %d specs, rewritten %v; Read %d, %v", len(p.Specs), p.Rewritten, len(a.Specs), a.Rewritten)
			}
		})
	}
}

// TestParseConcurrently parses while other servers' character sets are being added to the parser's
// tables (run with -race).
func TestParseConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("testcs%d", i)
			srv := &Server{MariaDB: true, Version: 101106,
				Charsets:   []Charset{{Name: name, DefaultCollation: name + "_bin", MaxLen: 1}},
				Collations: []Collation{{Name: name + "_bin", Charset: name, ID: 5000 + i}}}
			for range 20 {
				if _, err := Parse("MODIFY v TEXT CHARACTER SET "+name+" COLLATE "+name+"_bin, CONVERT TO CHARACTER SET utf16", "d", "t", &Server{
					MariaDB: srv.MariaDB, Version: srv.Version, Charsets: append(srv.Charsets, mariadbCharsets.Charsets...), Collations: srv.Collations,
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
