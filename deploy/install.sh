#!/usr/bin/env bash
# install.sh: install the txfstream producer as a systemd service with a session schedule.
#
#   sudo deploy/install.sh [--schedule timers|cron|none] [--arbiter] [--legs a,b] [--archive] [--venv-from DIR] [--python PY]
#   deploy/install.sh --root DIR [--skip-venv] ...     # into a staging/test root
#   deploy/install.sh --dry-run ...                    # print every action, change nothing
#
# What it does (idempotent: a second run changes nothing; see the summary at the end):
#   - system user/group `txf` (useradd --system; skipped under --root)
#   - /opt/txfstream/venv: a venv with the contract, the kit and the services (--venv-from, default
#     this checkout; --skip-venv skips it), /opt/txfstream/bin/{wait-for-kafka,txf-run-window,
#     check-feed-alive,txf-record-exit} (Python ones run on the venv), /opt/txfstream/RUNBOOK.md,
#     /opt/txfstream/monitoring/ (Prometheus alerting rules + promtool tests, Grafana dashboard)
#   - /etc/systemd/system/txf-producer.service, and txf-arbiter.service (redundant capture; enabled
#     and started only with --arbiter, see the RUNBOOK; without it an enabled arbiter is disabled)
#   - txf-producer@.service (one capture leg per instance); with --legs a,b: /etc/txfstream/leg-<leg>.env
#     (its TXF_METRICS_PORT; never overwritten) and the schedule starts/stops txf-producer@a, @b, ...
#     instead of txf-producer.service (a drop-in on txf-producer-{start,stop}.service, or the crontab)
#   - with --archive: the archive's units (txf-archive, txf-archive-bars, txf-archive-compact.{service,timer}),
#     installed, not enabled (RUNBOOK "The archive" says how), and txf-consumer + txf-archive in the venv
#   - /etc/txfstream/producer.env from .env.example (mode 0640 root:txf) if absent: NEVER overwritten
#   - /etc/txfstream/holidays (exchange holiday dates; template) if absent: never overwritten
#   - /var/lib/txfstream (0750 txf:txf): spool, shioaji.log, contract cache
#   - the schedule: --schedule timers (default) installs and enables txf-producer-{start,stop}.timer
#     and their oneshot services; cron installs /etc/cron.d/txf-producer; none installs neither.
#     Only one schedule is ever active: the other one is removed.
#   - systemctl daemon-reload (live system with systemd running only)
# It never starts or restarts txf-producer.service itself (restarts during a session lose data);
# but enabling the timers for the first time inside a run window makes the schedule start it.
# Options:
#   --root DIR       install below DIR instead of / (tests, image builds): no useradd, chown, systemctl
#   --dry-run        print every action, change nothing
#   --schedule S     timers | cron | none (default timers)
#   --arbiter        enable and start txf-arbiter.service (this host runs a capture leg: set
#                    TXF_CAPTURE_LEG in producer.env; run one arbiter per capture host)
#   --legs a,b       run these capture legs on this host, one txf-producer@<leg>.service each (legs of the
#                    topic map's [capture]); without it the schedule runs txf-producer.service
#   --archive        also install txf-archive (pyarrow, DuckDB, polars in the venv) and its units
#   --venv-from DIR  repository checkout to pip install from (default: the one holding this script)
#   --skip-venv      do not create/update the venv (tests; or a venv managed some other way)
#   --python PY      interpreter for the venv (default python3; needs >= 3.11)
set -euo pipefail
PROG=install.sh
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCHEDULE=timers
SRC=$REPO_DIR
SKIP_VENV=0
ARBITER=0
ARCHIVE=0
LEGS=""
PYTHON=python3

