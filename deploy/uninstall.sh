#!/usr/bin/env bash
# uninstall.sh: remove what install.sh installed.
#
#   sudo deploy/uninstall.sh [--purge]
#   deploy/uninstall.sh --root DIR ...    # from a staging/test root
#   deploy/uninstall.sh --dry-run ...     # print every action, change nothing
#
# Stops and disables the schedule (timers or cron) and txf-arbiter.service, stops txf-producer.service and its legs (txf-producer@*; on the live
# system: mind the session, a stop during a session loses quotes for good), removes the unit
# files, /opt/txfstream (venv, scripts) and reloads systemd. KEEPS /etc/txfstream (producer.env
# with its secrets, holidays), /var/lib/txfstream (state: an unsent spool.msgpack!), unit drop-ins
# and the user txf, unless --purge. Idempotent: what is already gone is reported as absent.
# Options:
#   --root DIR   uninstall below DIR instead of / : no userdel, no systemctl
#   --dry-run    print every action, change nothing
#   --purge      also remove the configuration, the state directory, drop-ins and the user txf
set -euo pipefail
PROG=uninstall.sh
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PURGE=0
usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while (($#)); do
  case "$1" in
    --root) set_root "${2:-}"; shift 2 ;;
    --root=*) set_root "${1#*=}"; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$PROG: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
require_privileges
((DRY_RUN)) && say "dry run: nothing will be changed"
say "uninstalling from root $ROOT$( ((PURGE)) && echo ' (purge)')"

# 1. No scheduled start may bring it back while we remove it.
remove_cron
remove_timers
remove_leg_schedule

# 2. Stop the producer (live system only).
if systemd_running && systemctl is-active --quiet "$MAIN_UNIT" 2>/dev/null; then
  warn "stopping $MAIN_UNIT (quotes streamed from now on are lost)"
  live_systemctl stop "$MAIN_UNIT"
fi
if systemd_running; then
  mapfile -t running_legs < <(systemctl list-units --plain --no-legend --state=active 'txf-producer@*.service' | awk '{print $1}')
  if ((${#running_legs[@]})); then
    warn "stopping ${running_legs[*]} (quotes streamed from now on are lost by these legs)"
    live_systemctl stop "${running_legs[@]}"
  fi
fi

# 2b. The archive's services (its files stay: they are the research record).
for unit in "${ARCHIVE_UNITS[@]}"; do
  if systemd_running && [[ -e $UNIT_DIR/$unit ]]; then live_systemctl disable --now "$unit"; fi
  remove_path "$UNIT_DIR/$unit"
done
if [[ -e $R$ARCHIVE_DIR ]]; then SUMMARY+=("kept: $ARCHIVE_DIR (the archive; even --purge keeps it: remove it by hand)"); fi

# 3. The units and the software.
disable_arbiter
remove_path "$UNIT_DIR/$ARBITER_UNIT"
remove_path "$UNIT_DIR/$MAIN_UNIT"
remove_path "$UNIT_DIR/$LEG_UNIT"
remove_path "$PREFIX"

# 4. Configuration, state, user: kept unless --purge.
if ((PURGE)); then
  for unsent in "$R$STATE_DIR"/spool.msgpack "$R$STATE_DIR"/spool.msgpack.respooling-*; do
    [[ -f $unsent && $unsent != *.done ]] || continue
    warn "${unsent#"$R"} holds records Kafka never took; purging deletes them (respool it first)"
  done
  remove_path "$UNIT_DIR/$MAIN_UNIT.d"
  remove_path "$UNIT_DIR/$ARBITER_UNIT.d"
  remove_path "$CONF_DIR"
  remove_path "$STATE_DIR"
  if ((!REAL)); then
    SUMMARY+=("skipped (--root): userdel $SERVICE_USER")
  elif getent passwd "$SERVICE_USER" >/dev/null; then
    act "remove user $SERVICE_USER" userdel "$SERVICE_USER"
  else
    SUMMARY+=("absent: user $SERVICE_USER")
  fi
else
  for kept in "$CONF_DIR" "$STATE_DIR" "$UNIT_DIR/$MAIN_UNIT.d"; do
    if [[ -e $R$kept ]]; then SUMMARY+=("kept: $kept (--purge removes it)"); fi
  done
  ((!REAL)) || ! getent passwd "$SERVICE_USER" >/dev/null || SUMMARY+=("kept: user $SERVICE_USER (--purge removes it)")
fi

if ((!REAL)); then
  SUMMARY+=("skipped (--root): systemctl daemon-reload")
elif systemd_running; then
  live_systemctl daemon-reload
  live_systemctl reset-failed "$MAIN_UNIT" "$ARBITER_UNIT" || true
fi
print_summary uninstall
