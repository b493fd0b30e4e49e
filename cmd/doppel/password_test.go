package main

import (
	"bytes"
	"os"
	"testing"
)

// TestReadPasswordFromAPipe: a script pipes the password in; only the line break is taken off.
func TestReadPasswordFromAPipe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"s3cret pass\n", "s3cret pass"},
		{"no newline", "no newline"},
		{" spaced \r\n", " spaced "},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString(tc.in); err != nil {
			t.Fatal(err)
		}
		w.Close()
		var prompt bytes.Buffer
		got, err := readPassword(r, &prompt)
		r.Close()
		if err != nil || got != tc.want || prompt.String() != "Password: " {
			t.Errorf("%q: got %q, %v, prompt %q", tc.in, got, err, prompt.String())
		}
	}
	r, w, _ := os.Pipe()
	w.Close()
	if _, err := readPassword(r, &bytes.Buffer{}); err == nil {
		t.Error("an empty input gave a password")
	}
	r.Close()
}
