package alter

// TriggerDDL reports whether query is a CREATE TRIGGER or a DROP TRIGGER, with the trigger's schema
// ("" when the statement does not write one) and name, and for a CREATE the table it is on (""
// for a DROP). The TiDB parser reads neither statement; its tokens say it: CREATE [OR REPLACE]
// [DEFINER = …] TRIGGER [IF NOT EXISTS] name BEFORE|AFTER event ON table …, and DROP TRIGGER
// [IF EXISTS] name.
func TriggerDDL(query string, srv *Server) (schema, name, table string, ok bool) {
	s, err := canonical(query, srv)
	if err != nil {
		s = query // a body in another character set than UTF-8: the tokens are still there
	}
	toks := tokenize(s)
	if len(toks) < 3 {
		return "", "", "", false
	}
	// name reads [schema .] name from toks[i:], skipping IF [NOT] EXISTS, and returns the index after it.
	name3 := func(i int) (string, string, int, bool) {
		if i < len(toks) && toks[i].isWord(s, "IF") {
			i++
			if i < len(toks) && toks[i].isWord(s, "NOT") {
				i++
			}
			if i >= len(toks) || !toks[i].isWord(s, "EXISTS") {
				return "", "", 0, false
			}
			i++
		}
		if i >= len(toks) {
			return "", "", 0, false
		}
		first, ok := toks[i].ident(s)
		if !ok {
			return "", "", 0, false
		}
		i++
		if i+1 < len(toks) && toks[i].kind == punct && s[toks[i].start] == '.' {
			second, ok := toks[i+1].ident(s)
			if !ok {
				return "", "", 0, false
			}
			return first, second, i + 2, true
		}
		return "", first, i, true
	}
	switch {
	case toks[0].isWord(s, "DROP") && toks[1].isWord(s, "TRIGGER"):
		schema, name, _, ok := name3(2)
		return schema, name, "", ok
	case toks[0].isWord(s, "CREATE"):
		// The TRIGGER keyword is the one followed by a name and BEFORE or AFTER: a definer's name
		// can be the word too.
		for i := 1; i < len(toks); i++ {
			if !toks[i].isWord(s, "TRIGGER") {
				continue
			}
			schema, name, next, ok := name3(i + 1)
			if !ok || next+2 >= len(toks) || !(toks[next].isWord(s, "BEFORE") || toks[next].isWord(s, "AFTER")) {
				continue
			}
			// event ON [schema.]table
			if !toks[next+2].isWord(s, "ON") {
				return schema, name, "", true
			}
			_, table, _, tok := name3(next + 3)
			if !tok {
				table = ""
			}
			return schema, name, table, true
		}
	}
	return "", "", "", false
}
