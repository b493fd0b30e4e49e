package fkeys

import (
	"strings"
	"testing"
)

func TestGhostName(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name, want string
		fails      bool
	}{
		{"fk", "_fk", false},
		{"_fk", "fk", false},
		{"__fk", "_fk", false},
		{"t_ibfk_1", "_t_ibfk_1", false},
		{"with`tick", "_with`tick", false},
		{"é", "_é", false},
		{"_", "", true},
		{long, "", true},
		{"_" + long, long, false},
		{strings.Repeat("é", 63), "_" + strings.Repeat("é", 63), false},
	}
	for _, tt := range tests {
		got, err := GhostName(tt.name)
		if (err != nil) != tt.fails || got != tt.want {
			t.Errorf("GhostName(%q) = %q, %v; want %q, fails %v", tt.name, got, err, tt.want, tt.fails)
		}
	}
}

func TestStatements(t *testing.T) {
	one := FK{Name: "fk", Schema: "d", Table: "c", Columns: []string{"pid"}, RefSchema: "d", RefTable: "p",
		RefColumns: []string{"id"}, OnDelete: "CASCADE", OnUpdate: "RESTRICT"}
	multi := FK{Name: "fk`2", Schema: "d", Table: "c`t", Columns: []string{"a", "b c"}, RefSchema: "other", RefTable: "p",
		RefColumns: []string{"x", "y`"}, OnDelete: "SET NULL", OnUpdate: "CASCADE"}
	rename := func(c string) string {
		if c == "a" {
			return "a2"
		}
		return c
	}
	tests := []struct {
		name, got, want string
	}{
		{"clause", one.Clause("_fk", "d", "p"),
			"CONSTRAINT `_fk` FOREIGN KEY (`pid`) REFERENCES `d`.`p` (`id`) ON DELETE CASCADE ON UPDATE RESTRICT"},
		{"add to the ghost", one.AddTo("d", "_c_gho", "_fk", nil),
			"ALTER TABLE `d`.`_c_gho` ADD CONSTRAINT `_fk` FOREIGN KEY (`pid`) REFERENCES `d`.`p` (`id`) ON DELETE CASCADE ON UPDATE RESTRICT"},
		{"multi-column, cross-schema, renamed, backticks", multi.AddTo("d", "_c`t_gho", "_fk`2", rename),
			"ALTER TABLE `d`.`_c``t_gho` ADD CONSTRAINT `_fk``2` FOREIGN KEY (`a2`, `b c`) REFERENCES `other`.`p` (`x`, `y```) ON DELETE SET NULL ON UPDATE CASCADE"},
		{"drop", multi.Drop("d", "c`t_del"), "ALTER TABLE `d`.`c``t_del` DROP FOREIGN KEY `fk``2`"},
		{"repoint drop", one.Repoint("_p_gho")[0], "ALTER TABLE `d`.`c` DROP FOREIGN KEY `fk`"},
		{"repoint add", one.Repoint("_p_gho")[1],
			"ALTER TABLE `d`.`c` ADD CONSTRAINT `fk` FOREIGN KEY (`pid`) REFERENCES `d`.`_p_gho` (`id`) ON DELETE CASCADE ON UPDATE RESTRICT"},
		{"repoint cross-schema child", multi.Repoint("_p_gho")[1],
			"ALTER TABLE `d`.`c``t` ADD CONSTRAINT `fk``2` FOREIGN KEY (`a`, `b c`) REFERENCES `other`.`_p_gho` (`x`, `y```) ON DELETE SET NULL ON UPDATE CASCADE"},
		{"string", multi.String(), "`fk``2` on `d`.`c``t`"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	ok := FK{Name: "fk", Columns: []string{"a"}, RefColumns: []string{"b"}, OnDelete: "NO ACTION", OnUpdate: "SET DEFAULT"}
	tests := []struct {
		name  string
		edit  func(*FK)
		fails bool
	}{
		{"known actions", func(*FK) {}, false},
		{"unknown delete action", func(f *FK) { f.OnDelete = "CASCADE; DROP TABLE x" }, true},
		{"unknown update action", func(f *FK) { f.OnUpdate = "" }, true},
		{"column counts differ", func(f *FK) { f.RefColumns = nil }, true},
		{"no columns", func(f *FK) { f.Columns, f.RefColumns = nil, nil }, true},
	}
	for _, tt := range tests {
		f := ok
		tt.edit(&f)
		if err := f.Check(); (err != nil) != tt.fails {
			t.Errorf("%s: Check() = %v, fails %v", tt.name, err, tt.fails)
		}
	}
}

func TestSelfReferencing(t *testing.T) {
	tests := []struct {
		f    FK
		want bool
	}{
		{FK{Schema: "d", Table: "t", RefSchema: "d", RefTable: "t"}, true},
		{FK{Schema: "d", Table: "t", RefSchema: "e", RefTable: "t"}, false},
		{FK{Schema: "d", Table: "c", RefSchema: "d", RefTable: "t"}, false},
	}
	for _, tt := range tests {
		if got := tt.f.SelfReferencing(); got != tt.want {
			t.Errorf("%+v: SelfReferencing() = %v", tt.f, got)
		}
	}
}
