#!/usr/bin/env bash
# Installs the tools `npm test` drives and a fresh Debian (or Ubuntu) machine lacks. `npm test` runs it first
# (the `pretest` script), so the README's one test command, and .ci/run which calls it, set up everything.
# Tools already present are left alone: on a machine that has them all this only looks, in milliseconds.
#
#   bash scripts/install-test-tools.sh             install what is missing
#   bash scripts/install-test-tools.sh --dry-run   say what is present and what would be installed; change nothing
#
# Debian packages are installed with apt-get (`apt-get update` first), as root or through sudo; Go tools with
# `go install` (into $(go env GOPATH)/bin, where the tests look). test/unit/scripts/install-test-tools.test.ts
# checks the decisions with tools hidden and faked.
set -euo pipefail

# One line per tool; to add one, add a line.
#   name | commands that must all be found | apt:PACKAGE or go:MODULE@VERSION | what needs it
TOOLS=(
  "nginx|nginx|apt:nginx|test/integration/nginx-auth-request.test.ts (auth_request in front of authzd)"
  "prometheus|prometheus promtool|apt:prometheus|test/integration/prometheus-*.test.ts (the dashboard and the alert rules)"
  "postgresql|initdb pg_ctl postgres|apt:postgresql|the PostgreSQL control-plane store tests"
  "h2load|h2load|apt:nghttp2-client|npm run bench (HTTP/2 load)"
  "kustomize|kustomize|go:sigs.k8s.io/kustomize/kustomize/v5@v5.6.0|test/integration/kubernetes.test.ts (renders deploy/kubernetes)"
)
# Go itself, when a go: tool is missing and so is go.
GO_PACKAGE=golang-go

dry_run=false
case "${1:-}" in
  --dry-run) dry_run=true ;;
  "") ;;
  *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac

# Where tools live besides $PATH: Debian's sbin (nginx), PostgreSQL's versioned bin, Go's install target.
# TEST_TOOLS_EXTRA_DIRS replaces this list (the script's own test hides the machine's tools with it).
if [ "${TEST_TOOLS_EXTRA_DIRS+set}" = set ]; then
  read -r -a extra_dirs <<< "$TEST_TOOLS_EXTRA_DIRS"
else
  extra_dirs=(/usr/sbin /usr/local/sbin /usr/lib/postgresql/*/bin /usr/local/go/bin)
fi

# Prints where `cmd` is ($PATH, then the directories above), or fails. Builtins only, so a bare PATH hides all.
find_in_dirs() {
  local cmd=$1 dir
  if command -v "$cmd" 2>/dev/null; then return 0; fi
  for dir in "${extra_dirs[@]}"; do
    if [ -x "$dir/$cmd" ]; then
      echo "$dir/$cmd"
      return 0
    fi
  done
  return 1
}

# Where `go install` puts tools: the first entry of GOPATH, plus /bin.
gopath_bin() {
  local go gopath
  if go=$(find_in_dirs go); then gopath=$("$go" env GOPATH); else gopath=${GOPATH:-${HOME:-/root}/go}; fi
  echo "${gopath%%:*}/bin"
}

# find_in_dirs, then Go's bin directory.
find_command() {
  local cmd=$1 dir
  if find_in_dirs "$cmd"; then return 0; fi
  for dir in "$(gopath_bin)"; do
    if [ -x "$dir/$cmd" ]; then
      echo "$dir/$cmd"
      return 0
    fi
  done
  return 1
}

apt_packages=()
go_modules=()
for tool in "${TOOLS[@]}"; do
  IFS='|' read -r name commands source _ <<< "$tool"
  missing=""
  found=""
  for cmd in $commands; do
    if where=$(find_command "$cmd"); then found="$found $where"; else missing="$missing $cmd"; fi
  done
  if [ -z "$missing" ]; then
    echo "present: $name ($found )"
    continue
  fi
  echo "missing: $name (no$missing) -> ${source/:/ }"
  case "$source" in
    apt:*) apt_packages+=("${source#apt:}") ;;
    go:*) go_modules+=("${source#go:}") ;;
  esac
done
if [ ${#go_modules[@]} -gt 0 ] && ! find_in_dirs go >/dev/null; then
  echo "missing: go (needed for go install) -> apt $GO_PACKAGE"
  apt_packages+=("$GO_PACKAGE")
fi

if [ ${#apt_packages[@]} -eq 0 ] && [ ${#go_modules[@]} -eq 0 ]; then
  echo "install-test-tools: every tool is present"
  exit 0
fi
[ ${#apt_packages[@]} -gt 0 ] && echo "plan: apt-get install ${apt_packages[*]}"
for module in "${go_modules[@]}"; do echo "plan: go install $module"; done
if $dry_run; then exit 0; fi

if [ ${#apt_packages[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-tools: no apt-get on this machine; install these yourself: ${apt_packages[*]}" >&2
    exit 1
  fi
  if [ "$EUID" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-test-tools: not root and no sudo; as root run: apt-get update && apt-get install -y ${apt_packages[*]}" >&2
    exit 1
  fi
  "${as_root[@]}" apt-get update
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${apt_packages[@]}"
fi
if [ ${#go_modules[@]} -gt 0 ]; then
  go=$(find_in_dirs go)
  for module in "${go_modules[@]}"; do
    if ! "$go" install "$module"; then
      echo "install-test-tools: go install $module failed with $("$go" version); kustomize v5.6 needs Go 1.22 or later (https://go.dev/dl/)" >&2
      exit 1
    fi
  done
fi

# Everything must be there now; a tool still missing fails here rather than in the middle of the tests.
failed=false
for tool in "${TOOLS[@]}"; do
  IFS='|' read -r name commands _ _ <<< "$tool"
  for cmd in $commands; do
    if ! find_command "$cmd" >/dev/null; then
      echo "install-test-tools: $name is still missing ($cmd not found) after installing" >&2
      failed=true
    fi
  done
done
if $failed; then exit 1; fi
echo "install-test-tools: done"
