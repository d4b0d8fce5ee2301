"""One Kafka KRaft node (broker + controller in one JVM): its properties, storage format, start, crash.

Both profiles are made of these: the single-node profile is one node that is its own controller
quorum (`--standalone`), the cluster profile is N nodes that are all voters of one static quorum
(`controller.quorum.voters`). Each node has its own properties file, data directory, log and PID
file in the state directory, and is stopped or killed by its PID only.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from stack import procs
from stack.config import HOST, Log, StackConfig, StackError
from stack.downloads import find_kafka_java, kafka_home
from stack.tls import write_private

# Three of these share two cores in the cluster profile: a small heap, the serial collector and C1
# only keep start-up short and RSS near 270 MB a node (measured in stack/README.md).
KAFKA_JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]
CLUSTER_JVM_OPTS = ["-Xms64m", "-Xmx256m", *KAFKA_JVM_OPTS[2:]]

LOG4J2 = """\
# written by stack/localstack.py: quiet broker logs (warnings, plus start/stop and controller-election lines)
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = info
logger.raft.name = org.apache.kafka.raft.QuorumState
logger.raft.level = info
"""


@dataclasses.dataclass(frozen=True)
class KafkaNode:
    """A node of a profile: its process name (PID/log file), KRaft id, ports and the quorum it votes in."""

    name: str
    node_id: int
    port: int
    controller_port: int
    voters: tuple[tuple[int, int], ...]  # (node id, controller port) of every voter; one voter = standalone
    jvm_opts: tuple[str, ...] = tuple(KAFKA_JVM_OPTS)

    @property
    def standalone(self) -> bool:
        return len(self.voters) == 1

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def replication(self) -> tuple[int, int]:
        """(replication factor, min.insync.replicas) of the broker's defaults: its internal topics
        (consumer offsets, transactions) and any auto-created topic. txfstream's own topics get
        theirs explicitly from the topic map's durability profile (txf-registry)."""
        return (3, 2) if len(self.voters) >= 3 else (1, 1)


def plaintext_listeners(node: KafkaNode) -> str:
    """The listener lines of a plain node: clients and brokers on PLAINTEXT, the quorum on CONTROLLER."""
    return f"""\
listeners=PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
"""


def server_properties(cfg: StackConfig, node: KafkaNode, listeners: str | None = None) -> str:
    """The node's server.properties; `listeners` replaces the plain listener lines (the secured profile's)."""
    rf, min_isr = node.replication()
    if node.standalone:
        quorum = f"controller.quorum.bootstrap.servers={HOST}:{node.controller_port}"
        what = "one KRaft node (broker + controller)"
    else:
        quorum = "controller.quorum.voters=" + ",".join(f"{i}@{HOST}:{p}" for i, p in node.voters)
        what = f"KRaft node {node.node_id} of {len(node.voters)} (broker + controller, every node a voter)"
    return f"""\
# written by stack/localstack.py: {what} on {HOST} only
process.roles=broker,controller
node.id={node.node_id}
{quorum}
{(listeners or plaintext_listeners(node)).rstrip()}
log.dirs={cfg.data_dir(node.name)}
num.partitions=1
default.replication.factor={rf}
min.insync.replicas={min_isr}
auto.create.topics.enable=true
offsets.topic.replication.factor={rf}
offsets.topic.num.partitions=3
transaction.state.log.replication.factor={rf}
transaction.state.log.min.isr={min_isr}
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor={rf}
share.coordinator.state.topic.min.isr={min_isr}
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=24
"""


