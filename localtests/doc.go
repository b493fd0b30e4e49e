// Package localtests holds doppel's end-to-end cases, one directory per case, and the Go driver
// (localtests_test.go) that runs each one against a sandbox primary and replica under a concurrent
// DML load, then compares the migrated table with an oracle altered natively. See README.md for the
// layout of a case. The package has no code of its own: run it with go test.
package localtests
