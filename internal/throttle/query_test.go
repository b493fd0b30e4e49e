package throttle

import (
	"strings"
	"testing"
)

func TestCheckQuery(t *testing.T) {
	for _, tc := range []struct{ q, err string }{
		{"", ""},
		{"SELECT 1", ""},
		{"select HOUR(NOW()) BETWEEN 8 AND 17", ""},
		{"SELECT COUNT(*) > 10 FROM information_schema.PROCESSLIST WHERE COMMAND != 'Sleep'", ""},
		{"SELECT 1 UNION SELECT 2", ""},
		{"WITH x AS (SELECT 1 AS n) SELECT n FROM x", ""},
		{"(SELECT 1)", ""},
		{"SELECT 1 -- a comment /*! DROP TABLE t */", ""},
		{"SELECT '/*!' AS s", ""},
		{"SELECT 1 /* just a comment */", ""},
		{"SELECT /*+ MAX_EXECUTION_TIME(100) */ 1", ""},
		{"SELECT 1;", ""},
		{"DROP TABLE t", "a DROP statement"},
		{"TRUNCATE t", "a TRUNCATE statement"},
		{"INSERT INTO t VALUES (1)", "a INSERT statement"},
		{"DELETE FROM t", "a DELETE statement"},
		{"SET @a = 1", "a SET statement"},
		{"SHOW STATUS", "a SHOW statement"},
		{"DO SLEEP(1)", "a DO statement"},
		{"CALL p()", "a CALL statement"},
		{"SELECT 1; DROP TABLE t", "2 statements"},
		{"SELECT 1 INTO @x", "not a statement doppel can read"}, // the parser does not know INTO @var: refused all the same
		{"SELECT 1 INTO OUTFILE '/tmp/x'", "SELECT … INTO"},
		{"SELECT a FROM t FOR UPDATE", "locks rows"},
		{"SELECT a FROM t LOCK IN SHARE MODE", "locks rows"},
		{"SELECT (SELECT a FROM t FOR UPDATE)", "locks rows"},
		{"SELECT 1 UNION (SELECT a FROM t FOR SHARE)", "locks rows"},
		{"SELECT 1 /*!, (SELECT 2) */", "executable comment"},
		{"SELECT 1 /*M!100000 INTO OUTFILE '/tmp/x' */", "executable comment"},
		{"/*!50000 DROP TABLE t */", "executable comment"},
		{"SELECT FROM WHERE", "not a statement doppel can read"},
	} {
		err := CheckQuery(tc.q)
		if tc.err == "" {
			if err != nil {
				t.Errorf("CheckQuery(%q) = %v, want nil", tc.q, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckQuery(%q) = %v, want an error with %q", tc.q, err, tc.err)
		}
	}
}

func TestHasExecutableComment(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"SELECT 1", false},
		{"SELECT 1 /*! 2 */", true},
		{"SELECT 1 /*M!100000 2 */", true},
		{"SELECT 1 /*!50000 2 */", true},
		{"SELECT 1 /* M! */", false},
		{"SELECT '/*!' AS s", false},
		{`SELECT "it\"s /*!" AS s`, false},
		{"SELECT 'it''s' /*!1*/", true},
		{"SELECT `a/*!b` FROM t", false},
		{"SELECT 1 # /*!\n", false},
		{"SELECT 1 # x\n/*!2*/", true},
		{"SELECT 1 -- /*!", false},
		{"SELECT 1--/*!2*/", true}, // "--" without a space is two minus signs, not a comment
		{"SELECT 1 /* a */ /*! b */", true},
		{"SELECT 1 /* unclosed", false},
	} {
		if got := hasExecutableComment(tc.q); got != tc.want {
			t.Errorf("hasExecutableComment(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}
