# common.sh: shared by install.sh and uninstall.sh (sourced, not run). Bash, set -euo pipefail.
#
# Every change goes through a helper here, so --dry-run prints it instead of doing it, and
# --root DIR writes below DIR only: no user creation, no chown, no systemctl under --root.

# --- what gets installed where (runtime paths; written at $R$path) ---------------------------
PREFIX=/opt/txfstream
VENV=$PREFIX/venv
BIN_DIR=$PREFIX/bin
UNIT_DIR=/etc/systemd/system
CONF_DIR=/etc/txfstream
ENV_FILE=$CONF_DIR/producer.env
HOLIDAYS_FILE=$CONF_DIR/holidays
STATE_DIR=/var/lib/txfstream
CRON_FILE=/etc/cron.d/txf-producer
SERVICE_USER=txf
MAIN_UNIT=txf-producer.service
ARBITER_UNIT=txf-arbiter.service
ARBITER_WANTS=/etc/systemd/system/multi-user.target.wants
# Several capture legs on one host: txf-producer@<leg>.service, each with /etc/txfstream/leg-<leg>.env;
# the schedule starts and stops the legs through a drop-in on the start/stop services.
LEG_UNIT=txf-producer@.service
LEG_DROP_IN=50-legs.conf
LEG_METRICS_BASE=9468   # leg n of the topic map's [capture] legs (0-based) serves /metrics on 9468 + n
TIMER_UNITS=(txf-producer-start.timer txf-producer-stop.timer)
SCHEDULE_UNITS=(txf-producer-start.service txf-producer-start.timer txf-producer-stop.service txf-producer-stop.timer)
# The archive (txf-archive): installed with the producer, enabled by the operator (RUNBOOK "The archive").
ARCHIVE_UNITS=(txf-archive.service txf-archive-bars.service txf-archive-compact.service txf-archive-compact.timer)
ARCHIVE_DIR=/var/lib/txf-archive
BIN_SCRIPTS=(wait-for-kafka txf-run-window check-feed-alive txf-record-exit)
MONITORING_DIR=$PREFIX/monitoring
MONITORING_FILES=(txf-producer.rules.yml txf-producer.rules.test.yml txf-producer.dashboard.json prometheus.example.yml
                  txf-archive.rules.yml txf-archive.rules.test.yml)

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$DEPLOY_DIR/.." && pwd)

ROOT=/
R=""          # prefix for every path written: "" on the live system, the --root directory otherwise
REAL=1        # 1: the live system (/), 0: a staging/test root
DRY_RUN=0
SUMMARY=()
PROG=${PROG:-txfstream}

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: WARNING: %s\n' "$PROG" "$*" >&2; SUMMARY+=("WARNING: $*"); }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { SUMMARY+=("$*"); say "$*"; }

# set_root DIR: where to install; "/" is the live system.
set_root() {
  [[ -n $1 ]] || die "--root needs a directory"
  ROOT=$(realpath -m -- "$1")
  if [[ $ROOT == / ]]; then R=""; REAL=1; else R=$ROOT; REAL=0; fi
}

# The live system needs root (a dry run does not change anything, so it may run as anyone).
require_privileges() {
  if ((REAL && !DRY_RUN)) && ((EUID != 0)); then
    die "installing into / needs root (sudo); use --root DIR for a staging directory or --dry-run to preview"
  fi
}

# act DESCRIPTION COMMAND...: run a command that changes something (print only under --dry-run).
act() {
  local what=$1; shift
  if ((DRY_RUN)); then note "would $what: $*"; return 0; fi
  say "$what: $*"
  "$@"
  SUMMARY+=("done: $what")
}

systemd_running() { ((REAL)) && [[ -d /run/systemd/system ]]; }

# live_systemctl ARGS...: systemctl on the live system only; skipped (and said so) otherwise.
live_systemctl() {
  if ((!REAL)); then note "skipped (--root): systemctl $*"; return 0; fi
  if ! command -v systemctl >/dev/null; then warn "no systemctl on this host: skipped systemctl $*"; return 0; fi
  act "systemctl $1" systemctl "$@"
}

# ensure_dir PATH MODE [OWNER:GROUP]
ensure_dir() {
  local dir=$1 mode=$2 owner=${3:-} target=$R$1
  if [[ -d $target ]]; then
    if [[ $(stat -c %a "$target") != "${mode#0}" ]]; then act "chmod $mode $dir" chmod "$mode" "$target"; fi
  else
    act "create $dir (mode $mode)" install -d -m "$mode" "$target"
  fi
  [[ -z $owner ]] || set_owner "$dir" "$owner"
}

