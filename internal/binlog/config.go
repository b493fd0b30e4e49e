package binlog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"
)

// Config says which server to stream from and which tables to watch.
type Config struct {
	// Flavor is "mysql" or "mariadb": the two speak different binlog protocols (GTID events,
	// compressed events), and a MariaDB server streamed as "mysql" sends dummy events instead.
	Flavor string
	// ServerID identifies this stream to the server as a replica. It must differ from the server_id
	// of every server and every other stream in the topology: the server ends an older stream that
	// registers with the same id. 0 is not allowed.
	ServerID uint32

	Host     string
	Port     int
	User     string // needs REPLICATION SLAVE (and REPLICATION CLIENT to read positions)
	Password string
	TLS      *tls.Config // nil connects in plain text

	// Database is the schema whose tables are watched.
	Database string
	// Tables are the watched tables of Database, named exactly as the server stores them. Row
	// events of every other table are skipped before their rows are decoded.
	Tables []string

	// GTID positions the stream by GTID (gh-ost's --gtid): it starts and reconnects from
	// Position.GTIDSet, which is valid on every server of the topology, and every transaction's end
	// carries the set executed up to it. Without it, file and offset on this server.
	GTID bool

	// Logger receives the stream's life cycle and go-mysql's own messages; nil discards them.
	// Row values are never logged.
	Logger *zap.Logger
}

func (c Config) validate() error {
	var errs []error
	if c.Flavor != mysql.MySQLFlavor && c.Flavor != mysql.MariaDBFlavor {
		errs = append(errs, fmt.Errorf("flavor %q is neither %q nor %q", c.Flavor, mysql.MySQLFlavor, mysql.MariaDBFlavor))
	}
	if c.ServerID == 0 {
		// go-mysql panics on 0.
		errs = append(errs, errors.New("server id must not be 0"))
	}
	if c.Host == "" {
		errs = append(errs, errors.New("host is empty"))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d is out of range", c.Port))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("database is empty"))
	}
	if len(c.Tables) == 0 {
		errs = append(errs, errors.New("no table to watch"))
	}
	for _, t := range c.Tables {
		if t == "" {
			errs = append(errs, errors.New("a table name is empty"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid binlog reader configuration: %w", err)
	}
	return nil
}

// Timings of the replication connection.
const (
	// heartbeatPeriod is how often an idle server sends a heartbeat, so that a quiet stream is told
	// apart from a dead connection.
	heartbeatPeriod = time.Second
	// readTimeout ends a connection on which nothing, not even a heartbeat, arrived for this long
	// (a dead peer that sent no FIN). go-mysql arms it before each read, so a consumer that stops
	// taking transactions does not trigger it.
	readTimeout = 10 * time.Second
	// eventBuffer is how many decoded events go-mysql holds ahead of Run, bounding memory when the
	// consumer is slower than the server.
	eventBuffer = 1024
)

// syncerConfig is the go-mysql configuration of one connection. Every decoding option is set on
// purpose: the values handed on must be exactly the stored ones.
func (r *Reader) syncerConfig(dial client.Dialer) replication.BinlogSyncerConfig {
	return replication.BinlogSyncerConfig{
		ServerID:  r.cfg.ServerID,
		Flavor:    r.cfg.Flavor,
		Host:      r.cfg.Host,
		Port:      uint16(r.cfg.Port),
		User:      r.cfg.User,
		Password:  r.cfg.Password,
		TLSConfig: r.cfg.TLS,
		Dialer:    dial,
		Logger:    r.slog,

		// Strings need no option: go-mysql hands on CHAR, VARCHAR, TEXT and BLOB values as the bytes
		// stored, in the column's character set, and nothing here converts them. (Charset is only
		// the connection's, for go-mysql's own queries.)

		// DECIMAL as decimal.Decimal, exact; the default float64 rounds DECIMAL(30,10) and the like.
		UseDecimal: true,
		// FLOAT and DOUBLE as plain float32 and float64; the other type only changes JSON encoding.
		UseFloatWithTrailingZero: false,
		// Dates and times as the server's own text ("2024-05-06 07:08:09.123456"), not time.Time:
		// text keeps zero dates ("0000-00-00") and the exact number of fractional digits, and a
		// DATETIME has no zone to get wrong.
		ParseTime: false,
		// A TIMESTAMP is stored as seconds since the epoch; go-mysql renders it in this zone, by
		// default the local zone of doppel's host, which would shift every TIMESTAMP written back by
		// doppel's sessions (dbconn sets time_zone '+00:00'). UTC on both sides is exact.
		TimestampStringLocation: time.UTC,
		// JSON as MySQL's own text of the stored document: the default re-marshals through Go maps,
		// which turns 1.0 into 1 (a DOUBLE into an INT) and sorts object keys.
		RenderJSONAsMySQLText: true,
		// Skip the rows of other tables before decoding them: on a busy server they are most of the
		// binlog, and decoding them would cost CPU and memory for nothing.
		RowsEventDecodeFunc: r.decodeRows,

		// Check each event's CRC32 (binlog_checksum=CRC32, the default), as a replica does: a
		// corrupt event fails the stream instead of becoming wrong rows. It costs little.
		VerifyChecksum: true,

		HeartbeatPeriod: r.heartbeatPeriod,
		ReadTimeout:     r.readTimeout,
		// go-mysql's own reconnection resumes from the last *event* it read, which may be inside a
		// transaction (Run would then see half of it), and retries every second forever. Run
		// reconnects itself from the end of the last transaction it sent, with backoff; with
		// retries disabled, MaxReconnectAttempts has no effect and is left unset.
		DisableRetrySync: true,
		EventCacheCount:  eventBuffer,
	}
}

// dialer returns a go-mysql Dialer whose dials also stop when ctx ends: go-mysql bounds them with
// a timeout of its own but gives them no caller's context. (A server that accepts the connection
// but never answers holds StartSync for up to readTimeout; GetEvent honours ctx and Close returns
// promptly.)
func dialer(ctx context.Context) client.Dialer {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		dctx, cancel := context.WithCancel(dctx)
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		var d net.Dialer
		return d.DialContext(dctx, network, addr)
	}
}
