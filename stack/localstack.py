#!/usr/bin/env python3
"""Local development stack: Apache Kafka (KRaft, one node) + Apicurio Registry (Confluent API).

Usage:  python stack/localstack.py up|down|status|fetch

Standard library, plus confluent-kafka for the Kafka readiness probe (a real client's metadata
request). Binaries come from Maven Central through `mvn` (versions pinned in
stack/pom.xml) into a cache outside the repository; processes bind to 127.0.0.1 only.

Environment:
  TXF_STACK_CACHE            download cache          (default ~/.cache/txfstream/stack)
  TXF_STACK_STATE            PID files, logs, data   (default <repo>/.stack)
  TXF_KAFKA_PORT             Kafka client port       (default 19092)
  TXF_KAFKA_CONTROLLER_PORT  KRaft controller port   (default 19093)
  TXF_REGISTRY_PORT          registry HTTP port      (default 18081)
  TXF_REGISTRY_MGMT_PORT     registry management     (default registry port + 1)
  TXF_JAVA21_HOME            JDK (21+) for Apicurio  (default: newest 21+ JDK found)
  TXF_STACK_TIMEOUT          start-up wait, seconds  (default 120)

Importable: ``from stack.localstack import ensure_up, stop, probe, StackConfig, StackInfo``.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

STACK_DIR = Path(__file__).resolve().parent
REPO_ROOT = STACK_DIR.parent
POM = STACK_DIR / "pom.xml"
HOST = "127.0.0.1"
MARKER = ".txf-complete"
MIN_KAFKA_JAVA = 17
MIN_REGISTRY_JAVA = 21
EXIT_NOT_READY = 3

KAFKA_JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]
REGISTRY_JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


class StackError(RuntimeError):
    """A problem with a clear cause and fix; the CLI prints it and exits 1."""


Log = Callable[[str], None]


# --------------------------------------------------------------------------- configuration


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


@dataclasses.dataclass(frozen=True)
class StackConfig:
    cache_dir: Path
    state_dir: Path
    kafka_port: int = 19092
    controller_port: int = 19093
    registry_port: int = 18081
    registry_mgmt_port: int = 18082
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
            timeout=_env_seconds("TXF_STACK_TIMEOUT", 120.0),
        )
        ports = [cfg.kafka_port, cfg.controller_port, cfg.registry_port, cfg.registry_mgmt_port]
        if len(set(ports)) != len(ports):
            raise StackError(
                f"stack ports must differ, got kafka={ports[0]} controller={ports[1]} "
                f"registry={ports[2]} registry-management={ports[3]}"
            )
        return cfg

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
        """JVM system property put on both command lines: marks a process as ours."""
        return f"-Dtxfstream.stack={self.state_dir}"

    def pid_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"

    @property
    def kafka_data(self) -> Path:
        return self.state_dir / "kafka-data"


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

    @property
    def env_lines(self) -> list[str]:
        return [f"TXF_KAFKA_BOOTSTRAP={self.bootstrap_servers}", f"TXF_REGISTRY_URL={self.registry_url}"]


# --------------------------------------------------------------------------- versions and java


def versions() -> dict[str, str]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(POM).getroot().find("m:properties", ns)
    if props is None:
        raise StackError(f"{POM} has no <properties>")
    out = {}
    for key in ("kafka.version", "apicurio.version", "dependency.plugin.version"):
        el = props.find(f"m:{key}", ns)
        if el is None or not (el.text or "").strip():
            raise StackError(f"{POM} lacks <{key}>")
        out[key] = el.text.strip()
    return out


def java_major(java: str) -> int | None:
    try:
        res = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', res.stderr + res.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def find_kafka_java() -> str:
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if shutil.which("java"):
        candidates.append(shutil.which("java"))
    for java in candidates:
        major = java_major(java)
        if major and major >= MIN_KAFKA_JAVA:
            return java
    raise StackError(
        f"no Java {MIN_KAFKA_JAVA}+ found for Kafka (looked at JAVA_HOME and `java` on PATH). "
        "Fix: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
    )


def find_registry_java() -> str:
    explicit = os.environ.get("TXF_JAVA21_HOME")
    if explicit:
        java = str(Path(explicit) / "bin" / "java")
        major = java_major(java)
        if major and major >= MIN_REGISTRY_JAVA:
            return java
        raise StackError(
            f"TXF_JAVA21_HOME={explicit}: {java} is not a Java {MIN_REGISTRY_JAVA}+ "
            f"(found {major or 'nothing runnable'}). Fix: point it at a JDK 21 or newer."
        )
    homes = []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    for root in (Path("/usr/lib/jvm"), Path("/Library/Java/JavaVirtualMachines")):
        if root.is_dir():
            for d in sorted(root.iterdir()):
                homes.append(d / "Contents" / "Home" if (d / "Contents" / "Home").is_dir() else d)
    found: list[tuple[int, str]] = []
    seen = set()
    for home in homes:
        java = home / "bin" / "java"
        if java.is_file() and java.resolve() not in seen:
            seen.add(java.resolve())
            major = java_major(str(java))
            if major:
                found.append((major, str(java)))
    if shutil.which("java"):
        major = java_major(shutil.which("java"))
        if major:
            found.append((major, shutil.which("java")))
    found = [f for f in found if f[0] >= MIN_REGISTRY_JAVA]
    if not found:
        raise StackError(
            f"Apicurio Registry 3 needs Java {MIN_REGISTRY_JAVA}+, none found in /usr/lib/jvm, JAVA_HOME or PATH. "
            "Fix: install a JDK 21+ (e.g. Temurin 21/25, or Debian openjdk-21-jre-headless) "
            "and/or set TXF_JAVA21_HOME=<jdk dir>."
        )
    return max(found)[1]


# --------------------------------------------------------------------------- downloads


def kafka_home(cfg: StackConfig) -> Path:
    return cfg.cache_dir / f"kafka-{versions()['kafka.version']}"


def registry_home(cfg: StackConfig) -> Path:
    return cfg.cache_dir / f"apicurio-registry-{versions()['apicurio.version']}"


def _find_mvn() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError(
            "`mvn` (Apache Maven) not found on PATH; it fetches Kafka and Apicurio from Maven Central "
            "(needed while the cache is incomplete). "
            "Fix: install Maven (Debian: apt-get install maven; macOS: brew install maven)."
        )
    return mvn


def _mvn(cfg: StackConfig, args: list[str], log_path: Path) -> None:
    mvn = _find_mvn()
    cmd = [mvn, "-B", "-q", f"-Dmaven.repo.local={cfg.cache_dir / 'm2'}", "-f", str(POM), *args]
    with open(log_path, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        res = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise StackError(f"mvn failed (exit {res.returncode}); see {log_path}")


def _complete(home: Path) -> bool:
    return (home / MARKER).is_file()


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fetch_kafka(cfg: StackConfig, log: Log = print) -> Path:
    home = kafka_home(cfg)
    if _complete(home):
        return home
    v = versions()
    part = home.with_name(home.name + ".partial")
    shutil.rmtree(part, ignore_errors=True)
    (part / "libs").mkdir(parents=True)
    t0 = time.monotonic()
    log(f"fetching Kafka {v['kafka.version']} jars from Maven Central into {home} ...")
    _mvn(
        cfg,
        [
            f"org.apache.maven.plugins:maven-dependency-plugin:{v['dependency.plugin.version']}:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={part / 'libs'}",
        ],
        cfg.state_dir / "fetch.log",
    )
    if not list((part / "libs").glob(f"kafka_2.13-{v['kafka.version']}.jar")):
        raise StackError(f"Kafka jar missing after mvn copy-dependencies; see {cfg.state_dir / 'fetch.log'}")
    (part / MARKER).write_text(json.dumps({"kafka": v["kafka.version"], "bytes": _du(part)}) + "\n")
    shutil.rmtree(home, ignore_errors=True)
    part.rename(home)
    log(f"  Kafka jars: {_du(home) / 1e6:.1f} MB in {time.monotonic() - t0:.1f} s")
    return home


def fetch_registry(cfg: StackConfig, log: Log = print) -> Path:
    home = registry_home(cfg)
    if _complete(home):
        return home
    v = versions()
    part = home.with_name(home.name + ".partial")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    t0 = time.monotonic()
    gav = f"io.apicurio:apicurio-registry-app:{v['apicurio.version']}:tar.gz:all"
    log(f"fetching Apicurio Registry {v['apicurio.version']} ({gav}) into {home} ...")
    _mvn(
        cfg,
        [
            f"org.apache.maven.plugins:maven-dependency-plugin:{v['dependency.plugin.version']}:copy",
            f"-Dartifact={gav}",
            f"-DoutputDirectory={part}",
            "-Dmdep.stripVersion=true",
        ],
        cfg.state_dir / "fetch.log",
    )
    tgz = part / "apicurio-registry-app-all.tar.gz"
    if not tgz.is_file():
        cands = list(part.glob("*.tar.gz"))
        if len(cands) != 1:
            raise StackError(f"Apicurio bundle missing after mvn copy; see {cfg.state_dir / 'fetch.log'}")
        tgz = cands[0]
    tgz_bytes = tgz.stat().st_size
    with tarfile.open(tgz) as tf:
        try:
            tf.extractall(part, filter="data")
        except TypeError:  # Python < 3.11.4 without extraction filters
            tf.extractall(part)
    tgz.unlink()
    # the tarball also sits in the private Maven repo; it is not needed once unpacked
    shutil.rmtree(cfg.cache_dir / "m2" / "io" / "apicurio" / "apicurio-registry-app", ignore_errors=True)
    if not (part / "quarkus-run.jar").is_file():
        raise StackError(f"quarkus-run.jar not found in the Apicurio bundle under {part}")
    (part / MARKER).write_text(json.dumps({"apicurio": v["apicurio.version"], "tar_gz_bytes": tgz_bytes}) + "\n")
    shutil.rmtree(home, ignore_errors=True)
    part.rename(home)
    log(
        f"  Apicurio bundle: {tgz_bytes / 1e6:.1f} MB download, {_du(home) / 1e6:.1f} MB unpacked, "
        f"{time.monotonic() - t0:.1f} s"
    )
    return home


def fetch(cfg: StackConfig, log: Log = print, need: tuple[str, ...] = ("kafka", "registry")) -> None:
    """Fetch what is missing (one after the other: two Maven runs must not share a local repo at once)."""
    missing = [n for n in need if not _complete(kafka_home(cfg) if n == "kafka" else registry_home(cfg))]
    if not missing:
        return
    _find_mvn()
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    cfg.cache_dir.mkdir(parents=True, exist_ok=True)
    if "kafka" in need:
        fetch_kafka(cfg, log)
    if "registry" in need:
        fetch_registry(cfg, log)


# --------------------------------------------------------------------------- probes


def kafka_metadata(port: int, host: str = HOST, timeout: float = 3.0) -> dict:
    """A real metadata request through confluent-kafka (librdkafka), as every client of the stack makes it.

    Returns {'cluster_id', 'controller_id', 'brokers': [(node_id, host, port)]}; raises ConnectionError
    when no broker answers within `timeout`. librdkafka's own connection logs are silenced: a probe
    that waits for a starting broker fails many times on purpose.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("txf.localstack.librdkafka")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    admin = AdminClient(
        {"bootstrap.servers": f"{host}:{port}", "socket.timeout.ms": max(10, int(timeout * 1000)), "logger": quiet}
    )
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ConnectionError(f"no Kafka metadata from {host}:{port} within {timeout:g} s: {exc}") from None
    brokers = sorted((b.id, b.host, b.port) for b in md.brokers.values())
    return {"cluster_id": md.cluster_id, "controller_id": md.controller_id, "brokers": brokers}


