package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// savedRule is one rule line of iptables-save output.
type savedRule struct {
	line string // as printed, "-A CHAIN ..." ("" in what an apply left: src)
	hash string // our hash, "" for a rule that is not ours
	src  *Rule  // the rule an apply wrote, in what it left
}

// deletion is the restore line deleting r from chain by its text.
func (r savedRule) deletion(chain string) string {
	if r.src != nil {
		return "-D " + chain + " " + renderRule(*r.src, r.hash)
	}
	return "-D" + strings.TrimPrefix(r.line, "-A")
}

// savedTable is what iptables-save printed for one table.
type savedTable struct {
	chains map[string][]savedRule // every declared chain, built-in or not
}

// parseSave parses the output of `iptables-save -t <table>`. Only the
// section of that table is expected; other tables' sections are rejected.
func parseSave(table string, out []byte) (*savedTable, error) {
	st := &savedTable{chains: map[string][]savedRule{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || line[0] == '#' || line == "COMMIT":
		case line[0] == '*':
			if line[1:] != table {
				return nil, fmt.Errorf("iptables-save: unexpected table %q, want %q", line[1:], table)
			}
		case line[0] == ':':
			name, _, _ := strings.Cut(line[1:], " ")
			if _, ok := st.chains[name]; !ok {
				st.chains[name] = nil
			}
		case strings.HasPrefix(line, "-A "):
			name, _, _ := strings.Cut(line[3:], " ")
			st.chains[name] = append(st.chains[name], savedRule{line: line, hash: ruleHash(line)})
		default:
			return nil, fmt.Errorf("iptables-save: unexpected line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("iptables-save: %w", err)
	}
	return st, nil
}
