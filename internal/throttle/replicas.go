package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
)

// ParseReplicas parses --throttle-control-replicas, "host[:port][,host[:port]...]" (IPv6 hosts in
// brackets), into connection settings that share conn's user, password and TLS; a host without a
// port gets conn's port. An empty string is no replica.
func ParseReplicas(list string, conn dbconn.Config) ([]dbconn.Config, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return nil, nil
	}
	var out []dbconn.Config
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%q has an empty entry: write host[:port],host[:port]", list)
		}
		host, port := item, conn.Port
		// A port follows the only colon of a name or IPv4 address, or the bracket of an IPv6 one.
		if strings.Count(item, ":") == 1 || strings.HasPrefix(item, "[") && !strings.HasSuffix(item, "]") {
			h, p, err := net.SplitHostPort(item)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%q: %q is not a port", item, p)
			}
			host, port = h, n
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" {
			return nil, fmt.Errorf("%q has no host name", item)
		}
		c := conn.WithHost(host, port)
		if seen[c.Addr()] {
			continue
		}
		seen[c.Addr()] = true
		out = append(out, c)
	}
	return out, nil
}

// replicaLag is what one check of one replica found.
type replicaLag struct {
	addr string
	// lag is now minus the heartbeat read on the replica; meaningful when measured is true.
	lag      time.Duration
	measured bool
	// problem, when not empty, says why the replica counts as lagging whatever its lag: it cannot be
	// reached, replication is stopped, or no heartbeat has arrived.
	problem string
}

// checkReplica reads the replication threads and the heartbeat of one replica. A replica whose
// threads are stopped is reported so even when its last heartbeat is recent: it will fall behind.
func checkReplica(ctx context.Context, db *sql.DB, addr string, flavor dbconn.Flavor, log changelog.Table) replicaLag {
	r := replicaLag{addr: addr}
	st, isReplica, err := dbconn.ReadReplicaStatus(ctx, db, flavor)
	switch {
	case err != nil && dbconn.ErrorNumber(err) != 0:
		// The server answered, with an error: most likely a missing privilege.
		r.problem = fmt.Sprintf("replica %s: %v", addr, err)
		return r
	case err != nil:
		r.problem = fmt.Sprintf("replica %s unreachable: %v", addr, shortError(ctx, err))
		return r
	case !isReplica:
		r.problem = fmt.Sprintf("replica %s is not replicating (SHOW REPLICA STATUS is empty)", addr)
	case !st.IORunning && !st.SQLRunning:
		r.problem = fmt.Sprintf("replica %s: replication IO and SQL threads stopped", addr)
	case !st.SQLRunning:
		r.problem = fmt.Sprintf("replica %s: replication SQL thread stopped", addr)
	case !st.IORunning:
		r.problem = fmt.Sprintf("replica %s: replication IO thread stopped", addr)
	}
	value, err := log.Read(ctx, db, changelog.HintHeartbeat)
	if err != nil {
		if r.problem == "" {
			if errors.Is(err, changelog.ErrNoRow) {
				r.problem = fmt.Sprintf("replica %s: no heartbeat in %s yet", addr, log.Qualified())
			} else {
				r.problem = fmt.Sprintf("replica %s: reading the heartbeat: %v", addr, shortError(ctx, err))
			}
		}
		return r
	}
	beat, err := changelog.ParseHeartbeat(value)
	if err != nil {
		if r.problem == "" {
			r.problem = fmt.Sprintf("replica %s: the heartbeat %q is not a time", addr, value)
		}
		return r
	}
	r.lag, r.measured = max(time.Since(beat), 0), true
	return r
}

// shortError names a timeout as such instead of the driver's wording for a cancelled dial.
func shortError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("no answer within %s", checkTimeout)
	}
	return err
}
