package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/doppel-sql/doppel/dbconn"
)

// servers are the connections of a run: the inspected server (a replica, or the primary with
// --allow-on-master), where the binlog is read, and the primary, where everything is written.
type servers struct {
	flavor      dbconn.Flavor
	inspect     *sql.DB
	inspectCfg  dbconn.Config
	primary     *sql.DB
	primaryCfg  dbconn.Config
	replicaMode bool
	// onReplica: --migrate-on-replica or --test-on-replica, the replica is read and written.
	onReplica bool
}

func (s *servers) close() {
	if s.primary != nil && s.primary != s.inspect {
		_ = s.primary.Close()
	}
	if s.inspect != nil {
		_ = s.inspect.Close()
	}
}

// connect opens the inspected server, finds the primary and opens it.
func connect(ctx context.Context, cfg *Config) (_ *servers, err error) {
	s := &servers{inspectCfg: cfg.Conn}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.inspect, err = dbconn.Open(cfg.Conn, ""); err != nil {
		return nil, err
	}
	if err := dbconn.Ping(ctx, s.inspect, cfg.Conn); err != nil {
		return nil, err
	}
	if s.flavor, err = dbconn.DetectFlavor(ctx, s.inspect); err != nil {
		return nil, err
	}
	st, isReplica, err := dbconn.ReadReplicaStatus(ctx, s.inspect, s.flavor)
	if err != nil {
		return nil, fmt.Errorf("asking %s whether it is a replica (doppel needs REPLICATION CLIENT, or SLAVE MONITOR on MariaDB): %w", cfg.Conn.Addr(), err)
	}
	switch {
	case cfg.MigrateOnReplica || cfg.TestOnReplica:
		if !isReplica {
			return nil, &refusal{msg: fmt.Sprintf("%s is not a replica: --test-on-replica and --migrate-on-replica work on a replica's own table; point --host at a replica, or leave the flag out to migrate the primary", cfg.Conn.Addr())}
		}
		s.primaryCfg, s.onReplica = cfg.Conn, true
	case cfg.AssumeMasterHost != "":
		host, port, err := splitHostPort(cfg.AssumeMasterHost, cfg.Conn.Port)
		if err != nil {
			return nil, err
		}
		s.primaryCfg = cfg.Conn.WithHost(host, port)
		s.replicaMode = isReplica
	case isReplica && cfg.AllowOnMaster && cfg.AllowMasterMaster:
		// One of a pair of primaries: it replicates from the other, and takes the writes.
		s.primaryCfg = cfg.Conn
	case isReplica:
		if st.SourceHost == "" {
			return nil, fmt.Errorf("%s is a replica but does not say of which primary: give it with --assume-master-host", cfg.Conn.Addr())
		}
		s.primaryCfg = cfg.Conn.WithHost(st.SourceHost, st.SourcePort)
		s.replicaMode = true
	case cfg.AllowOnMaster:
		s.primaryCfg = cfg.Conn
	default:
		return nil, fmt.Errorf("%s is not a replica. doppel reads the binlog and inspects on a replica by default and writes to its primary; to run against the primary itself, add --allow-on-master (or point --host at a replica)", cfg.Conn.Addr())
	}
	if !s.replicaMode && s.primaryCfg.Addr() == cfg.Conn.Addr() {
		s.primary = s.inspect
		return s, nil
	}
	if cfg.MasterUser != "" {
		s.primaryCfg.User = cfg.MasterUser
	}
	if cfg.MasterPassword != "" {
		s.primaryCfg.Password = cfg.MasterPassword
	}
	if s.primary, err = dbconn.Open(s.primaryCfg, ""); err != nil {
		return nil, err
	}
	if err := dbconn.Ping(ctx, s.primary, s.primaryCfg); err != nil {
		return nil, fmt.Errorf("connecting to the primary of %s: %w (give the primary's address with --assume-master-host if it differs from what the replica reports)", cfg.Conn.Addr(), err)
	}
	if s.replicaMode {
		if _, primaryIsReplica, err := dbconn.ReadReplicaStatus(ctx, s.primary, s.flavor); err == nil && primaryIsReplica && cfg.AssumeMasterHost == "" && !cfg.AllowMasterMaster {
			return nil, fmt.Errorf("the primary %s of %s is itself a replica: doppel does not walk chains of replicas. Give the top primary with --assume-master-host, "+
				"or, when the two are a pair of primaries replicating from each other and %s takes the writes, add --allow-master-master", s.primaryCfg.Addr(), cfg.Conn.Addr(), s.primaryCfg.Addr())
		}
	}
	return s, nil
}

func splitHostPort(hostport string, defaultPort int) (string, int, error) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		var addrErr *net.AddrError
		if errors.As(err, &addrErr) && addrErr.Err == "missing port in address" {
			return hostport, defaultPort, nil
		}
		return "", 0, fmt.Errorf("--assume-master-host %q: %w", hostport, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", 0, fmt.Errorf("--assume-master-host %q: bad port: %w", hostport, err)
	}
	return host, port, nil
}
