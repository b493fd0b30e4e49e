package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// certs are the PEM files of a throwaway CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by that CA.
type certs struct {
	dir                       string
	ca, serverCert, serverKey string
	clientCert, clientKey     string
}

// serverArgs are the options that make a sandbox server accept TLS with these certificates.
func (c certs) serverArgs() []string {
	return []string{"--ssl-ca=" + c.ca, "--ssl-cert=" + c.serverCert, "--ssl-key=" + c.serverKey}
}

func makeCerts() (certs, error) {
	dir, err := os.MkdirTemp("", "doppel-tls-")
	if err != nil {
		return certs{}, err
	}
	c := certs{dir: dir, ca: filepath.Join(dir, "ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server-key.pem"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem")}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return c, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doppel test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return c, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return c, err
	}
	if err := writePEM(c.ca, "CERTIFICATE", caDER); err != nil {
		return c, err
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage, certFile, keyFile string) error {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(keyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	}
	if err := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, c.serverCert, c.serverKey); err != nil {
		return c, err
	}
	return c, leaf(3, "doppel", x509.ExtKeyUsageClientAuth, c.clientCert, c.clientKey)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

// TestTLS migrates a table as a user the servers accept only over TLS with a client certificate, in
// replica mode: the replica, the primary and the binlog stream all connect with doppel's --ssl
// flags. Without them the same command is refused before anything is created.
func TestTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := newDatabase(ctx, t,
		"CREATE USER IF NOT EXISTS 'doppel_tls'@'127.0.0.1' IDENTIFIED BY 'tls-secret' REQUIRE X509",
		"GRANT ALL ON *.* TO 'doppel_tls'@'127.0.0.1'",
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_2000",
	)
	r := sb.Replica.Config()
	base := []string{
		"--host=" + r.Host, fmt.Sprintf("--port=%d", r.Port), "--user=doppel_tls", "--password=tls-secret",
		"--database=" + dbName, "--table=t", "--alter=ADD COLUMN note VARCHAR(10) NULL", "--execute",
		"--serve-socket-file=" + filepath.Join(t.TempDir(), "s.sock"), "--throttle-additional-flag-file=",
	}

	var stdout, stderr lockedBuffer
	if code := run(ctx, base, &stdout, &stderr); code == 0 {
		t.Fatal("without --ssl the TLS-only user was accepted")
	}
	if msg := stderr.String(); !strings.Contains(msg, "doppel_tls") || !strings.Contains(msg, "--ssl") {
		t.Errorf("the refusal does not name the user and the TLS flags:\n%s", msg)
	}
	var tables int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", dbName).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 1 {
		t.Fatalf("the refused run left %d tables, want only t", tables)
	}

	var tlsOut, tlsErr lockedBuffer
	args := append(base, "--ssl", "--ssl-ca="+tlsCerts.ca, "--ssl-cert="+tlsCerts.clientCert, "--ssl-key="+tlsCerts.clientKey, "--debug")
	if code := run(ctx, args, &tlsOut, &tlsErr); code != 0 {
		t.Fatalf("exit code %d over TLS; stderr:\n%s", code, tlsErr.String())
	}
	// Neither the refusal nor the whole run at debug level may show the password.
	if !strings.Contains(tlsErr.String()+tlsOut.String(), "DEBUG") {
		t.Errorf("--debug logged nothing at debug level:\n%s", tlsErr.String())
	}
	for _, out := range []string{stdout.String(), stderr.String(), tlsOut.String(), tlsErr.String()} {
		if strings.Contains(out, "tls-secret") {
			t.Errorf("doppel's output shows the password:\n%s", out)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE note IS NULL").Scan(&n); err != nil {
		t.Fatalf("the migrated table: %v", err)
	}
	if n != 2000 {
		t.Errorf("%d rows after the migration, want 2000", n)
	}
}