# set_owner PATH OWNER:GROUP: only on the live system (a --root has no such user).
set_owner() {
  local path=$1 owner=$2
  if ((!REAL)); then SUMMARY+=("skipped (--root): chown $owner $path"); return 0; fi
  if ((DRY_RUN)); then note "would chown $owner $path"; return 0; fi
  if [[ $(stat -c %U:%G "$path" 2>/dev/null) != "$owner" ]]; then act "chown $owner $path" chown "$owner" "$path"; fi
}

# install_file SRC PATH MODE: copy when absent or different; "unchanged" otherwise (idempotent).
install_file() {
  local src=$1 dst=$2 mode=$3 target=$R$2
  if [[ -f $target ]] && cmp -s "$src" "$target"; then
    if [[ $(stat -c %a "$target") == "${mode#0}" ]]; then SUMMARY+=("unchanged: $dst"); return 0; fi
    act "chmod $mode $dst" chmod "$mode" "$target"
    return 0
  fi
  local verb=install; [[ -e $target ]] && verb=update
  act "$verb $dst (mode $mode)" install -D -m "$mode" "$src" "$target"
}

# remove_path PATH: remove a file, symlink or directory tree if present.
remove_path() {
  local path=$1 target=$R$1
  [[ -n $path && $path != / ]] || die "refusing to remove '$path'"
  if [[ -e $target || -L $target ]]; then
    act "remove $path" rm -rf -- "$target"
  else
    SUMMARY+=("absent: $path")
  fi
}

# remove_dir_if_empty PATH
remove_dir_if_empty() {
  local target=$R$1
  if [[ -d $target ]] && [[ -z $(ls -A "$target") ]]; then act "remove empty $1" rmdir -- "$target"; fi
}

print_summary() {
  local what=$1
  echo
  if ((DRY_RUN)); then echo "== $PROG: dry run, nothing changed; $what would do:"; else echo "== $PROG: $what summary (root $ROOT):"; fi
  local line
  for line in "${SUMMARY[@]}"; do echo "  - $line"; done
}

# disable_timers: stop and disable the schedule timers (live), or drop their wants links (--root).
disable_timers() {
  local t
  if ((REAL)); then
    local present=()
    for t in "${TIMER_UNITS[@]}"; do [[ -e $UNIT_DIR/$t ]] && present+=("$t"); done
    if ((${#present[@]})); then
      if systemd_running; then live_systemctl disable --now "${present[@]}"; else live_systemctl disable "${present[@]}"; fi
    fi
  fi
  for t in "${TIMER_UNITS[@]}"; do
    if [[ -L $R$UNIT_DIR/timers.target.wants/$t ]]; then remove_path "$UNIT_DIR/timers.target.wants/$t"; fi
  done
  remove_dir_if_empty "$UNIT_DIR/timers.target.wants"
}

remove_timers() {
  disable_timers
  local u
  for u in "${SCHEDULE_UNITS[@]}"; do remove_path "$UNIT_DIR/$u"; done
}

remove_cron() { remove_path "$CRON_FILE"; }

# disable_arbiter: stop and disable txf-arbiter.service (live), or drop its wants link (--root).
disable_arbiter() {
  if ((REAL)) && [[ -e $UNIT_DIR/$ARBITER_UNIT ]]; then
    if systemd_running; then live_systemctl disable --now "$ARBITER_UNIT"; else live_systemctl disable "$ARBITER_UNIT"; fi
  fi
  if [[ -L $R$ARBITER_WANTS/$ARBITER_UNIT ]]; then remove_path "$ARBITER_WANTS/$ARBITER_UNIT"; fi
}

# capture_legs: this deployment's legs, one per line: TXF_CAPTURE_LEGS of an existing producer.env
# (a,b,c: any number of legs without editing a packaged file), else the topic map's [capture] legs.
capture_legs() {
  "$PYTHON" - "$SRC/kit/txf_kit/subjects.toml" "$R$ENV_FILE" <<'PY'
import sys, tomllib
from pathlib import Path
env = Path(sys.argv[2])
lines = env.read_text().splitlines() if env.is_file() else []
given = [l.split("=", 1)[1].strip() for l in lines if l.startswith("TXF_CAPTURE_LEGS=")]
if given and given[-1]:
    print("\n".join(x.strip() for x in given[-1].split(",") if x.strip()))
else:
    with open(sys.argv[1], "rb") as f:
        print("\n".join(tomllib.load(f).get("capture", {}).get("legs", [])))
PY
}

# remove_leg_schedule: the start/stop services act on txf-producer.service again.
remove_leg_schedule() {
  local svc
  for svc in txf-producer-start.service txf-producer-stop.service; do
    remove_path "$UNIT_DIR/$svc.d/$LEG_DROP_IN"
    remove_dir_if_empty "$UNIT_DIR/$svc.d"
  done
}
