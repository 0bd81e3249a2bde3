#!/usr/bin/env bash
# Builds test/tools/otlp-receiver (a real OTLP receiver: the OpenTelemetry Collector's pdata decoding behind
# OTLP/HTTP and OTLP/gRPC listeners) for test/integration/tracing.test.ts. `npm test` runs it first (the
# `pretest` script, after install-test-tools.sh has made sure Go is there); Go's build cache makes a rebuild
# of an unchanged receiver take about a second. The modules come from the Go module proxy, pinned by go.sum.
#
#   bash scripts/build-otlp-receiver.sh     prints the binary's path
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
go=$(command -v go || true)
for dir in /usr/local/go/bin /usr/lib/go/bin; do
  if [ -z "$go" ] && [ -x "$dir/go" ]; then go="$dir/go"; fi
done
if [ -z "$go" ]; then
  echo "build-otlp-receiver: no go on this machine (bash scripts/install-test-tools.sh installs it)" >&2
  exit 1
fi
out="$root/node_modules/.cache/authzd-otlp-receiver/otlp-receiver"
mkdir -p "$(dirname "$out")"
(cd "$root/test/tools/otlp-receiver" && "$go" build -buildvcs=false -o "$out" .)
echo "$out"
