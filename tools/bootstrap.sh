#!/usr/bin/env bash
# Install every pinned tool and runtime the project needs, into the checkout
# (.venv/, .tools/, gen/ts/node_modules/). Safe to re-run; a no-op when done.
# Needs: python3.11 with venv, go, node 20 + npm, java 17 + mvn (all on the
# project's machines); reaches only PyPI, the Go proxy, npm and Maven Central.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12   # Go runtime google.golang.org/protobuf is pinned to the same in gen/go/go.mod
PYTHON=${PYTHON:-python3.11}

need() { command -v "$1" >/dev/null || { echo "bootstrap: '$1' not found: $2" >&2; exit 1; }; }
need "$PYTHON" "install Python 3.11 (with venv), or set PYTHON=/path/to/python3.11"
need go "install Go >= 1.23"
need npm "install Node.js 20 with npm"
need mvn "install Maven 3.8+ and a Java 17 JDK"

step() { printf 'bootstrap: %s\n' "$*"; }

# tmux: the live view's test and `make bench-live` read `txf-consume` in a real terminal (bench/tmux_pane.py)
if ! command -v tmux >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    step "tmux (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux >/dev/null
  else
    echo "bootstrap: 'tmux' not found: install it (Debian/Ubuntu: apt-get install tmux)" >&2; exit 1
  fi
fi

if [[ ! -x .venv/bin/python ]]; then
  step "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
step "Python packages (pyproject.toml [dev], gen/python, gen/betterproto)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' -e gen/python -e gen/betterproto

if [[ "$(.tools/bin/protoc-gen-go --version 2>/dev/null)" != "protoc-gen-go $PROTOC_GEN_GO_VERSION" ]]; then
  step "protoc-gen-go $PROTOC_GEN_GO_VERSION"
  GOBIN="$PWD/.tools/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
step "Go modules of gen/go"
(cd gen/go && go mod download)

step "npm packages of gen/ts (protoc-gen-es, @bufbuild/protobuf, typescript; package-lock.json)"
(cd gen/ts && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

step "Maven dependencies of gen/java"
(cd gen/java && mvn -q -B dependency:resolve dependency:resolve-plugins >/dev/null)

step "consumers: Go modules, npm packages (the Java consumer resolves when built)"
(cd consumers/go && go mod download)
(cd consumers/ts && npm ci --no-audit --no-fund --loglevel=error)

step "done: protoc $(.venv/bin/protoc --version | cut -d' ' -f2), buf $(.venv/bin/buf --version), $(.tools/bin/protoc-gen-go --version), protoc-gen-es $(cd gen/ts && node -p 'require("./node_modules/@bufbuild/protoc-gen-es/package.json").version')"
