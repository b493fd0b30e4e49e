package backfill

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/doppel-sql/doppel/alter"
)

var testServer = &alter.Server{MariaDB: true, Version: 101106}

func TestParse(t *testing.T) {
	const rng = "`id` > ? AND `id` <= ?"
	tests := []struct {
		name, sql string
		kind      Kind
		table     string // schema.table
		target    string
		where     string
		chunk     string
		count     string
	}{
		{
			name: "update with where", sql: "UPDATE t SET c = a + 1 WHERE c IS NULL",
			kind: Update, table: "db.t", where: "c IS NULL",
			chunk: "UPDATE t SET c = a + 1 WHERE (" + rng + ") AND (c IS NULL)",
			count: "SELECT COUNT(*) FROM `db`.`t` WHERE (" + rng + ") AND (c IS NULL)",
		},
		{
			name: "update without where, trailing semicolon", sql: "update `other`.`t` set c = 0;",
			kind: Update, table: "other.t",
			chunk: "update `other`.`t` set c = 0 WHERE " + rng,
			count: "SELECT COUNT(*) FROM `other`.`t` WHERE " + rng,
		},
		{
			name: "comments removed, a trailing line comment cannot swallow the range", sql: "UPDATE /* why */ t SET c = 1 WHERE a > 2 -- done",
			kind: Update, table: "db.t", where: "a > 2",
			chunk: "UPDATE   t SET c = 1 WHERE (" + rng + ") AND (a > 2)",
		},
		{
			name: "as a migration file holds it", sql: Directive + "\nUPDATE t SET c = 1 WHERE c IS NULL;\n",
			kind: Update, table: "db.t", where: "c IS NULL",
			chunk: "UPDATE t SET c = 1 WHERE (" + rng + ") AND (c IS NULL)",
		},
		{
			name: "alias, subquery with its own WHERE, OR needs parentheses", sql: "UPDATE t AS x SET x.c = (SELECT MAX(v) FROM u WHERE u.id = x.id) WHERE x.a = 1 OR x.b = 2",
			kind: Update, table: "db.t", where: "x.a = 1 OR x.b = 2",
			chunk: "UPDATE t AS x SET x.c = (SELECT MAX(v) FROM u WHERE u.id = x.id) WHERE (" + rng + ") AND (x.a = 1 OR x.b = 2)",
			count: "SELECT COUNT(*) FROM `db`.`t` AS `x` WHERE (" + rng + ") AND (x.a = 1 OR x.b = 2)",
		},
		{
			name: "strings holding keywords and quotes", sql: `UPDATE t SET c = 'it''s WHERE \' (' WHERE b = "ON DUPLICATE"`,
			kind: Update, table: "db.t", where: `b = "ON DUPLICATE"`,
			chunk: `UPDATE t SET c = 'it''s WHERE \' (' WHERE (` + rng + `) AND (b = "ON DUPLICATE")`,
		},
		{
			name: "question marks in strings and names", sql: "UPDATE t SET `c?` = 'why?' WHERE a = \"?\"",
			kind: Update, table: "db.t", where: `a = "?"`,
			chunk: "UPDATE t SET `c?` = 'why?' WHERE (" + rng + `) AND (a = "?")`,
		},
		{
			name: "insert select with where", sql: "INSERT INTO archive (id, a) SELECT id, a FROM t WHERE a < 10",
			kind: InsertSelect, table: "db.t", target: "db.archive", where: "a < 10",
			chunk: "INSERT INTO archive (id, a) SELECT id, a FROM t WHERE (" + rng + ") AND (a < 10)",
		},
		{
			name: "insert ignore select without where, on duplicate key update", sql: "INSERT IGNORE INTO s.archive SELECT id, a FROM t ON DUPLICATE KEY UPDATE a = VALUES(a)",
			kind: InsertSelect, table: "db.t", target: "s.archive",
			chunk: "INSERT IGNORE INTO s.archive SELECT id, a FROM t WHERE " + rng + " ON DUPLICATE KEY UPDATE a = VALUES(a)",
		},
		{
			name: "insert select where, then on duplicate key update", sql: "INSERT INTO archive SELECT id, a FROM t WHERE a IN (SELECT a FROM u WHERE x) ON DUPLICATE KEY UPDATE a = 1",
			kind: InsertSelect, table: "db.t", target: "db.archive", where: "a IN (SELECT a FROM u WHERE x)",
			chunk: "INSERT INTO archive SELECT id, a FROM t WHERE (" + rng + ") AND (a IN (SELECT a FROM u WHERE x)) ON DUPLICATE KEY UPDATE a = 1",
		},
		{
			name: "replace select", sql: "REPLACE INTO archive SELECT * FROM t WHERE a = 1",
			kind: InsertSelect, table: "db.t", target: "db.archive", where: "a = 1",
			chunk: "REPLACE INTO archive SELECT * FROM t WHERE (" + rng + ") AND (a = 1)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.sql, "db", testServer)
			if err != nil {
				t.Fatal(err)
			}
			if s.Kind != tc.kind || s.Schema+"."+s.Table != tc.table || s.Where != tc.where {
				t.Errorf("got %s of %s.%s where %q, want %s of %s where %q", s.Kind, s.Schema, s.Table, s.Where, tc.kind, tc.table, tc.where)
			}
			if tc.target != "" && s.TargetSchema+"."+s.Target != tc.target {
				t.Errorf("target %s.%s, want %s", s.TargetSchema, s.Target, tc.target)
			}
			chunk := s.Chunk(rng)
			if chunk != tc.chunk {
				t.Errorf("chunk\n got %s\nwant %s", chunk, tc.chunk)
			}
			// What runs must parse, and be the same kind of statement.
			stmts, err := alter.ParseLogged(chunk, testServer)
			if err != nil || len(stmts) != 1 {
				t.Fatalf("the chunk statement does not parse: %v", err)
			}
			switch stmts[0].(type) {
			case *ast.UpdateStmt, *ast.InsertStmt:
			default:
				t.Errorf("the chunk statement is a %T", stmts[0])
			}
			if tc.count != "" && s.Count(rng) != tc.count {
				t.Errorf("count\n got %s\nwant %s", s.Count(rng), tc.count)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ name, sql, want string }{
		{"multi-table update", "UPDATE t JOIN u ON t.id = u.id SET t.c = u.c", "several tables"},
		{"comma multi-table update", "UPDATE t, u SET t.c = u.c WHERE t.id = u.id", "several tables"},
		{"update limit", "UPDATE t SET c = 1 WHERE c IS NULL LIMIT 1000", "LIMIT"},
		{"update order by", "UPDATE t SET c = 1 ORDER BY id", "ORDER BY"},
		{"delete", "DELETE FROM t WHERE a = 1", "DELETE"},
		{"select", "SELECT * FROM t", "neither"},
		{"insert values", "INSERT INTO t VALUES (1)", "no SELECT"},
		{"insert select join", "INSERT INTO a SELECT t.id FROM t JOIN u ON t.id = u.id", "joins"},
		{"insert select group by", "INSERT INTO a SELECT a, COUNT(*) FROM t GROUP BY a", "groups"},
		{"insert select aggregate", "INSERT INTO a SELECT MAX(id) FROM t", "groups"},
		{"insert select distinct", "INSERT INTO a SELECT DISTINCT a FROM t", "DISTINCT"},
		{"insert select limit", "INSERT INTO a SELECT id FROM t LIMIT 5", "LIMIT"},
		{"insert select order", "INSERT INTO a SELECT id FROM t ORDER BY id", "ORDER BY"},
		{"insert select union", "INSERT INTO a SELECT id FROM t UNION SELECT id FROM u", "UNION"},
		{"insert select same table", "INSERT INTO t SELECT * FROM db.t WHERE a = 1", "writes the table it reads"},
		{"insert select derived", "INSERT INTO a SELECT * FROM (SELECT id FROM t) d", "derived"},
		{"insert select for update", "INSERT INTO a SELECT id FROM t FOR UPDATE", "locking"},
		{"two statements", "UPDATE t SET c = 1; UPDATE t SET c = 2", "2 statements"},
		{"executable comment", "UPDATE t SET c = 1 /*!50700 WHERE a = 1 */", "executable comment"},
		{"unterminated string", "UPDATE t SET c = 'x WHERE a = 1", "unterminated"},
		{"empty", " -- nothing\n ;", "empty"},
		{"syntax", "UPDATE t SET WHERE", "cannot parse"},
		{"with", "WITH x AS (SELECT 1) UPDATE t SET c = 1", "WITH"},
		{"placeholder", "UPDATE t SET c = ? WHERE a = 1", "placeholder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.sql, "db", testServer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		sql    string
		key    []string
		refuse bool
	}{
		{"UPDATE t SET c = 1", []string{"id"}, false},
		{"UPDATE t SET ID = ID + 1", []string{"id"}, true},
		{"UPDATE t AS x SET x.b = 1", []string{"a", "b"}, true},
		{"INSERT INTO u SELECT * FROM t ON DUPLICATE KEY UPDATE id = id + 1", []string{"id"}, false},
	}
	for _, tc := range tests {
		s, err := Parse(tc.sql, "db", testServer)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckKey(tc.key); (err != nil) != tc.refuse {
			t.Errorf("%s over %v: got %v, want refused %v", tc.sql, tc.key, err, tc.refuse)
		}
	}
}

func TestHashIgnoresSpacingAndComments(t *testing.T) {
	a, err := Parse("UPDATE t SET c = a + 1 WHERE c IS NULL", "db", testServer)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("update  t /* x */ set c=a+1\nwhere c is null;", "db", testServer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("UPDATE t SET c = a + 2 WHERE c IS NULL", "db", testServer)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() {
		t.Errorf("the same statement hashes differently: %s, %s", a.Hash(), b.Hash())
	}
	if a.Hash() == c.Hash() {
		t.Error("two statements hash the same")
	}
}
