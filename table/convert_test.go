package table

import "testing"

func TestSelectExpr(t *testing.T) {
	col := func(dataType, columnType, charset string) *Column {
		return &Column{Name: "c", DataType: dataType, ColumnType: columnType, Charset: charset}
	}
	for _, tc := range []struct {
		name string
		o, g *Column
		want string
	}{
		{"same type", col("int", "int(11)", ""), col("int", "int(11)", ""), "`c`"},
		{"int to text", col("int", "int(11)", ""), col("varchar", "varchar(10)", "utf8mb4"), "`c`"},
		{"float to varchar", col("float", "float", ""), col("varchar", "varchar(40)", "latin1"), "CAST(`c` AS CHAR)"},
		{"double to blob", col("double", "double", ""), col("blob", "blob", ""), "CAST(`c` AS CHAR)"},
		{"float to double", col("float", "float", ""), col("double", "double", ""), "`c`"},
		{"zerofill to char", col("int", "int(5) unsigned zerofill", ""), col("char", "char(10)", "utf8mb4"), "CAST(`c` AS CHAR)"},
		{"zerofill to bigint", col("int", "int(5) unsigned zerofill", ""), col("bigint", "bigint(20)", ""), "`c`"},
		{"mediumtext to tinytext", col("mediumtext", "mediumtext", "latin1"), col("tinytext", "tinytext", "utf8mb4"), "CAST(`c` AS CHAR CHARACTER SET latin1)"},
		{"longblob to blob", col("longblob", "longblob", ""), col("blob", "blob", ""), "CAST(`c` AS BINARY)"},
		{"text to tinyblob", col("text", "text", "utf8mb4"), col("tinyblob", "tinyblob", ""), "CAST(`c` AS CHAR CHARACTER SET utf8mb4)"},
		{"text to mediumtext", col("text", "text", "utf8mb4"), col("mediumtext", "mediumtext", "utf8mb4"), "`c`"},
		{"text to varchar", col("text", "text", "utf8mb4"), col("varchar", "varchar(10)", "utf8mb4"), "`c`"},
	} {
		if got := SelectExpr(tc.o, tc.g); got != tc.want {
			t.Errorf("%s: SelectExpr = %s, want %s", tc.name, got, tc.want)
		}
	}
}
