// Package seeds holds, byte for byte, the YAML examples of the reference
// documents (../shared/seeds) that tests across the tree apply unchanged.
package seeds

import _ "embed"

// BookstorePolicy is seed 004's NetworkPolicy
// allow-bookstore-cliient-to-server, unchanged (typo included).
//
//go:embed allow-bookstore.yaml
var BookstorePolicy string

// BookstorePolicyName is the seed policy's metadata.name.
const BookstorePolicyName = "allow-bookstore-cliient-to-server"
