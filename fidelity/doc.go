// Package fidelity holds the differential test of doppel's value conversions: a matrix of source
// type × target type × edge values, each cell migrated by doppel against the sandbox with changes
// replayed after the copy started, and compared byte for byte with the same ALTER run natively on
// an oracle copy of the table. Every cell must come out equal to the native ALTER, or be refused
// before anything is created with the reason the server gives.
//
// The package has no code of its own: the matrix and its runner are its tests (go test ./fidelity).
// docs/testing.md describes how the matrix is built and read.
package fidelity