def kafka_ready(cfg: StackConfig, timeout: float = 3.0) -> bool:
    try:
        md = kafka_metadata(cfg.kafka_port, timeout=timeout)
    except (OSError, ConnectionError):
        return False
    return any(p == cfg.kafka_port for _n, _h, p in md["brokers"])


def registry_ready(cfg: StackConfig, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(cfg.registry_url + "/subjects", timeout=timeout) as resp:
            return resp.status == 200 and isinstance(json.loads(resp.read()), list)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def probe(cfg: StackConfig | None = None) -> tuple[bool, bool]:
    """(kafka answers, registry answers) on the configured ports."""
    cfg = cfg or StackConfig.from_env()
    return kafka_ready(cfg), registry_ready(cfg)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- processes


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:  # no /proc (macOS)
        res = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
        return res.stdout.strip() or None
    except OSError:
        return None


def _alive(pid: int) -> bool:
    try:  # reap it if it is our own child (pytest fixture), so a zombie does not count as running
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_ours(cfg: StackConfig, pid: int, name: str) -> bool:
    cmd = _cmdline(pid)
    if not cmd:
        return False
    return cfg.tag in cmd and (("kafka.Kafka" in cmd) if name == "kafka" else ("quarkus-run.jar" in cmd))


def running_pid(cfg: StackConfig, name: str) -> int | None:
    """PID from <state>/<name>.pid if that process is alive and is ours; a stale file is removed."""
    pf = cfg.pid_file(name)
    try:
        pid = int(pf.read_text().strip())
    except (OSError, ValueError):
        return None
    if _alive(pid) and _is_ours(cfg, pid, name):
        return pid
    pf.unlink(missing_ok=True)
    return None


def _spawn(cfg: StackConfig, name: str, cmd: list[str], cwd: Path, fresh_log: bool = False) -> int:
    log_path = cfg.log_file(name)
    with open(log_path, "wb" if fresh_log else "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    cfg.pid_file(name).write_text(f"{proc.pid}\n")
    return proc.pid


LOG4J2 = """\
# written by stack/localstack.py: quiet broker logs (warnings, plus start/stop lines)
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = info
"""


def _server_properties(cfg: StackConfig) -> str:
    return f"""\
# written by stack/localstack.py: one KRaft node (broker + controller) on {HOST} only
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={HOST}:{cfg.controller_port}
listeners=PLAINTEXT://{HOST}:{cfg.kafka_port},CONTROLLER://{HOST}:{cfg.controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{cfg.kafka_port},CONTROLLER://{HOST}:{cfg.controller_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={cfg.kafka_data}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=24
"""


def _cluster_id() -> str:
    """A Kafka Uuid string (22 chars, URL-safe base64). Like Kafka's Uuid.randomUuid(), never one starting
    with '-', which the storage tool's argument parser would read as an option."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _start_kafka(cfg: StackConfig, java: str, log: Log) -> int:
    home = kafka_home(cfg)
    cp = str(home / "libs" / "*")
    shutil.rmtree(cfg.kafka_data, ignore_errors=True)
    props = cfg.state_dir / "server.properties"
    props.write_text(_server_properties(cfg))
    l4j = cfg.state_dir / "log4j2.properties"
    l4j.write_text(LOG4J2)
    jvm = [java, *KAFKA_JVM_OPTS, f"-Dlog4j2.configurationFile={l4j}", cfg.tag, "-cp", cp]
    cluster_id = _cluster_id()
    with open(cfg.log_file("kafka"), "wb") as out:  # each start begins a new log
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} formatting {cfg.kafka_data}\n".encode())
        out.flush()
        res = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=cfg.timeout,
        )
    if res.returncode != 0:
        raise StackError(f"Kafka storage format failed (exit {res.returncode}); see {cfg.log_file('kafka')}")
    return _spawn(cfg, "kafka", [*jvm, "kafka.Kafka", str(props)], cfg.state_dir)


def _start_registry(cfg: StackConfig, java: str, log: Log) -> int:
    home = registry_home(cfg)
    cmd = [
        java,
        *REGISTRY_JVM_OPTS,
        cfg.tag,
        f"-Dquarkus.http.host={HOST}",
        f"-Dquarkus.http.port={cfg.registry_port}",
        f"-Dquarkus.management.host={HOST}",
        f"-Dquarkus.management.port={cfg.registry_mgmt_port}",
        "-Dquarkus.http.access-log.enabled=false",
        "-Dquarkus.log.level=WARN",
        "-jar",
        str(home / "quarkus-run.jar"),
    ]
    return _spawn(cfg, "registry", cmd, cfg.state_dir, fresh_log=True)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def ensure_up(cfg: StackConfig | None = None, log: Log = print) -> StackInfo:
    """Start what is not already answering; wait (bounded) until Kafka and the registry answer.

    Idempotent: services that already answer on the configured ports are left alone (and not
    marked as started, so a caller's stop() leaves them running).
    """
    cfg = cfg or StackConfig.from_env()
    t0 = time.monotonic()
    info = StackInfo(cfg.bootstrap_servers, cfg.registry_url)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    k_ok, r_ok = probe(cfg)
    k_pid, r_pid = running_pid(cfg, "kafka"), running_pid(cfg, "registry")
    info.kafka_pid, info.registry_pid = k_pid, r_pid
    start_kafka = not k_ok and k_pid is None
    start_registry = not r_ok and r_pid is None

    # everything that can fail fast before starting anything
    busy = []
    if start_kafka:
        busy += [
            (p, what)
            for p, what in ((cfg.kafka_port, "TXF_KAFKA_PORT"), (cfg.controller_port, "TXF_KAFKA_CONTROLLER_PORT"))
            if not port_free(p)
        ]
    if start_registry:
        busy += [
            (p, what)
            for p, what in (
                (cfg.registry_port, "TXF_REGISTRY_PORT"),
                (cfg.registry_mgmt_port, "TXF_REGISTRY_MGMT_PORT"),
            )
            if not port_free(p)
        ]
    if busy:
        desc = ", ".join(f"{HOST}:{p} ({what})" for p, what in busy)
        raise StackError(
            f"port busy: {desc} is taken by another program that is not this stack answering. "
            f"Fix: stop that program (`ss -ltnp | grep PORT` shows it) or choose free ports, "
            f"e.g. {busy[0][1]}={busy[0][0] + 100}."
        )
    kafka_java = find_kafka_java() if start_kafka else None
    registry_java = find_registry_java() if start_registry else None
    need = tuple(n for n, s in (("kafka", start_kafka), ("registry", start_registry)) if s)
    if need:
        fetch(cfg, log, need)

    t_start = time.monotonic()
    try:
        if start_registry:  # the registry's JVM boots while Kafka formats its storage
            info.registry_pid = _start_registry(cfg, registry_java, log)
            info.started_registry = True
        if start_kafka:
            info.kafka_pid = _start_kafka(cfg, kafka_java, log)
            info.started_kafka = True
        _wait_ready(cfg, info, t_start, waiting={"kafka": not k_ok, "registry": not r_ok})
    except BaseException:  # failed, timed out or interrupted: stop what this call started
        _cleanup_failed(cfg, info, log)
        raise
    info.total_seconds = time.monotonic() - t0
    return info


def _wait_ready(cfg: StackConfig, info: StackInfo, t_start: float, waiting: dict[str, bool]) -> None:
    deadline = t_start + cfg.timeout
    while any(waiting.values()):
        for name, check in (("kafka", kafka_ready), ("registry", registry_ready)):
            if not waiting[name]:
                continue
            pid = info.kafka_pid if name == "kafka" else info.registry_pid
            if check(cfg, timeout=2.0):
                waiting[name] = False
                took = time.monotonic() - t_start
                if name == "kafka":
                    info.kafka_seconds = took
                else:
                    info.registry_seconds = took
            elif pid is not None and not _alive(pid):
                raise StackError(
                    f"{name} exited during start-up; see {cfg.log_file(name)}:\n{_tail(cfg.log_file(name))}"
                )
        if any(waiting.values()):
            if time.monotonic() > deadline:
                late = [n for n, w in waiting.items() if w]
                raise StackError(
                    f"{' and '.join(late)} did not answer within {cfg.timeout:.0f} s "
                    f"(TXF_STACK_TIMEOUT); see " + ", ".join(str(cfg.log_file(n)) for n in late)
                )
            time.sleep(0.25)


def _cleanup_failed(cfg: StackConfig, info: StackInfo, log: Log) -> None:
    started = {n for n, s in (("kafka", info.started_kafka), ("registry", info.started_registry)) if s}
    if started:
        stop(cfg, only=started, log=log)


def _stop_one(cfg: StackConfig, name: str, log: Log, grace: float = 30.0) -> bool:
    pf = cfg.pid_file(name)
    try:
        pid = int(pf.read_text().strip())
    except (OSError, ValueError):
        pf.unlink(missing_ok=True)
        return False
    if not _alive(pid):
        log(f"{name}: not running (stale PID file {pid} removed)")
        pf.unlink(missing_ok=True)
        return False
    if not _is_ours(cfg, pid, name):
        log(f"{name}: PID {pid} from {pf} is not our {name} process any more; not signalling it, removing the file")
        pf.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    how = "stopped"
    if _alive(pid):
        if _is_ours(cfg, pid, name):
            os.kill(pid, signal.SIGKILL)
            how = f"killed (no exit {grace:.0f} s after SIGTERM)"
        end = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
    pf.unlink(missing_ok=True)
    log(f"{name}: {how} (PID {pid})")
    return True


def stop(cfg: StackConfig | None = None, only: set[str] | None = None, log: Log = print) -> None:
    """Stop what this state dir started (both, or just `only`); delete the Kafka data dir."""
    cfg = cfg or StackConfig.from_env()
    names = [n for n in ("registry", "kafka") if only is None or n in only]
    for name in names:
        _stop_one(cfg, name, log)
    if "kafka" in names and running_pid(cfg, "kafka") is None and cfg.kafka_data.exists():
        shutil.rmtree(cfg.kafka_data, ignore_errors=True)


# --------------------------------------------------------------------------- fault injection


def kill_kafka(cfg: StackConfig) -> int:
    """SIGKILL our broker by its PID (a crash: no shutdown, no flush); returns the PID. For fault tests."""
    pid = running_pid(cfg, "kafka")
    if pid is None:
        raise StackError(f"no Kafka of ours is running for {cfg.state_dir}")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    cfg.pid_file("kafka").unlink(missing_ok=True)
    return pid


def restart_kafka(cfg: StackConfig, log: Log = print) -> int:
    """Start our broker again on its existing data (no format) and wait until it answers."""
    if running_pid(cfg, "kafka") is not None:
        raise StackError("Kafka is still running; kill_kafka() or stop() it first")
    home = kafka_home(cfg)
    props = cfg.state_dir / "server.properties"
    jvm = [
        find_kafka_java(),
        *KAFKA_JVM_OPTS,
        f"-Dlog4j2.configurationFile={cfg.state_dir / 'log4j2.properties'}",
        cfg.tag,
        "-cp",
        str(home / "libs" / "*"),
    ]
    info = StackInfo(cfg.bootstrap_servers, cfg.registry_url)
    info.kafka_pid = _spawn(cfg, "kafka", [*jvm, "kafka.Kafka", str(props)], cfg.state_dir)
    info.started_kafka = True
    _wait_ready(cfg, info, time.monotonic(), waiting={"kafka": True, "registry": False})
    return info.kafka_pid


def stop_registry(cfg: StackConfig, log: Log = print) -> None:
    """Stop only our registry (by PID). For fault tests."""
    _stop_one(cfg, "registry", log)


# --------------------------------------------------------------------------- CLI


def cmd_up(cfg: StackConfig) -> int:
    k_ok, r_ok = probe(cfg)
    if k_ok and r_ok:
        pids = {n: running_pid(cfg, n) for n in ("kafka", "registry")}
        who = ", ".join(f"{n} PID {p}" if p else f"{n} not started from {cfg.state_dir}" for n, p in pids.items())
        print(f"already running and answering ({who}); nothing to do")
        print("\n".join(StackInfo(cfg.bootstrap_servers, cfg.registry_url).env_lines))
        return 0
    info = ensure_up(cfg)
    for name, started, pid, secs in (
        ("kafka", info.started_kafka, info.kafka_pid, info.kafka_seconds),
        ("registry", info.started_registry, info.registry_pid, info.registry_seconds),
    ):
        addr = cfg.bootstrap_servers if name == "kafka" else cfg.registry_url
        if started:
            print(f"{name:8s} started  PID {pid}  {addr}  answered after {secs:.1f} s  (log {cfg.log_file(name)})")
        else:
            print(f"{name:8s} already answering  {addr}")
    print(f"stack up in {info.total_seconds:.1f} s (state {cfg.state_dir})")
    print("\n".join(info.env_lines))
    return 0


def cmd_down(cfg: StackConfig) -> int:
    before = [n for n in ("kafka", "registry") if cfg.pid_file(n).exists()]
    stop(cfg)
    if not before:
        print(f"nothing to stop (no PID files in {cfg.state_dir})")
    return 0


def cmd_status(cfg: StackConfig) -> int:
    k_ok, r_ok = probe(cfg)
    for name, ok, addr, ports in (
        ("kafka", k_ok, cfg.bootstrap_servers, f"client {cfg.kafka_port}, controller {cfg.controller_port}"),
        ("registry", r_ok, cfg.registry_url, f"http {cfg.registry_port}, management {cfg.registry_mgmt_port}"),
    ):
        pid = running_pid(cfg, name)
        proc = f"PID {pid}" if pid else "not started here"
        print(f"{name:8s} {proc:18s} ports {ports:32s} {'answers' if ok else 'NOT answering'}  {addr}")
    print(f"state {cfg.state_dir}  cache {cfg.cache_dir}")
    return 0 if (k_ok and r_ok) else EXIT_NOT_READY


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="localstack.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "down", "status", "fetch"])
    args = ap.parse_args(argv)
    try:
        cfg = StackConfig.from_env()
        if args.command == "up":
            return cmd_up(cfg)
        if args.command == "down":
            return cmd_down(cfg)
        if args.command == "status":
            return cmd_status(cfg)
        find_kafka_java()
        find_registry_java()
        fetch(cfg)
        print(f"cache complete: {kafka_home(cfg)}, {registry_home(cfg)}")
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
