package sqlbuild

import (
	"reflect"
	"testing"
)

var (
	k1 = []KeyCol{{Name: "id", Bind: "?"}}
	k2 = []KeyCol{{Name: "a", Bind: "?"}, {Name: "b`c", Bind: "CONVERT(? USING latin1) COLLATE latin1_bin"}}
	k3 = []KeyCol{{Name: "a", Bind: "?"}, {Name: "b", Bind: "?"}, {Name: "c", Bind: "?"}}
)

func TestQuoteString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       "'plain'",
		"it's":        `'it\'s'`,
		`back\slash`:  `'back\\slash'`,
		"nul\x00nl\n": `'nul\0nl\n'`,
	} {
		if got := QuoteString(in); got != want {
			t.Errorf("QuoteString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"t":          "`t`",
		"a`b":        "`a``b`",
		"``":         "``````",
		"select":     "`select`",
		"with space": "`with space`",
		"prénom😀":    "`prénom😀`",
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	if got := QualifiedName("d`b", "t"); got != "`d``b`.`t`" {
		t.Errorf("QualifiedName = %s", got)
	}
}

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		cond Cond
		sql  string
		args []int
	}{
		{"after single", After(k1, false), "`id` > ?", []int{0}},
		{"after single inclusive", After(k1, true), "`id` >= ?", []int{0}},
		{"upto single", UpTo(k1, true), "`id` <= ?", []int{0}},
		{"after two", After(k2, false),
			"`a` >= ? AND (`a` > ? OR (`a` = ? AND `b``c` > CONVERT(? USING latin1) COLLATE latin1_bin))", []int{0, 0, 0, 1}},
		{"after enum, int", After([]KeyCol{{Name: "e", Bind: "?", Members: 3}, {Name: "id", Bind: "?"}}, false),
			"`e` IN (?, CAST(? AS SIGNED) + 1, CAST(? AS SIGNED) + 2, CAST(? AS SIGNED) + 3) AND (`e` IN (CAST(? AS SIGNED) + 1, CAST(? AS SIGNED) + 2, CAST(? AS SIGNED) + 3) OR (`e` = ? AND `id` > ?))", []int{0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"upto single enum inclusive", UpTo([]KeyCol{{Name: "e", Bind: "?", Members: 2}}, true), "`e` IN (?, CAST(? AS SIGNED) - 1, CAST(? AS SIGNED) - 2)", []int{0, 0, 0}},
		{"upto three inclusive", UpTo(k3, true),
			"`a` <= ? AND (`a` < ? OR (`a` = ? AND (`b` < ? OR (`b` = ? AND `c` <= ?))))", []int{0, 0, 0, 1, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cond.SQL != tc.sql {
				t.Errorf("sql\n got %s\nwant %s", tc.cond.SQL, tc.sql)
			}
			if !reflect.DeepEqual(tc.cond.Args, tc.args) {
				t.Errorf("args %v, want %v", tc.cond.Args, tc.args)
			}
		})
	}
	c, bind := And(After(k2, false), UpTo(k2, true))
	if want := "(`a` >= ? AND (`a` > ? OR (`a` = ? AND `b``c` > CONVERT(? USING latin1) COLLATE latin1_bin))) AND (`a` <= ? AND (`a` < ? OR (`a` = ? AND `b``c` <= CONVERT(? USING latin1) COLLATE latin1_bin)))"; c.SQL != want {
		t.Errorf("And:\n got %s\nwant %s", c.SQL, want)
	}
	if got, want := bind([]any{1, "x"}, []any{9, "y"}), []any{1, 1, 1, "x", 9, 9, 9, "y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("And args %v, want %v", got, want)
	}
}

func TestStatements(t *testing.T) {
	tbl, ghost := QualifiedName("db", "t"), QualifiedName("db", "_t_gho")
	for _, tc := range []struct{ name, got, want string }{
		{"first key", SelectEdge(tbl, "PRIMARY", k2, false), "SELECT `a`, `b``c` FROM `db`.`t` FORCE INDEX (`PRIMARY`) ORDER BY `a`, `b``c` LIMIT 1"},
		{"last key", SelectEdge(tbl, "PRIMARY", k2, true), "SELECT `a`, `b``c` FROM `db`.`t` FORCE INDEX (`PRIMARY`) ORDER BY `a` DESC, `b``c` DESC LIMIT 1"},
		{"boundary", SelectBoundary(tbl, "PRIMARY", k1, After(k1, false), 999), "SELECT `id` FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ? ORDER BY `id` LIMIT 1 OFFSET 999"},
		{"copy", Copy{From: tbl, Index: "PRIMARY", Into: ghost, Cols: []string{"id", "new"}, Exprs: []string{"`id`", "CAST(`old` AS CHAR)"},
			Where: "`id` >= ? AND `id` <= ?", Lock: true, Key: []KeyColumn{{Name: "id"}}}.SQL(),
			"INSERT INTO `db`.`_t_gho` (`id`, `new`) SELECT `id`, CAST(`old` AS CHAR) FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` >= ? AND `id` <= ? LOCK IN SHARE MODE" +
				" ON DUPLICATE KEY UPDATE `id` = IF(`db`.`_t_gho`.`id` <=> VALUES(`id`), `db`.`_t_gho`.`id`, NULL)"},
		{"replay from stage", Copy{From: "`db`.`_s`", Into: ghost, Cols: []string{"a", "b`c", "v"}, Exprs: []string{"`a`", "`b``c`", "`v`"},
			Key: []KeyColumn{{Name: "a"}, {Name: "b`c", AsBytes: true}}, Update: true}.SQL(),
			"INSERT INTO `db`.`_t_gho` (`a`, `b``c`, `v`) SELECT `a`, `b``c`, `v` FROM `db`.`_s`" +
				" ON DUPLICATE KEY UPDATE `a` = IF(`db`.`_t_gho`.`a` <=> VALUES(`a`) AND CAST(`db`.`_t_gho`.`b``c` AS BINARY) <=> CAST(VALUES(`b``c`) AS BINARY), `db`.`_t_gho`.`a`, NULL), `v` = VALUES(`v`)"},
		{"replay, collision on a copied column", Copy{From: "`db`.`_s`", Into: ghost, Cols: []string{"n", "v"}, Exprs: []string{"`n`", "`v`"},
			Key: []KeyColumn{{Name: "n"}}, Trip: "v", Update: true}.SQL(),
			"INSERT INTO `db`.`_t_gho` (`n`, `v`) SELECT `n`, `v` FROM `db`.`_s`" +
				" ON DUPLICATE KEY UPDATE `v` = IF(`db`.`_t_gho`.`n` <=> VALUES(`n`), VALUES(`v`), NULL)"},
		{"copy, collision on an added column", Copy{From: tbl, Into: ghost, Cols: []string{"n"}, Exprs: []string{"`n`"},
			Key: []KeyColumn{{Name: "n"}}, Trip: "added"}.SQL(),
			"INSERT INTO `db`.`_t_gho` (`n`) SELECT `n` FROM `db`.`t`" +
				" ON DUPLICATE KEY UPDATE `added` = IF(`db`.`_t_gho`.`n` <=> VALUES(`n`), `db`.`_t_gho`.`added`, NULL)"},
		{"copy, no NOT NULL column", Copy{From: tbl, Into: ghost, Cols: []string{"n", "v"}, Exprs: []string{"`n`", "`v`"},
			Key: []KeyColumn{{Name: "n"}}, TripBySubquery: true, Update: true}.SQL(),
			"INSERT INTO `db`.`_t_gho` (`n`, `v`) SELECT `n`, `v` FROM `db`.`t`" +
				" ON DUPLICATE KEY UPDATE `n` = IF(`db`.`_t_gho`.`n` <=> VALUES(`n`), `db`.`_t_gho`.`n`, (SELECT NULL UNION ALL SELECT NULL)), `v` = VALUES(`v`)"},
		{"enum key read by number", SelectEdge(tbl, "PRIMARY", []KeyCol{{Name: "e", Bind: "?", Read: "`e` + 0"}, {Name: "id", Bind: "?"}}, false),
			"SELECT `e` + 0, `id` FROM `db`.`t` FORCE INDEX (`PRIMARY`) ORDER BY `e`, `id` LIMIT 1"},
		{"insert values", InsertValues(ghost, []string{"id", "v"}, []string{"?", "CONVERT(? USING utf8mb4)"}, 2), "INSERT INTO `db`.`_t_gho` (`id`, `v`) VALUES (?, CONVERT(? USING utf8mb4)), (?, CONVERT(? USING utf8mb4))"},
		{"create temporary like", CreateTemporaryLike("`db`.`_s`", []string{"id"}, tbl, []string{"id", "v"}),
			"CREATE TEMPORARY TABLE IF NOT EXISTS `db`.`_s` (PRIMARY KEY (`id`)) ENGINE=InnoDB SELECT `id`, `v` FROM `db`.`t` LIMIT 0"},
		{"equal", Equal(k2).SQL, "`a` = ? AND `b``c` = CONVERT(? USING latin1) COLLATE latin1_bin"},
		{"add index", AddIndex("i`x", []IndexPart{{Column: "a", SubPart: 10}, {Column: "b", Desc: true}}, "it's"), "ADD INDEX `i``x` (`a`(10), `b` DESC) COMMENT 'it\\'s'"},
		{"delete one column", DeleteByKeys(ghost, k1, 3), "DELETE FROM `db`.`_t_gho` WHERE `id` IN (?, ?, ?)"},
		{"delete composite", DeleteByKeys(ghost, k2, 2), "DELETE FROM `db`.`_t_gho` WHERE (`a`, `b``c`) IN ((?, CONVERT(? USING latin1) COLLATE latin1_bin), (?, CONVERT(? USING latin1) COLLATE latin1_bin))"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}
