package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// readConf reads a my.cnf-style file (gh-ost's --conf): its sections by lower-case name, each a
// map of keys (lower case, '_' read as '-') to values. Later sections of the same name add to
// earlier ones, as in MySQL. A value that is exactly ${NAME} is the environment variable NAME, as
// gh-ost reads it, so a password need not be written in the file; any other '$' is kept as is.
func readConf(path string) (map[string]map[string]string, error) {
	// "--conf=~/x" reaches doppel unexpanded: the shell expands ~ only at the start of a word.
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, rest)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading --conf: %w", err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || s[0] == '#' || s[0] == ';':
			continue
		case s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: unterminated section header", path, line)
			}
			section = strings.ToLower(strings.TrimSpace(s[1:end]))
			continue
		}
		key, value, _ := strings.Cut(s, "=")
		key = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "_", "-")
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		if name, ok := strings.CutPrefix(value, "${"); ok && strings.HasSuffix(name, "}") {
			name = strings.TrimSuffix(name, "}")
			v, set := os.LookupEnv(name)
			if !set {
				return nil, fmt.Errorf("%s:%d: %s is ${%s}, but the environment variable %s is not set: export it, or write the value in the file", path, line, key, name, name)
			}
			value = v
		}
		if out[section] == nil {
			out[section] = map[string]string{}
		}
		out[section][key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading --conf: %w", err)
	}
	return out, nil
}
