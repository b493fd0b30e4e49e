package backfill

import (
	"testing"

	"github.com/doppel-sql/doppel/alter"
)

// FuzzParse: Parse never panics, and a statement it accepts, limited to a key range, is still one
// statement of the same kind that parses: the range can never end up inside a string, a comment
// or another clause.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"UPDATE t SET c = a + 1 WHERE c IS NULL",
		"update `o`.`t` set c = 0;",
		"UPDATE /* x */ t SET c = 'WHERE' WHERE a = \"ON DUPLICATE\" -- end",
		"UPDATE t AS x SET c = (SELECT 1 FROM u WHERE u.id = x.id) WHERE x.a = 1 OR x.b = 2",
		"INSERT INTO a (id) SELECT id FROM t WHERE a < 10 ON DUPLICATE KEY UPDATE id = id",
		"INSERT IGNORE INTO a SELECT * FROM t",
		"REPLACE INTO a SELECT id, CONCAT(b, ')') FROM t WHERE (a = 1)",
		Directive + "\nUPDATE t SET c = 1 # note\n WHERE c IS NULL;",
	} {
		f.Add(seed)
	}
	// Values, not placeholders: Parse refuses a statement's own placeholders.
	const rng = "`id` > 1 AND `id` <= 2"
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text, "db", testServer)
		if err != nil {
			return
		}
		chunk := s.Chunk(rng)
		stmts, err := alter.ParseLogged(chunk, testServer)
		if err != nil || len(stmts) != 1 {
			t.Fatalf("%q was accepted, but its chunk %q does not parse: %v", text, chunk, err)
		}
		again, err := Parse(chunk, "db", testServer)
		if err != nil {
			t.Fatalf("the chunk %q of %q is refused: %v", chunk, text, err)
		}
		if again.Kind != s.Kind || again.Table != s.Table || !s.hasWhere && again.Where != rng {
			t.Fatalf("the chunk %q of %q reads as %s of %s where %q", chunk, text, again.Kind, again.Table, again.Where)
		}
	})
}
