// Package resources is the Calico v3 resource model (apiVersion
// projectcalico.org/v3): typed structs for every kind the product stores,
// their defaults, their validation and their YAML/JSON decoding.
//
// Invariants:
//   - Every kind is registered once (see registry.go) with its plural
//     (used in etcd keys) and whether it is namespaced.
//   - Validate never mutates; Default fills only unset fields. Callers that
//     store a resource call Default then Validate (datastore does both).
//   - Validation errors are *FieldError values naming the kind, the object,
//     the JSON path of the field and what to do about it.
//   - Decoding is strict: an unknown field is an error that names it, so a
//     typo in YAML never silently drops a rule.
//
// This package knows nothing of etcd, Docker or the kernel.
package resources