def new_cluster_id() -> str:
    """A Kafka Uuid string (22 chars, URL-safe base64). Like Kafka's Uuid.randomUuid(), never one starting
    with '-', which the storage tool's argument parser would read as an option."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _jvm(cfg: StackConfig, node: KafkaNode, java: str) -> list[str]:
    l4j = cfg.state_dir / "log4j2.properties"
    return [
        java,
        *node.jvm_opts,
        f"-Dlog4j2.configurationFile={l4j}",
        cfg.tag,
        "-cp",
        str(kafka_home(cfg) / "libs" / "*"),
    ]


def _args_file(cfg: StackConfig, node: KafkaNode) -> Path:
    return cfg.state_dir / f"{node.name}.format-args"


def format_storage(
    cfg: StackConfig,
    node: KafkaNode,
    cluster_id: str,
    java: str,
    properties: str | None = None,
    secret_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Write the node's properties, empty its data dir and start formatting it (a JVM; wait on the result).

    Returned unwaited so that the nodes of a cluster format side by side. `properties` replaces the
    plain node's (the secured profile writes its own, 0600: they hold the broker's password).
    `secret_args` (e.g. `--add-scram` with a password) never reach the command line, where `ps`
    would show them: the tool's class and arguments go to a 0600 argument file that the java
    launcher reads (`java @file`), deleted by `wait_formatted`.
    """
    shutil.rmtree(cfg.data_dir(node.name), ignore_errors=True)
    props = cfg.properties_file(node.name)
    if properties is None:
        props.write_text(server_properties(cfg, node))
    else:
        write_private(props, properties.encode())
    (cfg.state_dir / "log4j2.properties").write_text(LOG4J2)
    args = ["format", "-t", cluster_id, "-c", str(props)]
    if node.standalone:
        args.insert(1, "--standalone")
    tool = ["kafka.tools.StorageTool", *args, *secret_args]
    if secret_args:
        write_private(_args_file(cfg, node), "\n".join(_quoted(a) for a in tool).encode() + b"\n")
        tool = [f"@{_args_file(cfg, node)}"]
    with open(cfg.log_file(node.name), "wb") as out:  # each fresh start begins a new log
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} formatting {cfg.data_dir(node.name)}\n".encode())
        out.flush()
        return subprocess.Popen(
            [*_jvm(cfg, node, java), *tool],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _quoted(arg: str) -> str:
    """One argument as the java launcher's @-file reads it: in double quotes, backslash and quote escaped."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wait_formatted(cfg: StackConfig, node: KafkaNode, proc: subprocess.Popen[bytes]) -> None:
    try:
        code = proc.wait(timeout=cfg.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise StackError(f"Kafka storage format of {node.name} took over {cfg.timeout:.0f} s; killed it") from None
    finally:
        _args_file(cfg, node).unlink(missing_ok=True)
    if code != 0:
        raise StackError(
            f"Kafka storage format of {node.name} failed (exit {code}); see {cfg.log_file(node.name)}:\n"
            + procs.tail(cfg.log_file(node.name))
        )


def launch(cfg: StackConfig, node: KafkaNode, java: str | None = None) -> int:
    """Start the node's broker on its formatted data (detached); returns its PID."""
    if procs.running_pid(cfg, node.name) is not None:
        raise StackError(f"{node.name} is already running; stop or kill it first")
    if not cfg.properties_file(node.name).is_file():
        raise StackError(f"{node.name} was never formatted in {cfg.state_dir} (no {cfg.properties_file(node.name)})")
    cmd = [*_jvm(cfg, node, java or find_kafka_java()), "kafka.Kafka", str(cfg.properties_file(node.name))]
    return procs.spawn(cfg, node.name, cmd, cfg.state_dir)


def start_fresh(cfg: StackConfig, node: KafkaNode, java: str, log: Log) -> int:
    """Format a new single-node cluster and start it (the single-node profile)."""
    proc = format_storage(cfg, node, new_cluster_id(), java)
    wait_formatted(cfg, node, proc)
    return launch(cfg, node, java)


def quorum_state(cfg: StackConfig, node: KafkaNode) -> dict[str, int] | None:
    """The node's last persisted view of the controller quorum: {'leaderId', 'leaderEpoch'} or None.

    Read from `<log.dirs>/__cluster_metadata-0/quorum-state`, the file the KRaft client rewrites on
    every election it takes part in (Kafka ships no Python client for DescribeQuorum, and its
    command-line tool would start one more JVM).
    """
    path: Path = cfg.data_dir(node.name) / "__cluster_metadata-0" / "quorum-state"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return {"leaderId": int(raw.get("leaderId", -1)), "leaderEpoch": int(raw.get("leaderEpoch", -1))}
