package iptables

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
)

// CommentPrefix starts the comment every one of our rules carries; what
// follows it is the rule's hash.
const CommentPrefix = "cali:"

// hashLen is the number of base64 characters of a rule hash we keep.
const hashLen = 16

// Rule is one rule of a chain before rendering. Match is iptables match
// syntax ("-i cali+ -p tcp"), possibly empty; Action is what follows -j
// ("ACCEPT", "cali-FORWARD", "MARK --set-xmark 0x1/0x1").
type Rule struct {
	Match  string
	Action string
}

// Chain is a named list of rules.
type Chain struct {
	Name  string
	Rules []Rule
}

// ruleHashes returns the hash of every rule of a chain. Each hash covers the
// chain name and the rule text, so comparing the hash lists of desired and
// actual chains is a complete diff without parsing rule text, and a rule
// keeps its hash when rules are inserted or deleted above it: a chain that
// only gained or lost rules is patched in place (patchChain) rather than
// flushed and written whole.
func ruleHashes(chain string, rules []Rule) []string {
	hashes := make([]string, len(rules))
	for i, r := range rules {
		sum := sha256.Sum256([]byte(chain + "\x00" + r.Match + "\x00" + r.Action))
		hashes[i] = base64.RawURLEncoding.EncodeToString(sum[:])[:hashLen]
	}
	return hashes
}

// renderRule renders the part of a rule after "-A chain" / "-I chain n".
func renderRule(r Rule, hash string) string {
	var b strings.Builder
	if r.Match != "" {
		b.WriteString(r.Match)
		b.WriteByte(' ')
	}
	b.WriteString(`-m comment --comment "` + CommentPrefix + hash + `"`)
	if r.Action != "" {
		b.WriteString(" -j " + r.Action)
	}
	return b.String()
}

// hashRE finds our comment tag in a rule as iptables-save prints it (with or
// without quotes).
var hashRE = regexp.MustCompile(`--comment "?` + regexp.QuoteMeta(CommentPrefix) + `([A-Za-z0-9_-]+)"?`)

// ruleHash returns the hash in a saved rule line, or "" if the rule is not ours.
func ruleHash(line string) string {
	m := hashRE.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return m[1]
}
