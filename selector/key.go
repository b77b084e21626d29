package selector

import (
	"errors"
	"fmt"
	"strings"
)

const (
	maxPrefixLen = 253
	maxNameLen   = 63
)

// ValidateKey checks that key is a valid label key: an optional DNS-1123
// subdomain prefix and '/', then a name of 1 to 63 bytes of [A-Za-z0-9_.-]
// that starts and ends with a letter or digit. These are the Kubernetes rules
// Calico applies to label keys, e.g. "projectcalico.org/orchestrator" or
// "com.docker.compose.project".
func ValidateKey(key string) error {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name = key
	}
	if hasPrefix {
		if strings.Contains(name, "/") {
			return errors.New("a key may contain at most one '/'")
		}
		if err := validatePrefix(prefix); err != nil {
			return fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	if err := validateName(name); err != nil {
		return fmt.Errorf("name %q: %w", name, err)
	}
	return nil
}

func validatePrefix(prefix string) error {
	if prefix == "" {
		return errors.New("must not be empty")
	}
	if len(prefix) > maxPrefixLen {
		return fmt.Errorf("must be at most %d bytes", maxPrefixLen)
	}
	for part := range strings.SplitSeq(prefix, ".") {
		if part == "" || !isLowerAlnum(part[0]) || !isLowerAlnum(part[len(part)-1]) {
			return errors.New("must be a DNS subdomain: dot-separated parts that start and end with [a-z0-9]")
		}
		for i := 0; i < len(part); i++ {
			if !isLowerAlnum(part[i]) && part[i] != '-' {
				return errors.New("must be a DNS subdomain of lower-case letters, digits, '-' and '.'")
			}
		}
	}
	return nil
}

func validateName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("must be at most %d bytes", maxNameLen)
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return errors.New("must start and end with a letter or digit")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return errors.New("may contain only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

func isLowerAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

func isAlnum(b byte) bool { return isLowerAlnum(b) || b >= 'A' && b <= 'Z' }
