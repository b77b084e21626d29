#!/usr/bin/env bash
# lint.sh: gofmt, go vet and staticcheck over the module (make lint; make
# test runs it first, so CI does too). staticcheck is installed on first use
# from the Go module proxy, at the pinned version, into build/tools.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2 # honnef.co/go/tools 2025.1 line; supports this Go
tools=$PWD/build/tools
staticcheck=$tools/staticcheck-$STATICCHECK_VERSION

status=0
echo "== gofmt" >&2
unformatted=$(find . -name '*.go' -not -path './vendor/*' -not -path '*/testdata/*' -not -path './build/*' -not -path '*/node_modules/*' -print0 |
	xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	status=1
fi

echo "== go vet ./..." >&2
go vet ./... || status=1

if [[ ! -x $staticcheck ]]; then
	echo "== installing staticcheck $STATICCHECK_VERSION into $tools" >&2
	mkdir -p "$tools"
	GOBIN=$tools go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	mv "$tools/staticcheck" "$staticcheck"
fi
echo "== staticcheck ./..." >&2
"$staticcheck" ./... || status=1
exit $status
