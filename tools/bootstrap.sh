#!/usr/bin/env bash
# Install every pinned tool and runtime the project needs, into the checkout
# (.venv/, .tools/, gen/ts/node_modules/). Safe to re-run; a no-op when done.
# Needs: python3.11 with venv, go, node 20 + npm, java 17 + mvn (all on the
# project's machines); reaches only PyPI, the Go proxy, npm, Maven Central and,
# for cron and prometheus when missing, Debian's package mirror (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12   # Go runtime google.golang.org/protobuf is pinned to the same in gen/go/go.mod
ACTIONLINT_VERSION=v1.7.12       # checks .github/workflows offline in `make lint`
PYTHON=${PYTHON:-python3.11}

need() { command -v "$1" >/dev/null || { echo "bootstrap: '$1' not found: $2" >&2; exit 1; }; }
need "$PYTHON" "install Python 3.11 (with venv), or set PYTHON=/path/to/python3.11"
need go "install Go >= 1.23"
need npm "install Node.js 20 with npm"
need mvn "install Maven 3.8+ and a Java 17 JDK"

step() { printf 'bootstrap: %s\n' "$*"; }

# Debian packages the tests need: cron (the crontab schedule under the real daemon) and prometheus
# (promtool, a real Prometheus) for tests/deploy; tmux for the live view's test and `make bench-live`
# (txf-consume read in a real terminal, bench/tmux_pane.py). Installed only when missing; their
# services are never started on this host (policy-rc.d).
DEBIAN_PACKAGES=(cron prometheus tmux)
missing=()
[[ -x /usr/sbin/cron ]] || missing+=(cron)
[[ -x /usr/bin/promtool && -x /usr/bin/prometheus ]] || missing+=(prometheus)
command -v tmux >/dev/null || missing+=(tmux)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || { echo "bootstrap: install ${DEBIAN_PACKAGES[*]} (Debian packages) first" >&2; exit 1; }
  ((EUID == 0)) || { echo "bootstrap: ${missing[*]} missing: run as root, or apt-get install ${missing[*]}" >&2; exit 1; }
  step "Debian packages: ${missing[*]}"
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e $policy ]]; then  # keep apt from starting cron and prometheus on this host
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((made_policy)); then rm -f "$policy"; fi
fi

if [[ ! -x .venv/bin/python ]]; then
  step "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# Each part of the project is its own distribution (pyproject.toml says which); all editable here.
step "Python packages (the dev tools, and editable: contract, kit, consumer, producer, arbiter, archive, registry tool)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' -e gen/python -e gen/betterproto \
  -e 'kit[service]' -e consumers/python -e producer -e arbiter -e archive -e schema-registry

if [[ "$(.tools/bin/protoc-gen-go --version 2>/dev/null)" != "protoc-gen-go $PROTOC_GEN_GO_VERSION" ]]; then
  step "protoc-gen-go $PROTOC_GEN_GO_VERSION"
  GOBIN="$PWD/.tools/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if [[ "$(.tools/bin/actionlint -version 2>/dev/null | head -n 1)" != "$ACTIONLINT_VERSION" ]]; then
  step "actionlint $ACTIONLINT_VERSION"
  GOBIN="$PWD/.tools/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
step "gomodzip (tools/gomodzip: Go module versions for dist/goproxy)"
(cd tools/gomodzip && go build -o ../../.tools/bin/gomodzip .)

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
