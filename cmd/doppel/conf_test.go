package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.cnf")
	content := `# a comment
[mysqld]
port = 9999

[client]
user = dba
password = ${DOPPEL_TEST_PW}
; another comment
host=db1.example.com
port=3307

[osc]
chunk_size = 500
max_load = Threads_running=30
other = a$b

[mysql]
user = other
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOPPEL_TEST_PW", "p#ss = w$rd")
	got, err := readConf(path)
	if err != nil {
		t.Fatal(err)
	}
	for section, want := range map[string]map[string]string{
		"client": {"user": "dba", "password": "p#ss = w$rd", "host": "db1.example.com", "port": "3307"},
		"osc":    {"chunk-size": "500", "max-load": "Threads_running=30", "other": "a$b"},
		"mysql":  {"user": "other"},
	} {
		if !reflect.DeepEqual(got[section], want) {
			t.Errorf("[%s] = %v, want %v", section, got[section], want)
		}
	}
	if _, err := readConf(filepath.Join(t.TempDir(), "missing.cnf")); err == nil {
		t.Error("no error for a missing file")
	}
	if err := os.WriteFile(path, []byte("[client]\npassword=${DOPPEL_UNSET_VARIABLE}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readConf(path); err == nil || !strings.Contains(err.Error(), "DOPPEL_UNSET_VARIABLE is not set") {
		t.Errorf("an unset variable: %v", err)
	}
}
