package fit

import (
	"reflect"
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/table"
)

// col builds a column the way table.Inspect fills one, from its type.
func col(name, columnType string, opts ...func(*table.Column)) *table.Column {
	c := &table.Column{Name: name, ColumnType: columnType, Nullable: true}
	c.DataType = strings.ToLower(columnType)
	if i := strings.IndexAny(c.DataType, "( "); i >= 0 {
		c.DataType = c.DataType[:i]
	}
	c.Unsigned = strings.Contains(strings.ToLower(columnType), "unsigned")
	for _, o := range opts {
		o(c)
	}
	return c
}

func notNull(c *table.Column) { c.Nullable = false }
func autoInc(c *table.Column) { c.AutoInc = true }
func text(charset, collation string) func(*table.Column) {
	return func(c *table.Column) { c.Charset, c.Collation = charset, collation }
}
func decimal(p, s int64) func(*table.Column) {
	return func(c *table.Column) { c.Precision, c.Scale = p, s }
}
func fsp(n int64) func(*table.Column) { return func(c *table.Column) { c.FSP = n } }
func elems(e ...string) func(*table.Column) {
	return func(c *table.Column) { c.Elems = e; c.Charset, c.Collation = "utf8mb4", "utf8mb4_general_ci" }
}

var mariadb = Flavor{TimestampEnd: TimestampEnd2038}

