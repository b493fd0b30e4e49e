package table

import "testing"

func TestSelectExpr(t *testing.T) {
	unsigned := func(c *Column) *Column { c.Unsigned = true; return c }
	col := func(dataType, columnType, charset string) *Column {
		return &Column{Name: "c", DataType: dataType, ColumnType: columnType, Charset: charset}
	}
	for _, tc := range []struct {
		name string
		o, g *Column
		zone string
		want string
	}{
		{"same type", col("int", "int(11)", ""), col("int", "int(11)", ""), "", "`c`"},
		{"int to text", col("int", "int(11)", ""), col("varchar", "varchar(10)", "utf8mb4"), "", "`c`"},
		{"float to varchar", col("float", "float", ""), col("varchar", "varchar(40)", "latin1"), "", "CAST(`c` AS CHAR)"},
		{"double to blob", col("double", "double", ""), col("blob", "blob", ""), "", "CAST(`c` AS CHAR)"},
		{"float to double", col("float", "float", ""), col("double", "double", ""), "", "`c`"},
		{"zerofill to char", col("int", "int(5) unsigned zerofill", ""), col("char", "char(10)", "utf8mb4"), "", "CAST(`c` AS CHAR)"},
		{"zerofill to bigint", col("int", "int(5) unsigned zerofill", ""), col("bigint", "bigint(20)", ""), "", "`c`"},
		{"mediumtext to tinytext", col("mediumtext", "mediumtext", "latin1"), col("tinytext", "tinytext", "utf8mb4"), "", "CAST(`c` AS CHAR CHARACTER SET latin1)"},
		{"longblob to blob", col("longblob", "longblob", ""), col("blob", "blob", ""), "", "CAST(`c` AS BINARY)"},
		{"text to tinyblob", col("text", "text", "utf8mb4"), col("tinyblob", "tinyblob", ""), "", "CAST(`c` AS CHAR CHARACTER SET utf8mb4)"},
		{"text to mediumtext", col("text", "text", "utf8mb4"), col("mediumtext", "mediumtext", "utf8mb4"), "", "`c`"},
		{"text to varchar", col("text", "text", "utf8mb4"), col("varchar", "varchar(10)", "utf8mb4"), "", "`c`"},
		{"year to char", col("year", "year(4)", ""), col("char", "char(4)", "utf8mb4"), "", "CAST(`c` AS CHAR)"},
		{"text to int", col("varchar", "varchar(10)", "utf8mb4"), col("int", "int(11)", ""), "", "CAST(`c` AS SIGNED)"},
		{"text to unsigned", col("varchar", "varchar(10)", "utf8mb4"), unsigned(col("int", "int(10) unsigned", "")), "", "CAST(`c` AS UNSIGNED)"},
		{"binary to bit", col("binary", "binary(8)", ""), col("bit", "bit(64)", ""), "", "CAST(`c` AS UNSIGNED)"},
		{"bit to double", col("bit", "bit(64)", ""), col("double", "double", ""), "", "CAST(`c` AS SIGNED)"},
		{"float to bigint", col("float", "float", ""), col("bigint", "bigint(20)", ""), "", "CAST(`c` AS SIGNED)"},
		{"float to int", col("float", "float", ""), col("int", "int(11)", ""), "", "`c`"},
		{"timestamp to datetime, UTC", col("timestamp", "timestamp", ""), col("datetime", "datetime", ""), "", "`c`"},
		{"timestamp to datetime", col("timestamp", "timestamp", ""), col("datetime", "datetime", ""), "+05:30", "IF(`c` = 0, `c`, CONVERT_TZ(`c`, '+00:00', '+05:30'))"},
		{"text to timestamp", col("varchar", "varchar(30)", "latin1"), col("timestamp", "timestamp(3)", ""), "Europe/Paris", "IF(`c` LIKE '0000-00-00%', `c`, CAST(CONVERT_TZ(`c`, 'Europe/Paris', '+00:00') AS CHAR))"},
		{"number to timestamp", col("int", "int(11)", ""), col("timestamp", "timestamp", ""), "+05:30", "IF(`c` = 0, `c`, CONVERT_TZ(`c`, '+05:30', '+00:00') + 0)"},
		{"date to timestamp", col("date", "date", ""), col("timestamp", "timestamp", ""), "+05:30", "IF(`c` = 0, `c`, CONVERT_TZ(`c`, '+05:30', '+00:00'))"},
		{"timestamp precision", col("timestamp", "timestamp", ""), col("timestamp", "timestamp(6)", ""), "+05:30", "`c`"},
	} {
		if got := SelectExpr("`c`", tc.o, tc.g, tc.zone); got != tc.want {
			t.Errorf("%s: SelectExpr = %s, want %s", tc.name, got, tc.want)
		}
	}
}
