"""Where the local stack lives: ports, directories and timeouts, read once from the environment.

Everything else in stack/ takes a `StackConfig`; nothing reads the environment on its own. The
single-node profile (`make up`), the cluster profile (`make up BROKERS=3`) and the secured profile
(`make up SECURE=1`) share one state directory and one registry, and use different Kafka ports, so
they can run side by side.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

STACK_DIR = Path(__file__).resolve().parent
REPO_ROOT = STACK_DIR.parent
POM = STACK_DIR / "pom.xml"
HOST = "127.0.0.1"
SINGLE = "kafka"  # the single-node profile's process name (PID file kafka.pid, log kafka.log)
SECURE = "kafka-secure"  # the secured profile's node (stack/secure.py)

Log = Callable[[str], None]


class StackError(RuntimeError):
    """A problem with a clear cause and fix; the CLI prints it and exits 1."""


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StackError(f"{name}={port} is outside 1..65535")
    return port


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise StackError(f"{name} must be positive, got {raw}")
    return value


#: Nodes of the cluster profile; node i (1-based) listens on the first port + i - 1.
CLUSTER_SIZES = (3, 5)
MAX_CLUSTER_NODES = max(CLUSTER_SIZES)


@dataclasses.dataclass(frozen=True)
class StackConfig:
    cache_dir: Path
    state_dir: Path
    kafka_port: int = 19092
    controller_port: int = 19093
    registry_port: int = 18081
    registry_mgmt_port: int = 18082
    cluster_kafka_port: int = 19192
    cluster_controller_port: int = 19292
    secure_kafka_port: int = 19094
    secure_controller_port: int = 19095
    timeout: float = 120.0

    @classmethod
    def from_env(cls) -> StackConfig:
        cache = os.environ.get("TXF_STACK_CACHE") or str(Path.home() / ".cache" / "txfstream" / "stack")
        state = os.environ.get("TXF_STACK_STATE") or str(REPO_ROOT / ".stack")
        registry_port = _env_port("TXF_REGISTRY_PORT", 18081)
        cfg = cls(
            cache_dir=Path(cache).expanduser().resolve(),
            state_dir=Path(state).expanduser().resolve(),
            kafka_port=_env_port("TXF_KAFKA_PORT", 19092),
            controller_port=_env_port("TXF_KAFKA_CONTROLLER_PORT", 19093),
            registry_port=registry_port,
            registry_mgmt_port=_env_port("TXF_REGISTRY_MGMT_PORT", registry_port + 1),
            cluster_kafka_port=_env_port("TXF_CLUSTER_KAFKA_PORT", 19192),
            cluster_controller_port=_env_port("TXF_CLUSTER_CONTROLLER_PORT", 19292),
            secure_kafka_port=_env_port("TXF_SECURE_KAFKA_PORT", 19094),
            secure_controller_port=_env_port("TXF_SECURE_CONTROLLER_PORT", 19095),
            timeout=_env_seconds("TXF_STACK_TIMEOUT", 120.0),
        )
        cfg.check_ports()
        return cfg

    def check_ports(self) -> None:
        """Every port the stack may bind is distinct (the cluster's ranges included)."""
        named = {
            "TXF_KAFKA_PORT": [self.kafka_port],
            "TXF_KAFKA_CONTROLLER_PORT": [self.controller_port],
            "TXF_REGISTRY_PORT": [self.registry_port],
            "TXF_REGISTRY_MGMT_PORT": [self.registry_mgmt_port],
            "TXF_CLUSTER_KAFKA_PORT": [self.cluster_kafka_port + i for i in range(MAX_CLUSTER_NODES)],
            "TXF_CLUSTER_CONTROLLER_PORT": [self.cluster_controller_port + i for i in range(MAX_CLUSTER_NODES)],
            "TXF_SECURE_KAFKA_PORT": [self.secure_kafka_port],
            "TXF_SECURE_CONTROLLER_PORT": [self.secure_controller_port],
        }
        owner: dict[int, str] = {}
        for name, ports in named.items():
            for port in ports:
                if port > 65535:
                    raise StackError(f"{name}: port {port} (a cluster node's) is above 65535; choose a lower one")
                if port in owner:
                    raise StackError(
                        f"stack ports must differ: {port} is both {owner[port]} and {name} "
                        f"(the cluster profile uses {MAX_CLUSTER_NODES} consecutive ports from each TXF_CLUSTER_* port)"
                    )
                owner[port] = name

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    @property
    def registry_base(self) -> str:
        return f"http://{HOST}:{self.registry_port}"

    @property
    def registry_url(self) -> str:
        return f"{self.registry_base}/apis/ccompat/v7"

    @property
    def tag(self) -> str:
        """JVM system property put on every command line: marks a process as ours."""
        return f"-Dtxfstream.stack={self.state_dir}"

    def pid_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"

    def properties_file(self, name: str) -> Path:
        """A Kafka node's server.properties (the single node keeps its historical name)."""
        return self.state_dir / ("server.properties" if name == SINGLE else f"{name}.properties")

    def data_dir(self, name: str) -> Path:
        """A Kafka node's log.dirs (the single node keeps its historical name)."""
        return self.state_dir / ("kafka-data" if name == SINGLE else f"{name}-data")

    @property
    def kafka_data(self) -> Path:
        return self.data_dir(SINGLE)

    @property
    def secure_dir(self) -> Path:
        """The secured profile's secrets: CA, broker key, passwords, client settings (0700, deleted by `down`)."""
        return self.state_dir / "secure"


@dataclasses.dataclass
class StackInfo:
    bootstrap_servers: str
    registry_url: str
    kafka_pid: int | None = None
    registry_pid: int | None = None
    started_kafka: bool = False
    started_registry: bool = False
    kafka_seconds: float | None = None
    registry_seconds: float | None = None
    total_seconds: float = 0.0
    brokers: int = 1  # 1: the single-node profile; more: the cluster profile
    secured: bool = False  # the secured profile (SASL_SSL + ACLs) instead of the single node
    nodes: dict[str, int] = dataclasses.field(default_factory=dict)  # cluster node name -> PID
    started_nodes: list[str] = dataclasses.field(default_factory=list)

    @property
    def env_lines(self) -> list[str]:
        """What a client of this stack needs, as the variables the producer, consumers and txf-registry read."""
        return [
            f"TXF_KAFKA_BOOTSTRAP={self.bootstrap_servers}",
            f"TXF_REGISTRY_URL={self.registry_url}",
            f"TXF_TOPIC_DURABILITY={'single' if self.brokers == 1 else 'cluster'}",
        ]

    @property
    def kafka_name(self) -> str:
        """The process name of the profile's one node (PID file, log): kafka or kafka-secure."""
        return SECURE if self.secured else SINGLE