func TestColumnConds(t *testing.T) {
	utf8 := text("utf8mb4", "utf8mb4_general_ci")
	cases := []struct {
		name   string
		o, g   *table.Column
		flavor Flavor
		want   []string // the conditions' SQL
		why    bool     // reported as unchecked
	}{
		{name: "same type", o: col("c", "int(11)"), g: col("c", "int(11)")},
		{name: "NOT NULL", o: col("c", "int(11)"), g: col("c", "int(11)", notNull), want: []string{"`c` IS NULL"}},
		{name: "NOT NULL AUTO_INCREMENT numbers NULLs", o: col("c", "int(11)"), g: col("c", "int(11)", notNull, autoInc)},
		{name: "widening", o: col("c", "int(11)"), g: col("c", "bigint(20)")},
		{name: "unsigned widening", o: col("c", "int(11)"), g: col("c", "bigint(20) unsigned"), want: []string{"`c` < 0"}},
		{name: "unsigned to wider signed", o: col("c", "int(10) unsigned"), g: col("c", "bigint(20)")},
		{name: "narrowing", o: col("c", "int(11)"), g: col("c", "tinyint(4)"), want: []string{"`c` < -128 OR `c` > 127"}},
		{name: "unsigned narrowing", o: col("c", "bigint(20) unsigned"), g: col("c", "bigint(20)"), want: []string{"`c` > 9223372036854775807"}},
		{name: "decimal into int", o: col("c", "decimal(10,3)", decimal(10, 3)), g: col("c", "tinyint(4)"), want: []string{"ROUND(`c`) < -128 OR ROUND(`c`) > 127"}},
		{name: "decimal into unsigned", o: col("c", "decimal(5,0)", decimal(5, 0)), g: col("c", "int(10) unsigned"), want: []string{"`c` < 0"}},
		{name: "small decimal fits", o: col("c", "decimal(4,2)", decimal(4, 2)), g: col("c", "smallint(6)")},
		{name: "double into bigint", o: col("c", "double"), g: col("c", "bigint(20)"),
			want: []string{"ROUND(`c`) < -9223372036854775808 OR ROUND(`c`) > 9223372036854775807"}},
		{name: "bit into tinyint", o: col("c", "bit(16)"), g: col("c", "tinyint(3) unsigned"), want: []string{"CAST(`c` AS UNSIGNED) > 255"}},
		{name: "year into smallint", o: col("c", "year(4)"), g: col("c", "smallint(6)")},
		{name: "decimal narrowing", o: col("c", "decimal(10,3)", decimal(10, 3)), g: col("c", "decimal(5,2)", decimal(5, 2)),
			want: []string{"ROUND(`c`, 2) <= -1000 OR ROUND(`c`, 2) >= 1000"}},
		{name: "decimal same digits, fewer decimals", o: col("c", "decimal(5,3)", decimal(5, 3)), g: col("c", "decimal(4,2)", decimal(4, 2)),
			want: []string{"ROUND(`c`, 2) <= -100 OR ROUND(`c`, 2) >= 100"}},
		{name: "decimal widening", o: col("c", "decimal(5,2)", decimal(5, 2)), g: col("c", "decimal(10,4)", decimal(10, 4))},
		{name: "decimal into unsigned decimal", o: col("c", "decimal(5,2)", decimal(5, 2)), g: col("c", "decimal(5,2) unsigned", decimal(5, 2)), want: []string{"`c` < 0"}},
		{name: "int into decimal", o: col("c", "int(11)"), g: col("c", "decimal(5,2)", decimal(5, 2)), want: []string{"`c` <= -1000 OR `c` >= 1000"}},
		{name: "double into float", o: col("c", "double"), g: col("c", "float"), want: []string{"`c` > 3.4028234663852886e38 OR `c` < -3.4028234663852886e38"}},
		{name: "float(M,D) has no condition", o: col("c", "double"), g: col("c", "float(7,2)"), why: true},
		{name: "int into float", o: col("c", "bigint(20)"), g: col("c", "float")},
		{name: "shorter varchar", o: col("c", "varchar(10)", utf8), g: col("c", "varchar(3)", utf8), want: []string{"CHAR_LENGTH(`c`) > 3"}},
		{name: "shorter varchar, other collation", o: col("c", "varchar(10)", utf8), g: col("c", "varchar(3)", text("utf8mb4", "utf8mb4_bin")),
			want: []string{"CHAR_LENGTH(TRIM(TRAILING ' ' FROM `c`)) > 3"}},
		{name: "longer varchar", o: col("c", "varchar(10)", utf8), g: col("c", "varchar(30)", utf8)},
		{name: "utf8mb3 to utf8mb4", o: col("c", "varchar(10)", text("utf8mb3", "utf8mb3_general_ci")), g: col("c", "varchar(10)", utf8)},
		{name: "utf8mb4 to latin1", o: col("c", "varchar(10)", utf8), g: col("c", "varchar(10)", text("latin1", "latin1_swedish_ci")),
			want: []string{"CAST(CONVERT(CONVERT(`c` USING latin1) USING utf8mb4) AS BINARY) <> CAST(`c` AS BINARY)"}},
		{name: "varbinary to text", o: col("c", "varbinary(10)"), g: col("c", "varchar(10)", utf8),
			want: []string{"CAST(CONVERT(`c` USING utf8mb4) AS BINARY) <> `c`"}},
		{name: "int to varchar", o: col("c", "int(11)"), g: col("c", "varchar(5)", utf8), want: []string{"CHAR_LENGTH(TRIM(TRAILING ' ' FROM `c`)) > 5"}},
		{name: "int fits in varchar", o: col("c", "int(11)"), g: col("c", "varchar(11)", utf8)},
		{name: "varchar to tinytext", o: col("c", "varchar(300)", utf8), g: col("c", "tinytext", utf8),
			want: []string{"OCTET_LENGTH(TRIM(TRAILING ' ' FROM `c`)) > 255"}},
		{name: "varchar fits in text", o: col("c", "varchar(300)", utf8), g: col("c", "text", utf8)},
		{name: "text into tinytext of another charset", o: col("c", "text", utf8), g: col("c", "tinytext", text("latin1", "latin1_swedish_ci")),
			want: []string{"CAST(CONVERT(CONVERT(`c` USING latin1) USING utf8mb4) AS BINARY) <> CAST(`c` AS BINARY)",
				"OCTET_LENGTH(TRIM(TRAILING ' ' FROM CONVERT(`c` USING latin1))) > 255"}},
		{name: "float to text", o: col("c", "double"), g: col("c", "varchar(30)", utf8), why: true},
		{name: "text to varbinary", o: col("c", "varchar(10)", utf8), g: col("c", "varbinary(3)"), want: []string{"OCTET_LENGTH(`c`) > 3"}},
		{name: "varbinary fits", o: col("c", "varbinary(3)"), g: col("c", "blob")},
		{name: "latin1 fits in varbinary", o: col("c", "varchar(3)", text("latin1", "latin1_swedish_ci")), g: col("c", "varbinary(3)")},
		{name: "enum to enum", o: col("c", "enum('a','b')", elems("a", "b")), g: col("c", "enum('a')", elems("a")),
			want: []string{"`c` + 0 <> 0 AND CONVERT(`c` USING utf8mb4) COLLATE utf8mb4_general_ci NOT IN ('a')"}},
		{name: "int to enum", o: col("c", "int(11)"), g: col("c", "enum('a','b')", elems("a", "b")), want: []string{"`c` < 1 OR `c` > 2"}},
		{name: "set keeps its members", o: col("c", "set('a','b')", elems("a", "b")), g: col("c", "set('a','b','c')", elems("a", "b", "c"))},
		{name: "set loses one", o: col("c", "set('a','b','c')", elems("a", "b", "c")), g: col("c", "set('a','c')", elems("a", "c")),
			want: []string{"((`c` + 0) & 2 <> 0 AND CONVERT('b' USING utf8mb4) COLLATE utf8mb4_general_ci NOT IN ('a', 'c'))"}},
		{name: "text to enum", o: col("c", "varchar(10)", utf8), g: col("c", "enum('a')", elems("a")), why: true},
		{name: "datetime to timestamp", o: col("c", "datetime"), g: col("c", "timestamp"),
			want: []string{"`c` <> '0000-00-00 00:00:00' AND (`c` < '1970-01-01 00:00:01' OR `c` >= '2038-01-19 03:14:08' OR MONTH(`c`) = 0 OR DAYOFMONTH(`c`) = 0)"}},
		{name: "datetime to timestamp(3), MariaDB 11.5", o: col("c", "datetime(6)", fsp(6)), g: col("c", "timestamp(3)", fsp(3)), flavor: Flavor{TimestampEnd: TimestampEnd2106},
			want: []string{"`c` <> '0000-00-00 00:00:00' AND (`c` < '1970-01-01 00:00:00.001' OR `c` >= '2106-02-07 06:28:16' OR MONTH(`c`) = 0 OR DAYOFMONTH(`c`) = 0)"}},
		{name: "datetime(6) to timestamp, MySQL rounds", o: col("c", "datetime(6)", fsp(6)), g: col("c", "timestamp"), flavor: Flavor{RoundsFractions: true, TimestampEnd: TimestampEnd2038},
			want: []string{"`c` <> '0000-00-00 00:00:00' AND (`c` < '1970-01-01 00:00:00.5' OR `c` >= '2038-01-19 03:14:07.5' OR MONTH(`c`) = 0 OR DAYOFMONTH(`c`) = 0)"}},
		{name: "datetime(6) to timestamp(2), MySQL rounds", o: col("c", "datetime(6)", fsp(6)), g: col("c", "timestamp(2)", fsp(2)), flavor: Flavor{RoundsFractions: true, TimestampEnd: TimestampEnd2038},
			want: []string{"`c` <> '0000-00-00 00:00:00' AND (`c` < '1970-01-01 00:00:00.995' OR `c` >= '2038-01-19 03:14:07.995' OR MONTH(`c`) = 0 OR DAYOFMONTH(`c`) = 0)"}},
		{name: "date to timestamp", o: col("c", "date"), g: col("c", "timestamp"),
			want: []string{"`c` <> '0000-00-00' AND (`c` < '1970-01-01 00:00:01' OR `c` >= '2038-01-19 03:14:08' OR MONTH(`c`) = 0 OR DAYOFMONTH(`c`) = 0)"}},
		{name: "datetime to date", o: col("c", "datetime"), g: col("c", "date")},
		{name: "text to datetime", o: col("c", "varchar(30)", utf8), g: col("c", "datetime"), why: true},
		{name: "int to year", o: col("c", "int(11)"), g: col("c", "year(4)"), want: []string{"NOT (`c` BETWEEN 0 AND 99 OR `c` BETWEEN 1901 AND 2155)"}},
		{name: "narrower bit", o: col("c", "bit(8)"), g: col("c", "bit(4)"), want: []string{"CAST(`c` AS UNSIGNED) > 15"}},
		{name: "int to bit", o: col("c", "tinyint(3) unsigned"), g: col("c", "bit(4)"), want: []string{"`c` > 15"}},
		{name: "text to json (MySQL)", o: col("c", "text", utf8), g: col("c", "json"), want: []string{"NOT JSON_VALID(`c`)"}},
		{name: "text to int", o: col("c", "varchar(10)", utf8), g: col("c", "int(11)"), why: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.flavor
			if f.TimestampEnd == "" {
				f = mariadb
			}
			conds, why := columnConds(tc.o, tc.g, f)
			var got []string
			for _, c := range conds {
				got = append(got, c.SQL)
				if c.Column != tc.g.Name || c.What == "" {
					t.Errorf("condition %+v does not name its column and what it finds", c)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("conditions\n%q\nwant\n%q", got, tc.want)
			}
			if (why != "") != tc.why {
				t.Errorf("unchecked because %q, want unchecked: %v", why, tc.why)
			}
		})
	}
}

