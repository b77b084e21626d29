#!/usr/bin/env bash
# fuzz.sh runs each fuzz target (func FuzzXxx in a _test.go file) for
# FUZZTIME (default 30s). `go test -fuzz` takes one target per run, hence
# the loop. Fuzz targets cover parsers of outside input and need no root.
#
# Only some: FUZZ='FuzzParse.*' hack/fuzz.sh
# Minimising a new interesting input runs it again and again; for targets
# whose every run is expensive (FuzzApplyInput runs calicoctl against
# etcd) the default minimisation (60s) ate the whole FUZZTIME, so it is
# capped at FUZZMINIMIZETIME runs (default 20x).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-30s}
filter=${FUZZ:-.}
status=0 n=0
while IFS=: read -r file name; do
	[[ $name =~ $filter ]] || continue
	dir=$(dirname "$file")
	[[ $dir == ./* ]] || dir=./$dir
	n=$((n + 1))
	echo "== $name in $dir for $fuzztime" >&2
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZETIME:-20x}" "$dir" || status=1
done < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . |
	grep -v '/testdata/' | sed -E 's/:func /:/' | sort)
echo "fuzz: ran $n target(s)" >&2
exit $status
