#!/usr/bin/env bash
# Breaking-change gate: compare the working tree's contract (proto/) with the
# last released one, using buf's FILE rules from buf.yaml.
#
# Baseline, first match wins:
#   1. $BREAKING_AGAINST (any buf input, e.g. '.git#tag=contracts/v1.0.0,subdir=proto')
#   2. the newest tag contracts/vX.Y.Z (version order)
#   3. origin/main (what a fresh CI clone has; no local 'main' needed)
#   4. none (first commit, or a baseline without proto/): nothing can break, exit 0
# Exit: 0 no breaking change, 100 breaking change (buf lists each), 1 tool error.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=${BUF:-.venv/bin/buf}
[[ -x $BUF ]] || BUF=$(command -v buf) || { echo "breaking: buf not found; run 'make bootstrap'" >&2; exit 1; }

against=${BREAKING_AGAINST:-}
if [[ -z $against ]]; then
  ref=""
  tag=$(git tag --list 'contracts/v*' --sort=-v:refname 2>/dev/null | head -n 1)
  if [[ -n $tag ]]; then
    ref=$tag
  elif git rev-parse --verify --quiet refs/remotes/origin/main >/dev/null; then
    ref=origin/main
  fi
  if [[ -z $ref ]]; then
    echo "breaking: no released contract yet (no contracts/v* tag, no origin/main): nothing to compare, gate passes"
    exit 0
  fi
  if ! git cat-file -e "$ref:proto/txf" 2>/dev/null; then
    echo "breaking: baseline $ref has no proto/txf: first contract release, gate passes"
    exit 0
  fi
  if [[ $ref == contracts/* ]]; then
    against=".git#tag=$ref,subdir=proto"
  else
    against=".git#ref=refs/remotes/$ref,subdir=proto"
  fi
fi

echo "breaking: comparing proto/ with $against"
set +e
"$BUF" breaking proto --against "$against"
rc=$?
set -e
case $rc in
  0) echo "breaking: no breaking change" ;;
  100) echo "breaking: BREAKING CHANGE against $against (see above). Revert it, or add a new field/message/package (txf.v2) instead." >&2 ;;
  *) echo "breaking: buf failed (exit $rc) comparing with $against" >&2 ;;
esac
exit $rc
