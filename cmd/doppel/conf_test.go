package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadClientConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.cnf")
	content := `# a comment
[mysqld]
port = 9999

[client]
user = dba
password = "p#ss = word"
; another comment
host=db1.example.com
port=3307

[mysql]
user = other
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readClientConf(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"user": "dba", "password": "p#ss = word", "host": "db1.example.com", "port": "3307"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := readClientConf(filepath.Join(t.TempDir(), "missing.cnf")); err == nil {
		t.Error("no error for a missing file")
	}
}
