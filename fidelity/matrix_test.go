package fidelity

// A source is one source type of the matrix and the targets its columns are modified to.
type source struct {
	name string // the subtest's name
	typ  string // the column type, as CREATE TABLE takes it
	note string // what the values are, when the type alone does not say
	// values are the edge values, SQL expressions, one per row in turn (NULL included).
	values  []string
	targets []string
	// key: a second table has the source type as its primary key (and a column of the type per
	// target), migrated through the replica: replayed deletes and key changes find rows by it.
	key bool
	// keyValues are the edge values of the key; nil: values without NULL.
	keyValues []string
	// keyFill is the fmt format of the filler keys, given a number from 10 to 90.
	keyFill string
	// generated: each column also feeds a STORED and a VIRTUAL generated column.
	generated bool
	// sqlMode is the session's sql_mode for writing the values, when the server's would refuse
	// them (an ENUM's '' error value).
	sqlMode string
}

func (s *source) label() string {
	if s.note != "" {
		return s.typ + " (" + s.note + ")"
	}
	return s.typ
}

var ints = []string{
	"TINYINT", "TINYINT UNSIGNED", "SMALLINT", "SMALLINT UNSIGNED", "MEDIUMINT", "MEDIUMINT UNSIGNED",
	"INT", "INT UNSIGNED", "BIGINT", "BIGINT UNSIGNED",
}

// intTargets are what an integer column is modified to: every integer, and the other families.
var intTargets = append(append([]string{}, ints...),
	"DECIMAL(20,0)", "DECIMAL(5,2)", "FLOAT", "DOUBLE", "BIT(8)", "BIT(64)",
	"YEAR", "TIME", "DATE", "CHAR(2)", "VARCHAR(30)", "TEXT", "BINARY(8)", "VARBINARY(30)", "BLOB",
	"ENUM('a','b','c')", "JSON")

func intSource(name, typ, lo, hi string) source {
	values := []string{lo, hi, "0", "-1", "100", "NULL"}
	if lo == "0" {
		values = []string{lo, hi, "1", "100", "NULL"}
	}
	return source{name: name, typ: typ, values: values, targets: intTargets, key: true, keyFill: "%d"}
}

