// Package console serves the web console: a live flow table with filters,
// a graph of endpoints and the allowed and denied traffic between them, and
// the policy YAML that decided a flow. The page is built from web/ (Vite,
// TypeScript; `make console`) into dist/, which is committed and embedded,
// so the daemon stays one file and the page loads nothing from outside it.
//
// Handler serves the page under /console/; the page calls the flows API at
// /api/v1/ on the same listener (docs/console.md).
package console
