// Package cluster grows the embedded etcd into a cluster by joining, as
// `docker swarm join --token` does for Docker: a join token (made by
// calicoctl cluster token on a member) carries the cluster CA's
// fingerprint, so the new host trusts the member it asks, and a secret,
// so the member trusts the new host. The member's join endpoint (TLS,
// served by every member that holds the CA key) checks the secret against
// the hash stored in etcd, issues the host's certificate, and makes it a
// voting member while the cluster has fewer voters than configured,
// otherwise a client of the members.
//
// It uses only etcd's client (through package datastore) and package pki.
package cluster

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// tokenPrefix starts every join token (and versions its format).
const tokenPrefix = "CALICOJOIN1"

// Token is a join token: "CALICOJOIN1-<id>-<secret>-<ca sha256>".
type Token struct {
	ID            string // 12 hex digits: names the stored hash
	Secret        string // 32 hex digits
	CAFingerprint string // sha256 of the cluster CA certificate, hex
}

// NewToken makes a token for the CA with fingerprint caFP.
func NewToken(caFP string) (Token, error) {
	b := make([]byte, 22)
	if _, err := rand.Read(b); err != nil {
		return Token{}, fmt.Errorf("random join token: %w", err)
	}
	return Token{ID: hex.EncodeToString(b[:6]), Secret: hex.EncodeToString(b[6:]), CAFingerprint: caFP}, nil
}

// String is the token as printed and given to the new host.
func (t Token) String() string {
	return strings.Join([]string{tokenPrefix, t.ID, t.Secret, t.CAFingerprint}, "-")
}

// SecretHash is what etcd stores: the hex sha256 of the secret.
func (t Token) SecretHash() string { return hashSecret(t.Secret) }

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretMatches compares in constant time.
func secretMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(hash)) == 1
}

// ParseToken parses a join token; errors say what is wrong with it.
func ParseToken(s string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 4 || parts[0] != tokenPrefix {
		return Token{}, fmt.Errorf("join token %q is not of the form %s-<id>-<secret>-<ca hash>: copy it whole from `calicoctl cluster token`",
			abbreviate(s), tokenPrefix)
	}
	t := Token{ID: parts[1], Secret: parts[2], CAFingerprint: parts[3]}
	for _, f := range []struct {
		name, v string
		n       int
	}{{"id", t.ID, 12}, {"secret", t.Secret, 32}, {"CA hash", t.CAFingerprint, 64}} {
		if _, err := hex.DecodeString(f.v); err != nil || len(f.v) != f.n {
			shown := fmt.Sprintf(" %q", abbreviate(f.v))
			if f.name == "secret" {
				shown = "" // never echo a secret, even a broken one
			}
			return Token{}, fmt.Errorf("join token's %s%s is not %d hex digits: copy the token whole from `calicoctl cluster token`", f.name, shown, f.n)
		}
	}
	return t, nil
}

// abbreviate keeps secrets out of error messages and logs.
func abbreviate(s string) string {
	if len(s) > 16 {
		return s[:12] + "…"
	}
	return s
}
