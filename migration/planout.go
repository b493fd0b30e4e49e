package migration

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// writePlan prints what the migration will do, for people: before --execute, and at its start. rows
// is the server's estimate, or the count with --exact-rowcount when it counts first.
func writePlan(w io.Writer, cfg *Config, s *servers, p *validated, rows int64) {
	q := func(name string) string { return sqlbuild.QualifiedName(cfg.Database, name) }
	fmt.Fprintf(w, "doppel: migration of %s on %s %s\n", q(cfg.Table), flavorName(s), s.flavor.Version())
	switch {
	case cfg.TestOnReplica:
		fmt.Fprintf(w, "  topology   rehearsal on the replica %s (--test-on-replica): its own table is migrated; at the cut-over replication is stopped, the tables are swapped and swapped back, and replication stays stopped for the comparison; the primary is not touched\n", s.primaryCfg.Addr())
	case cfg.MigrateOnReplica:
		fmt.Fprintf(w, "  topology   on the replica %s alone (--migrate-on-replica): its own table is migrated and swapped; the primary is not touched\n", s.primaryCfg.Addr())
	case s.replicaMode:
		fmt.Fprintf(w, "  topology   inspecting and reading the binlog on replica %s, writing to primary %s\n", s.inspectCfg.Addr(), s.primaryCfg.Addr())
	default:
		fmt.Fprintf(w, "  topology   on the primary %s (--allow-on-master)\n", s.primaryCfg.Addr())
	}
	fmt.Fprintf(w, "  alter      %s\n", p.alter.Clause)
	switch {
	case cfg.countFirst():
		fmt.Fprintf(w, "  rows       %d (counted, --exact-rowcount)\n", rows)
	case cfg.countAlongside():
		fmt.Fprintf(w, "  rows       about %d (server estimate; --exact-rowcount counts them during the copy)\n", rows)
	default:
		fmt.Fprintf(w, "  rows       about %d (server estimate)\n", rows)
	}
	if p.key != nil {
		fmt.Fprintf(w, "  key        %s (%s): rows are copied in chunks of %d along it and changes replayed by it; %s\n",
			sqlbuild.QuoteIdent(p.key.Orig.Name), sqlbuild.QuoteIdents(p.key.Names()), cfg.ChunkSize, p.key.Why())
		fmt.Fprintf(w, "  columns    %d copied", len(p.mapping.Copied))
		if len(p.mapping.Dropped) > 0 {
			fmt.Fprintf(w, ", dropped: %s", sqlbuild.QuoteIdents(p.mapping.Dropped))
		}
		if len(p.mapping.Added) > 0 {
			fmt.Fprintf(w, ", added (filled with their default): %s", sqlbuild.QuoteIdents(p.mapping.Added))
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "  key        decided once the ghost table exists: %s\n", p.probeNote)
	}
	if len(p.renames) > 0 {
		var pairs []string
		for from, to := range p.renames {
			pairs = append(pairs, sqlbuild.QuoteIdent(from)+" → "+sqlbuild.QuoteIdent(to))
		}
		sort.Strings(pairs)
		fmt.Fprintf(w, "  renames    %s (values carried over)\n", strings.Join(pairs, ", "))
	}
	for _, u := range p.unique {
		fmt.Fprintf(w, "  unique     new unique key %s: the existing rows were checked and hold no duplicates\n", sqlbuild.QuoteIdent(u.Ghost.Name))
	}
	fmt.Fprintf(w, "  creates    %s (ghost), %s (changelog)\n", q(p.names.ghost), q(p.changelog))
	if len(p.dropFirst) > 0 {
		fmt.Fprintf(w, "  drops      leftovers first: %s\n", sqlbuild.QuoteIdents(p.dropFirst))
	}
	after := "kept as " + q(p.old) + " (drop it when you no longer need it, or pass --ok-to-drop-table)"
	if cfg.OkToDropTable {
		after = "dropped (--ok-to-drop-table)"
	}
	fmt.Fprintf(w, "  swap       atomic RENAME; the original table is then %s\n", after)
	for _, warning := range p.warnings {
		fmt.Fprintf(w, "  warning    %s\n", warning)
	}
}

func flavorName(s *servers) string {
	if s.flavor.Name() == "mariadb" {
		return "MariaDB"
	}
	return "MySQL"
}
