package resources

import "fmt"

// ValidateNamespace checks a namespace name as Calico (Kubernetes) does:
// an RFC 1123 label. Any such namespace is accepted; "" is not a name.
func ValidateNamespace(ns string) error {
	if len(ns) == 0 || len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return fmt.Errorf("%q is not a valid namespace: use at most 63 lower-case letters, digits and '-', "+
			"starting and ending with a letter or digit (an RFC 1123 label)", ns)
	}
	return nil
}
