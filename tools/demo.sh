#!/usr/bin/env bash
# The main job, end to end on this machine: local Kafka + registry, the contract
# registered, the producer on the seeded simulated TXF feed, and a consumer
# showing the decoded quotes live. The stack stays up afterwards (`make down`).
#
#   DEMO_RATE      messages per second from the simulator (default 400, the real peak is 353)
#   DEMO_MESSAGES  how many quotes to publish (default 12000, ~30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${DEMO_RATE:-400}
MESSAGES=${DEMO_MESSAGES:-12000}
BIN=.venv/bin

echo "demo: 1/4 local stack (Kafka KRaft + Apicurio registry on 127.0.0.1)"
eval "$($BIN/python stack/localstack.py up | grep -E '^TXF_[A-Z_]+=' | sed 's/^/export /')"

echo "demo: 2/4 contract registered and topics created ($TXF_REGISTRY_URL)"
$BIN/txf-registry register --topics

echo "demo: 3/4 producer on the simulated feed: $MESSAGES quotes at $RATE/s (log: state/demo-producer.log)"
mkdir -p state
export TXF_STATE_DIR=state TXF_STATS_INTERVAL_S=10
# the simulated clock starts now (Taipei), so exchange -> consumer latency reads as it would live
$BIN/txf-producer run --source sim --rate "$RATE" --max-messages "$MESSAGES" \
  --sim-start "$(TZ=Asia/Taipei date +%Y-%m-%dT%H:%M:%S)" >state/demo-producer.log 2>&1 &
producer=$!
trap 'kill -INT "$producer" 2>/dev/null || true; wait "$producer" 2>/dev/null || true' EXIT

# group txf-demo: the first demo on a machine reads from the beginning, later ones resume where
# the last one stopped (committed offsets), so each shows its own run
echo "demo: 4/4 consumer (live view; Ctrl-C to leave early)"
output=live
[[ -t 1 ]] || output=quiet  # no terminal (CI, a pipe): just the summary
$BIN/txf-consume --bootstrap "$TXF_KAFKA_BOOTSTRAP" --registry "$TXF_REGISTRY_URL" \
  --group txf-demo --topics txf-tick,txf-bidask --from-beginning \
  --idle-exit-ms 5000 --output "$output"

wait "$producer"
trap - EXIT
echo "demo: producer finished: $(grep -o 'final stats .*' state/demo-producer.log || tail -1 state/demo-producer.log)"
echo "demo: the stack keeps running: try 'make registry-status', 'curl 127.0.0.1:9464/metrics' during a run; 'make down' stops it"
