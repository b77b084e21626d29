// Package pki is the cluster's certificate authority: the first host
// creates it in <data_dir>/pki (directory 0700, keys 0600, so only root
// reads them) and every etcd member and client authenticates with a
// certificate it issued. It imports no etcd package, so calicoctl can use
// it to find the node's certificate.
//
// Files in <data_dir>/pki:
//
//	ca.crt, ca.key     the cluster CA (ECDSA P-256, 20 years)
//	node.crt, node.key this host's certificate, for serving (client and peer
//	                   URLs) and as a client; reissued at start-up when it
//	                   expires within 90 days or lacks an address
package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside the pki directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
	CertFile   = "node.crt"
	KeyFile    = "node.key"
)

const (
	caValidity   = 20 * 365 * 24 * time.Hour
	nodeValidity = 2 * 365 * 24 * time.Hour
	renewBefore  = 90 * 24 * time.Hour
)

// Dir is the pki directory of a data directory.
func Dir(dataDir string) string { return filepath.Join(dataDir, "pki") }

// Files names the three files a TLS client or server of the cluster needs.
type Files struct {
	CA, Cert, Key string
}

// NodeFiles are this host's files under dir (a pki directory).
func NodeFiles(dir string) Files {
	return Files{CA: filepath.Join(dir, CACertFile), Cert: filepath.Join(dir, CertFile), Key: filepath.Join(dir, KeyFile)}
}

// CA is the cluster's certificate authority.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// LoadOrCreateCA loads the CA of dir, creating dir (0700) and a new CA
// when there is none; created says which.
func LoadOrCreateCA(dir string, now time.Time) (ca *CA, created bool, err error) {
	if err := ensureDir(dir); err != nil {
		return nil, false, err
	}
	ca, err = LoadCA(dir)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return ca, false, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("cluster CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "calico-libnetwork cluster CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(caValidity),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, false, fmt.Errorf("cluster CA certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, false, err
	}
	// The key first: a ca.crt without its key would look like a joined host's.
	if err := writeFile(filepath.Join(dir, CAKeyFile), keyPEM); err != nil {
		return nil, false, err
	}
	if err := writeFile(filepath.Join(dir, CACertFile), certPEM); err != nil {
		return nil, false, err
	}
	ca, err = LoadCA(dir)
	return ca, err == nil, err
}

// LoadCA loads the CA certificate and key of dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster CA %s: %w", filepath.Join(dir, CACertFile), err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("cluster CA key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster CA key %s: %w", filepath.Join(dir, CAKeyFile), err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("cluster CA key %s does not match %s", CAKeyFile, CACertFile)
	}
	return &CA{cert: cert, key: key, certPEM: certPEM}, nil
}

// CertPEM is the CA certificate, PEM-encoded.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// KeyPEM is the CA key, PEM-encoded (handed only to joining members).
func (ca *CA) KeyPEM() ([]byte, error) { return encodeKey(ca.key) }

// Fingerprint identifies the CA: sha256 of its certificate, in hex.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.cert.Raw) }

// Fingerprint is the sha256 of a DER certificate, in hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Issue makes a certificate for host name, valid for serving on ips and
// localhost and as a client, and returns it and its key, PEM-encoded.
func (ca *CA) Issue(name string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("key for %s: %w", name, err)
	}
	all := append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ips...)
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(nodeValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost", name}, IPAddresses: dedupIPs(all),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate for %s: %w", name, err)
	}
	keyPEM, err = encodeKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, err
}

// EnsureNodeCert writes node.crt and node.key in dir, issued by ca for
// name and ips, unless the ones there are from ca, cover every ip and stay
// valid for more than 90 days.
func EnsureNodeCert(dir string, ca *CA, name string, ips []net.IP, now time.Time) error {
	if b, err := os.ReadFile(filepath.Join(dir, CertFile)); err == nil {
		if c, err := parseCert(b); err == nil && c.CheckSignatureFrom(ca.cert) == nil &&
			c.NotAfter.After(now.Add(renewBefore)) && coversIPs(c, ips) && c.Subject.CommonName == name {
			if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
				return nil
			}
		}
	}
	certPEM, keyPEM, err := ca.Issue(name, ips, now)
	if err != nil {
		return err
	}
	return WriteNodeCert(dir, certPEM, keyPEM)
}

// WriteNodeCert stores a node certificate and key in dir (0600 each).
func WriteNodeCert(dir string, certPEM, keyPEM []byte) error {
	if err := ensureDir(dir); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, KeyFile), keyPEM); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, CertFile), certPEM)
}

// WriteCA stores a CA certificate (and, for members, its key) in dir.
func WriteCA(dir string, certPEM, keyPEM []byte) error {
	if err := ensureDir(dir); err != nil {
		return err
	}
	if keyPEM != nil {
		if err := writeFile(filepath.Join(dir, CAKeyFile), keyPEM); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, CACertFile), certPEM)
}

func coversIPs(c *x509.Certificate, ips []net.IP) bool {
	for _, ip := range ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func dedupIPs(ips []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range ips {
		if ip != nil && !ip.IsUnspecified() && !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// ParseCert parses one PEM certificate.
func ParseCert(b []byte) (*x509.Certificate, error) { return parseCert(b) }

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM key")
	}
	return x509.ParseECPrivateKey(blk.Bytes)
}

// ensureDir creates dir 0700 and tightens it if it is wider.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki directory %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("pki directory %s: %w", dir, err)
	}
	return nil
}

// writeFile writes b to path (mode 0600) atomically.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// HasCAKey says whether dir holds the CA key (members do; clients don't).
func HasCAKey(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, CAKeyFile))
	return err == nil
}