func TestCheckConds(t *testing.T) {
	orig := &table.Table{Name: "t", Columns: []table.Column{*col("a", "int(11)"), *col("b", "varchar(10)", text("utf8mb4", "utf8mb4_general_ci"))}}
	ghost := &table.Table{Name: "t", Columns: []table.Column{*col("a", "int(11)"), *col("b", "varchar(5)", text("utf8mb4", "utf8mb4_general_ci")), *col("z", "int(11)")}}
	m := table.MapColumns(orig, ghost, nil)
	old := []Check{{Name: "ka", Expr: "`a` > 0", Columns: []string{"a"}}, {Name: "kb", Expr: "`b` <> ''", Columns: []string{"b"}}}
	ghostChecks := append(old, Check{Name: "new", Expr: "`a` < 10", Columns: []string{"a"}}, Check{Name: "onz", Expr: "`z` > 0", Columns: []string{"z"}})
	conds, skipped := checkConds(Config{Orig: orig, Ghost: ghost, Mapping: m, OrigChecks: old, GhostChecks: ghostChecks})
	var got []string
	for _, c := range conds {
		got = append(got, c.Check+": "+c.SQL)
	}
	// ka is unchanged; kb reads a column whose type changes; new is new; onz reads an added column.
	want := []string{"kb: NOT (`b` <> '')", "new: NOT (`a` < 10)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conditions %q, want %q", got, want)
	}
	if len(skipped) != 1 || skipped[0].Column != "CHECK onz" {
		t.Errorf("unchecked %+v, want CHECK onz", skipped)
	}
}

