// Package dbconn opens connections to MySQL and MariaDB with the session doppel needs,
// tells the server flavours apart, and classifies errors that are worth retrying.
package dbconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Config says how to reach one server. It never holds more than one host.
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	TLS      TLSConfig
	// ConnectTimeout bounds the TCP dial and handshake.
	ConnectTimeout time.Duration
}

// TLSConfig mirrors gh-ost's --ssl flags.
type TLSConfig struct {
	Enabled       bool
	CAFile        string
	CertFile      string
	KeyFile       string
	AllowInsecure bool // skip verification of the server certificate
}

// Addr is host:port, with IPv6 hosts bracketed.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// WithHost returns a copy of c that points at another server with the same credentials.
func (c Config) WithHost(host string, port int) Config {
	c.Host, c.Port = host, port
	return c
}

// SQLMode is the session sql_mode doppel writes under. It is explicit rather than inherited so a
// server default such as ANSI_QUOTES cannot change the meaning of the SQL doppel builds:
//   - STRICT_ALL_TABLES: a value that does not fit the ghost column is an error, not a silent truncation;
//   - NO_AUTO_VALUE_ON_ZERO: a row whose AUTO_INCREMENT key is 0 keeps 0 instead of getting a new id;
//   - no NO_ZERO_DATE / NO_ZERO_IN_DATE: rows holding zero dates copy as they are.
const SQLMode = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"

// LenientSQLMode is SQLMode without strictness, for the one write that needs it: putting back into
// a column of its own type a value a row already holds but a strict session cannot write, such as an
// ENUM's empty "error" member (number 0) that a non-strict application stored.
const LenientSQLMode = "NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"

// Open returns a pool on the server in c with doppel's session settings:
//   - utf8mb4 for what doppel sends, and character_set_results=binary so every value read comes back
//     as the bytes stored, never converted through a charset (the same bytes the binlog carries);
//   - time_zone '+00:00' so TIMESTAMP values read and written are UTC, as the binlog decoder renders them;
//   - the sql_mode above.
//
// database may be empty.
func Open(c Config, database string) (*sql.DB, error) {
	mc, err := driverConfig(c, database)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("configuring connection to %s: %w", c.Addr(), err)
	}
	return sql.OpenDB(connector), nil
}

func driverConfig(c Config, database string) (*mysql.Config, error) {
	mc := mysql.NewConfig()
	mc.User = c.User
	mc.Passwd = c.Password
	mc.Net = "tcp"
	mc.Addr = c.Addr()
	mc.DBName = database
	mc.Collation = "utf8mb4_general_ci"
	mc.Loc = time.UTC
	mc.InterpolateParams = true // one round trip per statement; []byte goes as _binary'…'
	// The driver reads the server's max_allowed_packet, and sends a statement that would not fit in
	// it once its values are written into the text (escaping may double a BLOB) as a prepared
	// statement instead, the large values apart: a row as large as the server accepts is replayed.
	mc.MaxAllowedPacket = 0
	mc.AllowNativePasswords = true
	mc.Timeout = c.ConnectTimeout
	if mc.Timeout == 0 {
		mc.Timeout = 10 * time.Second
	}
	mc.Params = map[string]string{
		"character_set_results": "binary",
		"time_zone":             "'+00:00'",
		"sql_mode":              "'" + SQLMode + "'",
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.build(c.Host)
		if err != nil {
			return nil, err
		}
		mc.TLS = tc
	}
	return mc, nil
}

// TLS returns the *tls.Config for c, or nil when TLS is off. The binlog connection uses it too.
func (c Config) TLSClientConfig() (*tls.Config, error) {
	if !c.TLS.Enabled {
		return nil, nil
	}
	return c.TLS.build(c.Host)
}

func (t TLSConfig) build(host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: t.AllowInsecure, MinVersion: tls.VersionTLS12} // #nosec G402 -- only with --ssl-allow-insecure
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ssl-ca %s: %w", t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ssl-ca %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, errors.New("--ssl-cert and --ssl-key must be given together")
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading --ssl-cert/--ssl-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Ping checks that the server answers, with a message that names the address.
func Ping(ctx context.Context, db *sql.DB, c Config) error {
	if err := db.PingContext(ctx); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1045 {
			hint := "check --user and --password (or the [client] section of --conf)"
			if !c.TLS.Enabled {
				hint += ", and whether the account requires TLS: then add --ssl with --ssl-ca, and --ssl-cert/--ssl-key for REQUIRE X509"
			}
			return fmt.Errorf("cannot connect to %s as %q: %w; %s", c.Addr(), c.User, err, hint)
		}
		return fmt.Errorf("cannot connect to %s as %q: %w", c.Addr(), c.User, err)
	}
	return nil
}

// Discard closes a session instead of returning it to the pool: a session that may still hold
// LOCK TABLES, a transaction, a temporary table or changed session settings must never serve
// another query.
func Discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// Execer runs a statement: a *sql.DB, *sql.Conn or *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// WithSQLMode runs fn with the session's sql_mode set to mode, and sets it back to SQLMode after.
func WithSQLMode(ctx context.Context, session Execer, mode string, fn func() error) error {
	if _, err := session.ExecContext(ctx, "SET SESSION sql_mode = '"+mode+"'"); err != nil {
		return fmt.Errorf("setting sql_mode: %w", err)
	}
	err := fn()
	if _, resetErr := session.ExecContext(context.WithoutCancel(ctx), "SET SESSION sql_mode = '"+SQLMode+"'"); resetErr != nil {
		return errors.Join(err, fmt.Errorf("setting sql_mode back: %w", resetErr))
	}
	return err
}