# install_settings PATH MADE WHAT: a new settings file from the temporary file MADE; it may hold secrets,
# so 0640 root:<service user> (act prints it instead under --dry-run).
install_settings() {
  act "create $1 $3 (mode 0640)" install -m 0640 "$2" "$R$1"
  set_owner "$1" "root:$SERVICE_USER"
}

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
while (($#)); do
  case "$1" in
    --root) set_root "${2:-}"; shift 2 ;;
    --root=*) set_root "${1#*=}"; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --schedule) SCHEDULE=${2:-}; shift 2 ;;
    --schedule=*) SCHEDULE=${1#*=}; shift ;;
    --venv-from) SRC=${2:-}; shift 2 ;;
    --venv-from=*) SRC=${1#*=}; shift ;;
    --skip-venv) SKIP_VENV=1; shift ;;
    --arbiter) ARBITER=1; shift ;;
    --archive) ARCHIVE=1; shift ;;
    --legs) LEGS=${2:-}; shift 2 ;;
    --legs=*) LEGS=${1#*=}; shift ;;
    --python) PYTHON=${2:-}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$PROG: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case $SCHEDULE in timers|cron|none) ;; *) die "--schedule must be timers, cron or none (got '$SCHEDULE')" ;; esac
[[ -d $SRC ]] || die "--venv-from $SRC: no such directory"
SRC=$(cd "$SRC" && pwd)
# --legs: each must be a leg of the topic map (its topics exist only for those), none twice.
LEG_LIST=()
if [[ -n $LEGS ]]; then
  mapfile -t DECLARED_LEGS < <(capture_legs) || die "cannot read the topic map's [capture] legs with $PYTHON"
  IFS=, read -r -a LEG_LIST <<<"$LEGS"
  for leg in "${LEG_LIST[@]}"; do
    [[ " ${DECLARED_LEGS[*]} " == *" $leg "* ]] ||
      die "--legs: '$leg' is not a capture leg of this deployment (${DECLARED_LEGS[*]:-none}: TXF_CAPTURE_LEGS in $ENV_FILE, else the topic map's [capture] legs); add it to TXF_CAPTURE_LEGS first"
  done
  (($(printf '%s\n' "${LEG_LIST[@]}" | sort -u | wc -l) == ${#LEG_LIST[@]})) || die "--legs: a leg is named twice in '$LEGS'"
fi
require_privileges
((DRY_RUN)) && say "dry run: nothing will be changed"
say "installing into root $ROOT from $SRC (schedule: $SCHEDULE)"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- 1. the service user ------------------------------------------------------------------------
if ((!REAL)); then
  SUMMARY+=("skipped (--root): create system user $SERVICE_USER")
elif getent passwd "$SERVICE_USER" >/dev/null; then
  SUMMARY+=("unchanged: user $SERVICE_USER exists")
else
  act "create system user $SERVICE_USER" useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "txfstream producer" "$SERVICE_USER"
fi

# --- 2. software: venv + helper scripts --------------------------------------------------------
ensure_dir "$PREFIX" 0755
ensure_dir "$BIN_DIR" 0755
if ((SKIP_VENV)); then
  SUMMARY+=("skipped (--skip-venv): venv $VENV")
else
  if ! ((DRY_RUN)) && ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    die "$PYTHON is missing or older than 3.11: pass --python /path/to/python3.11"
  fi
  ((REAL)) || warn "a venv built under --root has $ROOT in its paths; it only runs from there"
  if [[ ! -x $R$VENV/bin/python ]]; then act "create venv $VENV" "$PYTHON" -m venv "$R$VENV"; fi
  # Each part is its own distribution: the contract (txf.v1), the services' kit, then the services.
  act "pip install txf-contracts, txf-kit, txf-producer, txf-arbiter, txf-registry into $VENV" \
    "$R$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
    "$SRC/gen/python" "$SRC/kit[service]" "$SRC/producer" "$SRC/arbiter" "$SRC/schema-registry"
  if ((ARCHIVE)); then
    # The archive is a peer of the other services on the kit; it reads through the consumer library.
    act "pip install txf-consumer + txf-archive into $VENV" "$R$VENV/bin/python" -m pip install --quiet \
      --disable-pip-version-check --upgrade "$SRC/consumers/python" "$SRC/archive"
  fi
fi
for script in "${BIN_SCRIPTS[@]}"; do
  # Python scripts run on the services' venv (they import the kit, the producer's settings, confluent_kafka).
  sed "1s|^#!.*python3\$|#!$VENV/bin/python|" "$DEPLOY_DIR/bin/$script" >"$TMP/$script"
  install_file "$TMP/$script" "$BIN_DIR/$script" 0755
done
install_file "$DEPLOY_DIR/RUNBOOK.md" "$PREFIX/RUNBOOK.md" 0644
# Alerting rules (with their promtool tests), a Grafana dashboard and an example Prometheus config.
ensure_dir "$MONITORING_DIR" 0755
for file in "${MONITORING_FILES[@]}"; do install_file "$DEPLOY_DIR/monitoring/$file" "$MONITORING_DIR/$file" 0644; done

# --- 3. configuration and state ----------------------------------------------------------------
ensure_dir "$CONF_DIR" 0755
example=$SRC/.env.example
[[ -f $example ]] || example=$REPO_DIR/.env.example
if [[ -e $R$ENV_FILE ]]; then
  SUMMARY+=("kept: existing $ENV_FILE (never overwritten)")
  # New settings in this version's .env.example that the kept file does not mention: defaults apply.
  missing=()
  while IFS= read -r key; do
    grep -Eq "^[#[:space:]]*$key=" "$R$ENV_FILE" 2>/dev/null || missing+=("$key")
  done < <(grep -Eo '^[#[:space:]]*TXF_[A-Z0-9_]+=' "$example" | tr -d '#= \t' | sort -u)
  ((${#missing[@]} == 0)) || note "note: $ENV_FILE does not mention ${missing[*]} (defaults apply; see $example)"
else
  # systemd's EnvironmentFile= has no trailing comments ("v  # c" would be the value "v  # c"):
  # move each trailing comment onto its own line above the setting; state goes to the StateDirectory.
  {
    echo "# $ENV_FILE: settings of txf-producer.service (root:$SERVICE_USER 0640: holds the Shioaji secrets)."
    echo "# Made by deploy/install.sh from .env.example; install.sh never overwrites it."
    echo "# Read by systemd (EnvironmentFile=), not by a shell: KEY=VALUE per line, no quotes needed,"
    echo "# no \$expansion, and NO trailing comments (systemd would keep them as part of the value)."
    echo "# Invalid values stop the producer at start with exit 78 (no restart), naming the variable."
    echo "# After editing: systemctl restart txf-producer (between sessions!)."
    awk -v state="$STATE_DIR" -v holidays="$HOLIDAYS_FILE" '
      !body && /^#/ { next }            # skip the example file header (it is about .env files)
      { body = 1 }
      /^#?[[:space:]]*[A-Z][A-Z0-9_]*=/ {
        line = $0; comment = ""
        if (match(line, /[[:space:]]+#[[:space:]]*/)) { comment = substr(line, RSTART + RLENGTH); line = substr(line, 1, RSTART - 1) }
        if (line ~ /^TXF_STATE_DIR=/) { line = "TXF_STATE_DIR=" state; comment = "spool.msgpack, shioaji.log: the service state directory" }
        if (line ~ /^#?[[:space:]]*TXF_HOLIDAYS_FILE=/) { line = "TXF_HOLIDAYS_FILE=" holidays; comment = "the stall detector skips these dates (the file the schedule uses)" }
        if (comment != "") print "# " comment
        print line
        next
      }
      { print }' "$example"
  } >"$TMP/producer.env"
  install_settings "$ENV_FILE" "$TMP/producer.env" "from .env.example"
fi
if [[ -r $R$ENV_FILE ]] && ! grep -Eq '^(TXF_SHIOAJI_API_KEY|TXF_SHIOAJI_API_KEY_FILE|SHIOAJI_API_KEY)=[^[:space:]]' "$R$ENV_FILE"; then
  warn "TXF_SHIOAJI_API_KEY/TXF_SHIOAJI_SECRET_KEY (or their _FILE forms) are empty in $ENV_FILE: fill them in before the next session"
fi
if [[ -e $R$HOLIDAYS_FILE ]]; then
  SUMMARY+=("kept: existing $HOLIDAYS_FILE")
else
  act "create $HOLIDAYS_FILE (template: add this year's TAIFEX holidays)" \
    install -m 0644 "$DEPLOY_DIR/holidays.example" "$R$HOLIDAYS_FILE"
fi
ensure_dir "$STATE_DIR" 0750 "$SERVICE_USER:$SERVICE_USER"
# Each leg's own settings: a metrics port of its own (two legs on one host cannot share 9464).
for leg in "${LEG_LIST[@]}"; do
  leg_env=$CONF_DIR/leg-$leg.env
  if [[ -e $R$leg_env ]]; then SUMMARY+=("kept: existing $leg_env (never overwritten)"); continue; fi
  index=0
  for declared in "${DECLARED_LEGS[@]}"; do [[ $declared == "$leg" ]] && break; index=$((index + 1)); done
  {
    echo "# $leg_env: settings of txf-producer@$leg.service, read after producer.env (these win)."
    echo "# Made by deploy/install.sh --legs; never overwritten. KEY=VALUE lines, no trailing comments."
    echo "# The leg (TXF_CAPTURE_LEG) and its state directory are the unit's own (set on its command line)."
    echo "# This leg's /metrics, /healthz, /readyz (each leg on this host needs its own port)"
    echo "TXF_METRICS_PORT=$((LEG_METRICS_BASE + index))"
    echo "# A Shioaji key of its own, if the legs should not share one login's limits:"
    echo "#TXF_SHIOAJI_API_KEY="
    echo "#TXF_SHIOAJI_SECRET_KEY="
  } >"$TMP/leg-$leg.env"
  install_settings "$leg_env" "$TMP/leg-$leg.env" "(TXF_METRICS_PORT $((LEG_METRICS_BASE + index)))"
done

# --- 4. units and schedule -----------------------------------------------------------------------
install_file "$DEPLOY_DIR/systemd/$MAIN_UNIT" "$UNIT_DIR/$MAIN_UNIT" 0644
install_file "$DEPLOY_DIR/systemd/$ARBITER_UNIT" "$UNIT_DIR/$ARBITER_UNIT" 0644
install_file "$DEPLOY_DIR/systemd/$LEG_UNIT" "$UNIT_DIR/$LEG_UNIT" 0644
# What the schedule starts and stops: the plain producer, or this host's legs.
SCHEDULED=$MAIN_UNIT
if ((${#LEG_LIST[@]})); then SCHEDULED=$(printf 'txf-producer@%s.service ' "${LEG_LIST[@]}"); SCHEDULED=${SCHEDULED% }; fi
((ARBITER)) || disable_arbiter
if ((ARCHIVE)); then
  for unit in "${ARCHIVE_UNITS[@]}"; do install_file "$DEPLOY_DIR/systemd/$unit" "$UNIT_DIR/$unit" 0644; done
fi
case $SCHEDULE in
  timers)
    remove_cron
    for unit in "${SCHEDULE_UNITS[@]}"; do install_file "$DEPLOY_DIR/systemd/$unit" "$UNIT_DIR/$unit" 0644; done
    if ((${#LEG_LIST[@]})); then
      for verb in start stop; do
        printf '# install.sh --legs %s: the schedule %ss these capture legs instead of %s.\n[Service]\n# (an empty ExecStart= clears the shipped one)\nExecStart=\n# the legs, in one systemctl call\nExecStart=/usr/bin/systemctl %s %s\n' \
          "$LEGS" "$verb" "$MAIN_UNIT" "$verb" "$SCHEDULED" >"$TMP/$verb-legs.conf"
        install_file "$TMP/$verb-legs.conf" "$UNIT_DIR/txf-producer-$verb.service.d/$LEG_DROP_IN" 0644
      done
    else
      remove_leg_schedule
    fi
    ;;
  cron)
    remove_timers
    remove_leg_schedule
    sed "s|systemctl start $MAIN_UNIT|systemctl start $SCHEDULED|; s|systemctl stop $MAIN_UNIT|systemctl stop $SCHEDULED|" \
      "$DEPLOY_DIR/cron/txf-producer.crontab" >"$TMP/txf-producer.crontab"
    install_file "$TMP/txf-producer.crontab" "$CRON_FILE" 0644
    if [[ $(date +%z) != +0800 ]]; then
      warn "this host's local time zone is $(date +%Z) ($(date +%z)), not Asia/Taipei: cron would run the schedule at the wrong time; run 'timedatectl set-timezone Asia/Taipei' or use --schedule timers"
    fi
    ;;
  none)
    remove_cron
    remove_timers
    remove_leg_schedule
    ;;
esac

if ((!REAL)); then
  SUMMARY+=("skipped (--root): systemctl daemon-reload")
elif systemd_running; then
  live_systemctl daemon-reload
else
  warn "systemd is not running on this host: skipped daemon-reload"
fi

if [[ $SCHEDULE == timers ]]; then
  if ((REAL)); then
    if systemd_running; then live_systemctl enable --now "${TIMER_UNITS[@]}"; else live_systemctl enable "${TIMER_UNITS[@]}"; fi
  else
    # What `systemctl enable` does for WantedBy=timers.target, done by hand below --root.
    ensure_dir "$UNIT_DIR/timers.target.wants" 0755
    for t in "${TIMER_UNITS[@]}"; do
      link=$R$UNIT_DIR/timers.target.wants/$t
      if [[ -L $link && $(readlink "$link") == "$UNIT_DIR/$t" ]]; then
        SUMMARY+=("unchanged: $UNIT_DIR/timers.target.wants/$t")
      else
        act "enable $t" ln -sfn "$UNIT_DIR/$t" "$link"
      fi
    done
  fi
fi

if ((ARBITER)); then
  if ((REAL)); then
    if systemd_running; then live_systemctl enable --now "$ARBITER_UNIT"; else live_systemctl enable "$ARBITER_UNIT"; fi
  else
    # What `systemctl enable` does for WantedBy=multi-user.target, done by hand below --root.
    ensure_dir "$ARBITER_WANTS" 0755
    link=$R$ARBITER_WANTS/$ARBITER_UNIT
    if [[ -L $link && $(readlink "$link") == "$UNIT_DIR/$ARBITER_UNIT" ]]; then
      SUMMARY+=("unchanged: $ARBITER_WANTS/$ARBITER_UNIT")
    else
      act "enable $ARBITER_UNIT" ln -sfn "$UNIT_DIR/$ARBITER_UNIT" "$link"
    fi
  fi
  if ((!${#LEG_LIST[@]})) && [[ -r $R$ENV_FILE ]] && ! grep -Eq '^TXF_CAPTURE_LEG=[[:alnum:]]' "$R$ENV_FILE"; then
    warn "--arbiter: TXF_CAPTURE_LEG is empty in $ENV_FILE, so this host's producer writes the canonical topics beside the arbiter: set it to this host's leg (a, b, ...)"
  fi
fi

if ((${#LEG_LIST[@]})) && ((!ARBITER)); then
  note "note: --legs without --arbiter: the legs write only their leg topics; run txf-arbiter on this or another host"
fi

print_summary install
cat <<EON

Next: fill in the Shioaji keys in $ENV_FILE, list this year's exchange holidays in $HOLIDAYS_FILE,
then check with: systemctl list-timers 'txf-producer-*'   (see $PREFIX/RUNBOOK.md)
This script does not (re)start the producer (a first enable of the timers inside a run window
starts it via the schedule). Start or restart it by hand only between sessions.
EON
