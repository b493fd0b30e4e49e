package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Version orders migrations: the numbers of a file name's version, compared one by one, so that
// 0002 = 2 and 1.10 follows 1.9. String is the form the history table keeps ("2", "1.10").
type Version []uint64

// ParseVersion reads a version: digits, with "." or "_" between parts (Flyway's V1_1 is 1.1).
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	var v Version
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '_' }) {
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("version %q: %q is not a number", s, part)
		}
		v = append(v, n)
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("version %q holds no number", s)
	}
	return v, nil
}

func (v Version) String() string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ".")
}

// Compare orders versions part by part; a missing part counts as 0, so 1 = 1.0.
func (v Version) Compare(w Version) int {
	for i := 0; i < max(len(v), len(w)); i++ {
		var a, b uint64
		if i < len(v) {
			a = v[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

// File is one migration script as read from the directory.
type File struct {
	Name string // the file's name within the directory
	Text string
	// Checksum is the SHA-256 of the file's bytes, in hex: what the history table records.
	Checksum string
}

// Migration is one version: its up script and, when there is one, its down script.
type Migration struct {
	Version     Version
	Description string
	Up          *File
	Down        *File // nil: the migration cannot be reverted
}

// direction says which script of a migration a file is.
type direction int

const (
	up direction = iota
	down
)

// fileName is what a migration file's name says.
type fileName struct {
	version     Version
	description string
	dir         direction
}

// parseName reads golang-migrate's "0001_name.up.sql" / "0001_name.down.sql" and Flyway's
// "V1__name.sql" / "U1__name.sql" (undo). ok is false for a file that is not a migration by its
// extension (a README); an error for a ".sql" file whose name follows neither convention, so a typo
// never leaves a migration out silently.
func parseName(name string) (fileName, bool, error) {
	base, isSQL := strings.CutSuffix(name, ".sql")
	if !isSQL {
		return fileName{}, false, nil
	}
	bad := func(why string) (fileName, bool, error) {
		return fileName{}, true, fmt.Errorf("%s: %s; name migrations 0001_create_users.up.sql and 0001_create_users.down.sql (golang-migrate), or V1__create_users.sql and U1__create_users.sql (Flyway)", name, why)
	}
	var f fileName
	var ver, desc string
	switch {
	case strings.HasPrefix(base, "R__"):
		return bad("Flyway's repeatable migrations are not supported")
	case len(base) > 1 && (base[0] == 'V' || base[0] == 'U') && isDigit(base[1]):
		var found bool
		ver, desc, found = strings.Cut(base[1:], "__")
		if !found {
			return bad("a Flyway name separates the version from the description with two underscores")
		}
		if base[0] == 'U' {
			f.dir = down
		}
	case len(base) > 0 && isDigit(base[0]):
		var rest string
		var found bool
		if rest, found = strings.CutSuffix(base, ".up"); !found {
			if rest, found = strings.CutSuffix(base, ".down"); !found {
				return bad("a golang-migrate name ends in .up.sql or .down.sql")
			}
			f.dir = down
		}
		ver, desc, _ = strings.Cut(rest, "_")
	default:
		return bad("the name does not start with a version")
	}
	v, err := ParseVersion(ver)
	if err != nil {
		return bad(err.Error())
	}
	f.version, f.description = v, strings.TrimSpace(strings.ReplaceAll(desc, "_", " "))
	return f, true, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Checksum is the SHA-256 of b in hex, as the history table keeps it.
func Checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ReadDir reads the migrations of dir, ordered by version. Every problem with the names (two files
// of one version, a down without its up, a .sql file named by neither convention) is reported at
// once, before anything runs.
func ReadDir(dir string) ([]Migration, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the migrations directory: %w", err)
	}
	byVersion := map[string]*Migration{}
	var errs []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, ok, err := parseName(e.Name())
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		key := f.version.String()
		m := byVersion[key]
		if m == nil {
			m = &Migration{Version: f.version}
			byVersion[key] = m
		}
		file := &File{Name: e.Name(), Text: string(b), Checksum: Checksum(b)}
		slot := &m.Up
		if f.dir == down {
			slot = &m.Down
		}
		if *slot != nil {
			errs = append(errs, fmt.Sprintf("%s and %s are both version %s: give every migration its own version", (*slot).Name, e.Name(), key))
			continue
		}
		*slot = file
		if f.dir == up || m.Description == "" {
			m.Description = f.description
		}
	}
	var out []Migration
	for _, m := range byVersion {
		if m.Up == nil {
			if m.Down != nil {
				errs = append(errs, fmt.Sprintf("%s reverts version %s, which has no up script", m.Down.Name, m.Version))
			}
			continue
		}
		out = append(out, *m)
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("the migrations in %s cannot be read:\n  %s", dir, strings.Join(errs, "\n  "))
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version.Compare(b.Version) })
	return out, nil
}
