package alter

import (
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser/charset"
)

// The TiDB parser refuses a character set or collation it does not know (cp1251, utf16,
// utf8mb4_nopad_bin, uca1400_ai_ci, ...), and knows only those TiDB supports. Its tables are global
// and unguarded, so they are extended with what the server reports, and read by the parser, under
// one lock. Packages plan and table parse too, without it: a run does so after Parse, once the
// server's names are in; only a later Parse for a server with names still missing writes again.
var (
	parserMu sync.Mutex
	// known are the lower-case names already found in the parser's tables or added to them.
	knownCharsets   = map[string]bool{}
	knownCollations = map[string]bool{}
)

// registerLocked adds the character sets and collations of srv the parser lacks. parserMu must be held.
func registerLocked(srv *Server) {
	for _, c := range srv.Charsets {
		name := strings.ToLower(c.Name)
		if knownCharsets[name] {
			continue
		}
		knownCharsets[name] = true
		// GetCharsetInfo also errs on names it knows but TiDB does not support: those are added too.
		if _, err := charset.GetCharsetInfo(name); err == nil {
			continue
		}
		charset.AddCharset(&charset.Charset{
			Name: name, DefaultCollation: strings.ToLower(c.DefaultCollation), Maxlen: c.MaxLen,
			Collations: map[string]*charset.Collation{},
		})
	}
	for _, c := range srv.Collations {
		name := strings.ToLower(c.Name)
		if knownCollations[name] {
			continue
		}
		knownCollations[name] = true
		if _, err := charset.GetCollationByName(name); err == nil {
			continue
		}
		cs := strings.ToLower(c.Charset)
		if cs == "utf8mb3" {
			cs = charset.CharsetUTF8 // the parser's name for it
		}
		// The parser looks collations up by name only: an id it also uses for another name is harmless.
		charset.AddCollation(&charset.Collation{ID: c.ID, CharsetName: cs, Name: name})
	}
}
