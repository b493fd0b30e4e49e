package table

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
	"unicode/utf8"
)

// MaxNameLen is the longest table name MySQL and MariaDB accept, in characters.
const MaxNameLen = 64

// The names of the tables a migration of table T creates (gh-ost's, plus the sentry):
//
//	_T_gho   the ghost               GhostName
//	_T_ghc   the changelog           ChangelogName
//	_T_del   the old table           OldName (_T_<UTC time>_del: TimestampedOldName)
//	T_swap   the cut-over sentry     SentryName
//	_T_ghr   the revert records      RevertName (where each kept old table's swap was, for --revert)
//
// When such a name would pass MaxNameLen characters, T is cut to a prefix and the first hashLen hex
// digits of the SHA-256 of the whole name follow it: "_" + prefix + "_" + hash + "_gho". The prefix
// keeps the name recognisable, the hash keeps the names of two long tables sharing that prefix
// apart. Names that fit are gh-ost's, unchanged. The sentry must also sort after T (see SentryName).
const hashLen = 8

// GhostName is the ghost table's name.
func GhostName(t string) string { return wrapped(t, "gho") }

// ChangelogName is the changelog table's name.
func ChangelogName(t string) string { return wrapped(t, "ghc") }

// RevertName is the table of the revert records: for each old table kept after a swap, where in
// the binlog the swap was (migration/revert.go).
func RevertName(t string) string { return wrapped(t, "ghr") }

// OldName is the name the original table keeps after the swap.
func OldName(t string) string { return wrapped(t, "del") }

// TimestampedOldName is the old table's name with --timestamp-old-table, as gh-ost names it.
func TimestampedOldName(t string, now time.Time) string {
	return wrapped(t, now.UTC().Format("20060102150405")+"_del")
}

// wrapped is "_" + t + "_" + suffix, shortened to fit as the package comment says.
func wrapped(t, suffix string) string {
	full := "_" + t + "_" + suffix
	if utf8.RuneCountInString(full) <= MaxNameLen {
		return full
	}
	room := MaxNameLen - len("_") - len("_") - hashLen - len("_") - utf8.RuneCountInString(suffix)
	return "_" + prefix(t, room) + "_" + nameHash(t) + "_" + suffix
}

// SentryName is the name the original table is renamed to in the swap, before it gets its old
// name: the sentry's, T_swap. It must sort after T: a RENAME takes its tables' metadata locks in
// name order (the bytes of the UTF-8 name, which is the order of the characters), so queued behind
// the lock on T it is first in line for T, ahead of every write waiting for T. T_swap extends T, so
// it sorts after it. A name too long for that is cut before a character of T that sorts before a
// marker, the marker put there (so it sorts after T), then the hash of T:
// T[:k] + "~" + hash + "_swap". The marker is '~' unless T's leading characters all sort after it
// (names in other scripts), then U+FFEE. "" when neither works: no name of at most MaxNameLen
// characters is known to sort after T, and the migration refuses the table.
func SentryName(t string) string {
	full := t + "_swap"
	if utf8.RuneCountInString(full) <= MaxNameLen {
		return full
	}
	runes := []rune(t)
	for _, marker := range []rune{'~', '\uFFEE'} {
		for k := MaxNameLen - 1 - hashLen - len("_swap"); k >= 0; k-- {
			if runes[k] < marker {
				return string(runes[:k]) + string(marker) + nameHash(t) + "_swap"
			}
		}
	}
	return ""
}

// prefix returns the first n characters of s (all of it when shorter).
func prefix(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	return string(runes[:n])
}

func nameHash(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])[:hashLen]
}