// textTargets are the character and binary string types most sources are also modified to.
var textTargets = []string{"VARCHAR(40)", "CHAR(40) CHARACTER SET latin1", "TEXT", "VARBINARY(40)", "BINARY(30)", "BLOB", "JSON"}

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var matrix = []source{
	intSource("tinyint", "TINYINT", "-128", "127"),
	intSource("tinyint_unsigned", "TINYINT UNSIGNED", "0", "255"),
	intSource("smallint", "SMALLINT", "-32768", "32767"),
	intSource("smallint_unsigned", "SMALLINT UNSIGNED", "0", "65535"),
	intSource("mediumint", "MEDIUMINT", "-8388608", "8388607"),
	intSource("mediumint_unsigned", "MEDIUMINT UNSIGNED", "0", "16777215"),
	intSource("int", "INT", "-2147483648", "2147483647"),
	intSource("int_unsigned", "INT UNSIGNED", "0", "4294967295"),
	intSource("bigint", "BIGINT", "-9223372036854775808", "9223372036854775807"),
	intSource("bigint_unsigned", "BIGINT UNSIGNED", "0", "18446744073709551615"),
	{
		name: "int_generated", typ: "INT", note: "with a STORED and a VIRTUAL column over each", generated: true,
		values:  []string{"-2147483648", "2147483647", "0", "-1", "NULL"},
		targets: []string{"BIGINT", "INT UNSIGNED", "DECIMAL(12,2)", "DOUBLE", "VARCHAR(20)", "CHAR(11)", "TIME", "JSON"},
	},
	{
		name: "smallint_small", typ: "SMALLINT", note: "1 to 3",
		values:  []string{"1", "2", "3", "NULL"},
		targets: []string{"ENUM('a','b','c')", "ENUM('c','b','a','d')", "SET('a','b')", "SET('a','b','c','d')", "YEAR", "TIME", "DATE", "BIT(2)", "BIT(1)", "TINYINT UNSIGNED", "CHAR(1)", "DECIMAL(3,2)"},
	},
	{
		name: "int_dates", typ: "INT", note: "dates as numbers",
		values:  []string{"20200229", "19700102", "101", "0", "NULL"},
		targets: []string{"DATE", "DATETIME", "DATETIME(6)", "TIMESTAMP", "TIMESTAMP(6)", "YEAR", "TIME"},
	},
	{
		name: "bigint_datetimes", typ: "BIGINT", note: "date-times as numbers",
		values:  []string{"20200229123456", "19991231235959", "20380119084407", "0", "NULL"},
		targets: []string{"DATETIME", "DATETIME(6)", "TIMESTAMP", "TIMESTAMP(6)", "DATE", "TIME", "YEAR"},
	},
	{
		name: "bit1", typ: "BIT(1)",
		values: []string{"b'0'", "b'1'", "NULL"},
		targets: []string{"BIT(8)", "BIT(64)", "TINYINT", "TINYINT UNSIGNED", "BIGINT UNSIGNED", "DECIMAL(3,0)", "FLOAT", "DOUBLE",
			"CHAR(3)", "VARCHAR(8)", "BINARY(1)", "VARBINARY(8)", "BLOB", "ENUM('a','b')", "SET('a')", "JSON", "YEAR"},
	},
	{
		name: "bit8", typ: "BIT(8)",
		values: []string{"b'00000000'", "b'11111111'", "b'10000000'", "b'01111111'", "NULL"},
		targets: []string{"BIT(1)", "BIT(16)", "BIT(64)", "TINYINT", "TINYINT UNSIGNED", "SMALLINT", "DECIMAL(5,0)", "DOUBLE",
			"CHAR(3)", "VARCHAR(8)", "BINARY(1)", "VARBINARY(8)", "BLOB", "JSON", "YEAR"},
	},
	{
		name: "bit64", typ: "BIT(64)",
		values: []string{"0x0000000000000000", "0x0000000000000001", "0x8000000000000000", "0xFFFFFFFFFFFFFFFF", "0x7FFFFFFFFFFFFFFF", "NULL"},
		targets: []string{"BIT(63)", "BIGINT", "BIGINT UNSIGNED", "INT UNSIGNED", "DECIMAL(20,0)", "DOUBLE", "FLOAT",
			"CHAR(20)", "VARCHAR(30)", "TEXT", "BINARY(8)", "VARBINARY(8)", "BLOB", "JSON"},
		// The filler keys have the top bit set too: they are moved, changed and deleted.
		key: true, keyFill: "0x80000000000000%02X",
	},
	{
		name: "decimal", typ: "DECIMAL(10,2)",
		values: []string{"99999999.99", "-99999999.99", "0.00", "-0.01", "1.55", "2.45", "0.005", "NULL"},
		// 0.005 is stored as 0.01: as a key it would not be found by its literal.
		keyValues: []string{"99999999.99", "-99999999.99", "0.00", "-0.01", "1.55", "2.45"},
		targets: join([]string{"DECIMAL(12,4)", "DECIMAL(10,1)", "DECIMAL(10,0)", "DECIMAL(9,2)", "DECIMAL(65,30)", "DECIMAL(10,2) UNSIGNED",
			"INT", "BIGINT", "TINYINT", "INT UNSIGNED", "FLOAT", "DOUBLE", "BIT(64)", "YEAR", "TIME", "DATE", "CHAR(12)", "ENUM('a')"}, textTargets),
		key: true, keyFill: "%d.25",
	},
	{
		name: "decimal65", typ: "DECIMAL(65,30)",
		values: []string{"99999999999999999999999999999999999.999999999999999999999999999999", "-99999999999999999999999999999999999.999999999999999999999999999999",
			"0.000000000000000000000000000001", "-0.000000000000000000000000000001", "0", "3.141592653589793238462643383279", "NULL"},
		targets: []string{"DECIMAL(65,0)", "DECIMAL(65,10)", "DECIMAL(40,30)", "DOUBLE", "FLOAT", "BIGINT", "VARCHAR(70)", "CHAR(68)", "TEXT", "VARBINARY(70)", "JSON"},
	},
	{
		name: "float", typ: "FLOAT",
		values:  []string{"-0e0", "3.14159", "16777217", "1e-10", "1e38", "-3.4028234e38", "0.1", "1.5", "NULL"},
		targets: join([]string{"DOUBLE", "FLOAT(10,4)", "DECIMAL(10,5)", "DECIMAL(65,20)", "INT", "BIGINT", "CHAR(20)", "TIME", "YEAR", "BIT(64)"}, textTargets),
	},
	{
		name: "float_small", typ: "FLOAT", note: "values that fit integers",
		values:  []string{"3.14159", "-0e0", "2.5", "-2.5", "0.1", "1e-10", "16777217", "NULL"},
		targets: []string{"TINYINT", "INT", "BIGINT", "BIGINT UNSIGNED", "DECIMAL(10,5)", "DECIMAL(5,1)", "DOUBLE", "VARCHAR(30)", "YEAR", "TIME"},
	},
	{
		name: "double", typ: "DOUBLE",
		values:  []string{"-0e0", "3.14159", "16777217", "1e-10", "1e308", "-1.7976931348623157e308", "2.2250738585072014e-308", "0.1", "1/3", "9007199254740993", "NULL"},
		targets: join([]string{"FLOAT", "DECIMAL(65,30)", "BIGINT", "CHAR(25)", "TIME"}, textTargets),
	},
	{
		name: "double_small", typ: "DOUBLE", note: "values that fit FLOAT and integers",
		values:  []string{"3.14159", "-0e0", "16777217", "0.1", "1e-10", "2.5", "-2.5", "1/3", "123456789.123456789", "NULL"},
		targets: []string{"FLOAT", "DECIMAL(20,10)", "DECIMAL(10,2)", "INT", "BIGINT", "TINYINT", "CHAR(10)", "VARCHAR(30)", "YEAR", "TIME"},
	},
	{
		name: "date", typ: "DATE",
		values:  []string{"'0000-00-00'", "'2020-00-01'", "'2020-02-29'", "'1000-01-01'", "'9999-12-31'", "'1970-01-01'", "NULL"},
		targets: join([]string{"DATETIME", "DATETIME(6)", "TIMESTAMP", "TIME", "YEAR", "INT", "BIGINT", "DECIMAL(10,0)", "DOUBLE", "CHAR(10)", "ENUM('2020-02-29')"}, textTargets),
		key:     true, keyFill: "'2001-01-01' + INTERVAL %d DAY",
	},
	{
		name: "datetime", typ: "DATETIME",
		values:  []string{"'0000-00-00 00:00:00'", "'2020-00-01 00:00:00'", "'2020-02-29 23:59:59'", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'", "NULL"},
		targets: join([]string{"DATETIME(6)", "DATE", "TIME", "YEAR", "TIMESTAMP", "BIGINT", "DECIMAL(20,0)", "DOUBLE", "CHAR(19)"}, textTargets),
	},
	{
		name: "datetime6", typ: "DATETIME(6)",
		values:  []string{"'2020-02-29 23:59:59.999999'", "'1970-01-01 05:30:01.5'", "'2038-01-19 08:44:07.5'", "'0000-00-00 00:00:00'", "'2001-02-03 04:05:06.000001'", "NULL"},
		targets: join([]string{"DATETIME", "DATETIME(3)", "TIMESTAMP", "TIMESTAMP(6)", "DATE", "TIME", "TIME(6)", "YEAR", "BIGINT", "DECIMAL(20,6)", "DOUBLE", "CHAR(26)"}, textTargets),
		key:     true, keyFill: "'2001-01-01 10:00:00' + INTERVAL %d HOUR",
	},
	{
		name: "timestamp", typ: "TIMESTAMP",
		values:  []string{"'0000-00-00 00:00:00'", "'1970-01-01 05:30:01'", "'2038-01-19 08:44:07'", "'2020-02-29 12:00:00'", "'2020-03-01 02:00:00'", "NULL"},
		targets: join([]string{"DATETIME", "DATE", "TIME", "YEAR", "TIMESTAMP(6)", "INT", "BIGINT", "DECIMAL(20,0)", "DOUBLE", "CHAR(19)"}, textTargets),
		key:     true, keyFill: "'2001-01-01 10:00:00' + INTERVAL %d HOUR",
	},
	{
		name: "timestamp6", typ: "TIMESTAMP(6)",
		values:  []string{"'2020-02-29 12:00:00.123456'", "'2038-01-19 08:44:07.999999'", "'1970-01-01 05:30:01.000001'", "'0000-00-00 00:00:00'", "NULL"},
		targets: []string{"TIMESTAMP", "TIMESTAMP(3)", "DATETIME(6)", "DATETIME", "DATE", "TIME(6)", "BIGINT", "DECIMAL(20,6)", "DOUBLE", "VARCHAR(30)", "JSON"},
		key:     true, keyFill: "'2001-01-01 10:00:00' + INTERVAL %d HOUR",
	},
	{
		name: "time", typ: "TIME",
		values:  []string{"'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:01'", "'25:00:00'", "'12:34:56'", "NULL"},
		targets: join([]string{"TIME(6)", "INT", "MEDIUMINT", "SMALLINT", "DECIMAL(10,0)", "DOUBLE", "YEAR", "CHAR(10)"}, textTargets),
	},
	{
		name: "time6", typ: "TIME(6)",
		values:  []string{"'-838:59:59.000000'", "'838:59:59.000000'", "'-00:00:00.5'", "'12:34:56.789012'", "'00:00:00.000001'", "'100:00:00.5'", "NULL"},
		targets: []string{"TIME", "TIME(3)", "DECIMAL(20,6)", "DOUBLE", "BIGINT", "VARCHAR(20)", "CHAR(20)", "TEXT", "JSON"},
		key:     true, keyFill: "'%d:00:01'",
	},
	{
		name: "year", typ: "YEAR",
		values:  []string{"1901", "2155", "0", "2020", "NULL"},
		targets: []string{"SMALLINT", "TINYINT UNSIGNED", "INT", "DECIMAL(4,0)", "DOUBLE", "BIT(16)", "DATE", "TIME", "VARCHAR(4)", "CHAR(4)", "BINARY(4)", "ENUM('2020')", "JSON"},
		key:     true, keyFill: "19%02d",
	},
	{
		name: "varchar_latin1", typ: "VARCHAR(40) CHARACTER SET latin1",
		values: []string{"'abc'", "'trail  '", "''", "'é'", "'ÿ'", "x'80'", "x'81'", "NULL"},
		targets: []string{"VARCHAR(40) CHARACTER SET utf8mb4", "VARCHAR(40) CHARACTER SET utf8mb3", "VARCHAR(40) CHARACTER SET ascii",
			"VARCHAR(40) CHARACTER SET latin1 COLLATE latin1_bin", "CHAR(40) CHARACTER SET latin1", "TEXT CHARACTER SET utf8mb4",
			"VARCHAR(5) CHARACTER SET latin1", "VARCHAR(4) CHARACTER SET latin1", "VARCHAR(40) CHARACTER SET cp1251", "VARCHAR(40) CHARACTER SET utf16",
			"BINARY(40)", "VARBINARY(40)", "BLOB", "ENUM('abc','trail','','é','ÿ','€','\u0081') CHARACTER SET utf8mb4", "JSON", "INT"},
	},
	{
		name: "varchar_utf8mb3", typ: "VARCHAR(40) CHARACTER SET utf8mb3",
		values: []string{"'abc'", "'trail  '", "''", "'é中'", "'ÅÄÖ'", "NULL"},
		targets: []string{"VARCHAR(40) CHARACTER SET utf8mb4", "VARCHAR(40) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin", "VARCHAR(40) CHARACTER SET latin1",
			"CHAR(40) CHARACTER SET utf8mb3", "TEXT CHARACTER SET utf8mb3", "VARCHAR(40) CHARACTER SET utf16", "VARCHAR(40) CHARACTER SET ucs2",
			"VARCHAR(40) CHARACTER SET gbk", "VARBINARY(120)", "BLOB", "JSON"},
	},
	{
		name: "varchar_utf8mb4", typ: "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", note: "case-insensitive, PAD SPACE",
		values:    []string{"'abc'", "'trail  '", "''", "'é中😀'", "'😀'", "' lead'", "'ABC'", "NULL"},
		keyValues: []string{"'abc'", "'trail  '", "''", "'é中😀'", "'😀'", "' lead'", "'Zz'"},
		targets: []string{"VARCHAR(40) CHARACTER SET utf8mb3", "VARCHAR(40) CHARACTER SET latin1", "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
			"VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
			"VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_nopad_ci", "CHAR(40) CHARACTER SET utf8mb4", "TEXT CHARACTER SET utf8mb4",
			"TINYTEXT CHARACTER SET utf8mb4", "VARCHAR(4) CHARACTER SET utf8mb4", "VARCHAR(5) CHARACTER SET utf8mb4", "VARCHAR(40) CHARACTER SET utf16",
			"VARCHAR(40) CHARACTER SET utf32", "BINARY(40)", "VARBINARY(160)", "BLOB", "JSON",
			"ENUM('abc','trail','','é中😀','😀',' lead') CHARACTER SET utf8mb4", "SET('abc','trail') CHARACTER SET utf8mb4"},
		key: true, keyFill: "'k%02d'",
	},
	{
		name: "varchar_utf8mb4_generated", typ: "VARCHAR(40) CHARACTER SET utf8mb4", note: "with a STORED and a VIRTUAL column over each", generated: true,
		values:  []string{"'abc'", "'trail  '", "''", "'é中😀'", "NULL"},
		targets: []string{"VARCHAR(60) CHARACTER SET utf8mb4", "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "TEXT CHARACTER SET utf8mb4", "VARCHAR(40) CHARACTER SET utf16", "VARBINARY(160)", "VARCHAR(40) CHARACTER SET latin1"},
	},
	{
		name: "varchar_nopad", typ: "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin", note: "NO PAD",
		values: []string{"'a'", "'a '", "'A'", "''", "' a'", "NULL"},
		targets: []string{"VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
			"CHAR(40) CHARACTER SET utf8mb4", "TEXT CHARACTER SET utf8mb4", "VARBINARY(40)", "VARCHAR(40) CHARACTER SET latin1"},
		key: true, keyFill: "'k%02d'",
	},
	{
		name: "char_utf8mb4", typ: "CHAR(20) CHARACTER SET utf8mb4", note: "case-insensitive, PAD SPACE",
		values:    []string{"'abc'", "'trail  '", "''", "'😀'", "'é'", "'ABC'", "NULL"},
		keyValues: []string{"'abc'", "'trail  '", "''", "'😀'", "'é'", "' lead'"},
		targets: []string{"VARCHAR(20) CHARACTER SET utf8mb4", "CHAR(10) CHARACTER SET utf8mb4", "CHAR(3) CHARACTER SET utf8mb4", "TEXT CHARACTER SET utf8mb4",
			"CHAR(20) CHARACTER SET latin1", "CHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "BINARY(20)", "VARBINARY(80)", "BLOB", "JSON",
			"ENUM('abc','trail','','😀','é') CHARACTER SET utf8mb4"},
		key: true, keyFill: "'k%02d'",
	},
	{
		name: "text_utf8mb4", typ: "TEXT CHARACTER SET utf8mb4",
		values: []string{"'abc'", "'trail  '", "''", "'é中😀'", "REPEAT('é', 30000)", "NULL"},
		targets: []string{"MEDIUMTEXT CHARACTER SET utf8mb4", "LONGTEXT CHARACTER SET utf8mb4", "TINYTEXT CHARACTER SET utf8mb4", "VARCHAR(16000) CHARACTER SET utf8mb4",
			"TEXT CHARACTER SET latin1", "TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "TEXT CHARACTER SET utf16", "BLOB", "MEDIUMBLOB", "JSON"},
	},
	{
		name: "text_latin1", typ: "TEXT CHARACTER SET latin1",
		values:  []string{"'abc'", "'trail  '", "''", "'é'", "x'80'", "x'81'", "x'FF'", "NULL"},
		targets: []string{"TEXT CHARACTER SET utf8mb4", "MEDIUMTEXT CHARACTER SET utf8mb3", "TINYTEXT CHARACTER SET latin1", "VARCHAR(100) CHARACTER SET latin1", "BLOB", "TEXT CHARACTER SET ascii", "JSON"},
	},
	{
		name: "varchar_numbers", typ: "VARCHAR(20)", note: "numbers as text",
		values: []string{"'1'", "'2'", "'3'", "'-0'", "'0.5'", "'1e2'", "NULL"},
		targets: []string{"TINYINT", "INT UNSIGNED", "BIGINT", "DECIMAL(10,2)", "FLOAT", "DOUBLE", "BIT(8)", "YEAR", "TIME",
			"ENUM('1','2','3','-0','0.5','1e2')", "ENUM('a','b','c')", "SET('1','2','3')", "JSON"},
	},
	{
		name: "varchar_dates", typ: "VARCHAR(30)", note: "dates as text",
		values:  []string{"'2020-02-29'", "'2020-02-29 12:34:56.789'", "'0000-00-00'", "'20200229'", "NULL"},
		targets: []string{"DATE", "DATETIME", "DATETIME(3)", "TIMESTAMP", "TIMESTAMP(3)", "TIME", "YEAR"},
	},
	{
		name: "binary8", typ: "BINARY(8)",
		values: []string{"x'00'", "x'0102030400000000'", "x'FFFFFFFFFFFFFFFF'", "''", "'abc'", "NULL"},
		// A key is compared with its padding: the keys are written out to the full 8 bytes.
		keyValues: []string{"x'0000000000000000'", "x'0102030400000000'", "x'FFFFFFFFFFFFFFFF'", "x'6162630000000000'", "x'6162630000000001'"},
		targets: []string{"BINARY(16)", "BINARY(4)", "VARBINARY(16)", "BLOB", "CHAR(8) CHARACTER SET latin1", "VARCHAR(16) CHARACTER SET utf8mb4",
			"TEXT CHARACTER SET latin1", "BIT(64)", "BIGINT UNSIGNED", "JSON"},
		key: true, keyFill: "x'F0%02X000000000000'",
	},
	{
		name: "varbinary", typ: "VARBINARY(40)",
		values: []string{"x''", "x'00'", "x'610000'", "x'FF00FF'", "'abc '", "NULL"},
		targets: []string{"VARBINARY(100)", "BINARY(40)", "VARBINARY(3)", "BLOB", "MEDIUMBLOB", "TINYBLOB", "CHAR(40) CHARACTER SET latin1",
			"VARCHAR(40) CHARACTER SET utf8mb4", "TEXT CHARACTER SET latin1", "BIT(64)", "JSON"},
		key: true, keyFill: "x'F0%02X'",
	},
	{
		name: "blob", typ: "BLOB",
		values:  []string{"x''", "x'00'", "REPEAT(x'00', 40000)", "REPEAT('ab', 30000)", "x'FF'", "NULL"},
		targets: []string{"MEDIUMBLOB", "LONGBLOB", "TINYBLOB", "TEXT CHARACTER SET latin1", "MEDIUMTEXT CHARACTER SET utf8mb4", "BINARY(255)", "JSON"},
	},
	{
		name: "longblob", typ: "LONGBLOB", note: "2.5 MB of zero bytes",
		values:  []string{"x''", "x'00'", "'abc'", "x'FF00'", "NULL", "x'01'", "x'02'", "REPEAT(x'00', 2500000)"},
		targets: []string{"MEDIUMBLOB", "BLOB"},
	},
	{
		name: "enum", typ: "ENUM('a','b','c')",
		values: []string{"'a'", "'c'", "'b'", "NULL"},
		targets: []string{"ENUM('a','b','c','d')", "ENUM('c','b','a')", "ENUM('a','b')", "SET('a','b','c')", "VARCHAR(10)", "CHAR(1)", "TEXT",
			"INT", "TINYINT UNSIGNED", "BIGINT", "DECIMAL(5,0)", "DOUBLE", "BIT(8)", "VARBINARY(10)", "JSON", "YEAR"},
	},
	{
		name: "enum_error", typ: "ENUM('a','b','c')", note: "with the '' error value", sqlMode: "NO_ENGINE_SUBSTITUTION",
		values:  []string{"'a'", "'x'", "'c'", "NULL"},
		targets: []string{"ENUM('a','b','c','d')", "ENUM('','a','b','c')", "VARCHAR(10)", "INT", "TINYINT UNSIGNED"},
	},
	{
		name: "set", typ: "SET('a','b','c')",
		values: []string{"'a,b'", "''", "'a,b,c'", "'c'", "NULL"},
		targets: []string{"SET('a','b','c','d')", "SET('c','b','a')", "SET('a','b')", "ENUM('a','b','c')", "VARCHAR(10)", "TEXT",
			"INT", "BIGINT UNSIGNED", "TINYINT", "DECIMAL(5,0)", "DOUBLE", "BIT(8)", "BIT(2)", "VARBINARY(10)", "JSON"},
	},
	{
		name: "json", typ: "JSON",
		values: []string{`'{"a": 1}'`, `'[1, 2.5, "é😀"]'`, "'null'", `'"str"'`, `'{"big": 18446744073709551615, "neg": -0.0, "f": 1e308}'`, "'{}'", "NULL"},
		targets: []string{"TEXT CHARACTER SET utf8mb4", "LONGTEXT CHARACTER SET utf8mb4", "VARCHAR(100) CHARACTER SET utf8mb4", "VARCHAR(5) CHARACTER SET utf8mb4",
			"TEXT CHARACTER SET latin1", "VARCHAR(100) CHARACTER SET utf8mb3", "BLOB", "LONGBLOB", "INT"},
	},
}
