#!/usr/bin/env bash
# The provaudit benchmark: builds provaudit, then generates lockfiles,
# serves them from a fake registry and measures provaudit (cold and warm
# cache), the CPU floor, the network bound and, with -npm, the real
# `npm audit signatures` on the same tree, all in one run. Prints a markdown
# table; -out FILE also writes it to FILE.
#
# Usage (from anywhere in the repository):
#
#   bench/run.sh                          # 1,000 / 5,000 / 10,000 packages, 0 and 20 ms
#   bench/run.sh -npm -real -out bench/results/$(date -u +%F).md
#   bench/run.sh -sizes 1000 -latency 20ms -runs 1     # a quick look
#
# Flags (passed to bench/cmd/benchrig; see `cd bench && go run ./cmd/benchrig -h`):
#   -sizes 1000,5000,10000   unique registry packages per generated lockfile
#   -latency 0,20ms          latency the fake registry injects per response
#   -runs 3                  cold runs per lockfile and latency, each + a warm run
#   -npm                     also npm audit signatures (npm from the machine)
#   -npm-timeout 600s        stop npm after this long ("npm: >600s (stopped)")
#   -real                    also the real npm-cli lockfiles in testdata/
#   -concurrency N           provaudit --concurrency (default: its own)
#   -out FILE                also write the report to FILE
#
# Needs only Go (and npm for -npm). Exit status: 0 all runs clean, 1 some
# run reported a non-clean result on valid data, 2 usage, 3 could not run.
#
# bench/ is a Go module of its own (bench/go.mod, which replaces provaudit
# by this checkout): provaudit is built in its module, benchrig in this one.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."

bin="$(mktemp -d "${TMPDIR:-/tmp}/provaudit-bench-bin.XXXXXX")"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/provaudit" ./cmd/provaudit
(cd bench && go build -o "$bin/benchrig" ./cmd/benchrig)
"$bin/benchrig" -provaudit "$bin/provaudit" -command "bench/run.sh $*" "$@"
