package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// DefaultJoinPort is where members serve joins (etcd_join_port).
const DefaultJoinPort = 2381

// Join asks the member at addr (host:port of its join endpoint) to admit
// this host. The member's certificate must come from the CA the token
// names; nothing else about the member is trusted.
func Join(ctx context.Context, addr string, tok Token, req JoinRequest) (*JoinResponse, error) {
	req.TokenID, req.Secret = tok.ID, tok.Secret
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode join request: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The CA is pinned by the token's fingerprint instead of a name:
		// the member's certificate may not name the address used yet.
		InsecureSkipVerify:    true, //nolint:gosec // verified below against the pinned CA
		VerifyPeerCertificate: pinnedCA(tok.CAFingerprint),
	}}}
	defer hc.CloseIdleConnections()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+JoinPath, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", addr, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("join the cluster at %s: %w (is etcd_join_port open on that member, and is the token's cluster that member's?)", addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("join %s: read answer: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return nil, fmt.Errorf("the member at %s refused to join this host: %s", addr, e.Error)
	}
	var out JoinResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("join %s: answer is not JSON: %w", addr, err)
	}
	if ca, err := pki.ParseCert(out.CACert); err != nil || pki.Fingerprint(ca.Raw) != tok.CAFingerprint {
		return nil, fmt.Errorf("join %s: the CA sent is not the token's", addr)
	}
	return &out, nil
}

// pinnedCA accepts a chain whose CA certificate has fingerprint fp and
// whose leaf that CA signed.
func pinnedCA(fp string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) < 2 {
			return errors.New("the member sent no CA certificate: it is not a calico-libnetwork join endpoint")
		}
		for _, r := range raw[1:] {
			if pki.Fingerprint(r) != fp {
				continue
			}
			ca, err := x509.ParseCertificate(r)
			if err != nil {
				return err
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return err
		}
		return fmt.Errorf("the member's CA is not the one the join token names (sha256 %s…): the token is for another cluster", fp[:12])
	}
}

// LocalAddressFor is this host's address on the way to addr: the one the
// members will reach it at. It sends nothing (a UDP socket's connect only
// picks the route).
func LocalAddressFor(addr string) (net.IP, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("route to %s: %w", addr, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP, nil
}