func TestParseChecks(t *testing.T) {
	cases := []struct {
		name string
		ddl  string
		want []Check
	}{
		{name: "MariaDB", ddl: "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),\n" +
			"  `w` int(11) DEFAULT 'check (' CHECK (`w` > 0),\n  PRIMARY KEY (`id`),\n  CONSTRAINT `my ck` CHECK (`w` < 100 or `j` = 'a\\'b)'),\n  CONSTRAINT `CONSTRAINT_1` CHECK (`id` > 0)\n" +
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci PARTITION BY HASH (`id`) (PARTITION p0 CHECK (x))",
			want: []Check{
				{Name: "j", Expr: "json_valid(`j`)", Columns: []string{"j"}},
				{Name: "w", Expr: "`w` > 0", Columns: []string{"w"}},
				{Name: "my ck", Expr: "`w` < 100 or `j` = 'a\\'b)'", Columns: []string{"w", "j"}},
				{Name: "CONSTRAINT_1", Expr: "`id` > 0", Columns: []string{"id"}},
			}},
		{name: "MySQL 8", ddl: "CREATE TABLE `t` (\n  `c1` int DEFAULT NULL,\n  `we``ird` int,\n  CONSTRAINT `c1_nonzero` CHECK ((`c1` <> 0)),\n" +
			"  CONSTRAINT `t_chk_1` CHECK ((`c1` > 10)) /*!80016 NOT ENFORCED */,\n  CONSTRAINT `t_chk_2` CHECK ((`we``ird` > \"x\"\"y\"))\n) ENGINE=InnoDB",
			want: []Check{
				{Name: "c1_nonzero", Expr: "(`c1` <> 0)", Columns: []string{"c1"}},
				{Name: "t_chk_2", Expr: "(`we``ird` > \"x\"\"y\")", Columns: []string{"we`ird"}},
			}},
		{name: "none", ddl: "CREATE TEMPORARY TABLE `p` (\n  `id` int(11) NOT NULL COMMENT 'no CHECK (here)'\n)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseChecks(tc.ddl)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"CREATE TABLE `t` (`a` int", "CREATE TABLE `t (`a` int)", "CREATE TABLE t", "CREATE TABLE `t` (`a` int DEFAULT 'x)"} {
		if _, err := parseChecks(bad); err == nil {
			t.Errorf("parseChecks(%q) found no error", bad)
		}
	}
}

func TestCountSQL(t *testing.T) {
	orig := &table.Table{Schema: "d", Name: "t", Columns: []table.Column{*col("id", "int(11)"), *col("a", "int(11)"), *col("gone", "int(11)"), *col("g", "int(11)", func(c *table.Column) { c.Generated = true })}}
	ghost := &table.Table{Schema: "d", Name: "_t_gho", Columns: []table.Column{*col("id", "int(11)"), *col("b", "tinyint(4)")}}
	m := table.MapColumns(orig, ghost, map[string]string{"a": "b"})
	got := countSQL(orig, m, []Cond{{SQL: "`b` > 127"}, {SQL: "`id` IS NULL"}})
	want := "SELECT COUNT(CASE WHEN `b` > 127 THEN 1 END), COUNT(CASE WHEN `id` IS NULL THEN 1 END) FROM " +
		"(SELECT `id` AS `id`, `a` AS `b`, `gone` AS `_doppel_fit_3`, `g` AS `_doppel_fit_4` FROM `d`.`t`) AS `_doppel_fit`"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	src := newSource(orig, m)
	if !reflect.DeepEqual(src.columns, []string{"id", "a", "gone"}) || !reflect.DeepEqual(src.aliases, []string{"id", "b", "_doppel_fit_3"}) {
		t.Errorf("stored columns %v as %v", src.columns, src.aliases)
	}
}

func TestWithoutValue(t *testing.T) {
	for in, want := range map[string]string{
		"Incorrect datetime value: '2040-01-01 00:00:00.500000' for column `x`.`t`.`dt` at row 1": "Incorrect datetime value: '…' for column `x`.`t`.`dt` at row 1",
		`Incorrect string value: '\xF0\x9F\x98\x80' for column ` + "`x`.`t`.`v`" + ` at row 1`:    "Incorrect string value: '…' for column `x`.`t`.`v` at row 1",
		"Data truncated for column 'n' at row 1":                                                  "Data truncated for column 'n' at row 1",
		"CONSTRAINT `ck` failed for `x`.`t`":                                                      "CONSTRAINT `ck` failed for `x`.`t`",
		"Truncated incorrect INTEGER value: '0.5'":                                                "Truncated incorrect INTEGER value: '…'",
	} {
		if got := withoutValue(in); got != want {
			t.Errorf("withoutValue(%q) = %q, want %q", in, got, want)
		}
	}
}
