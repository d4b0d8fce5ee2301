"""What the stack runs and where it comes from: pinned versions (stack/pom.xml), JDKs, downloads.

Kafka's jars and the Apicurio bundle are fetched from Maven Central through `mvn` into a cache
outside the repository, keyed by version and completed by a marker file, so an interrupted
download is redone and a bumped version is fetched on the next `up`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from stack.config import POM, Log, StackConfig, StackError

MARKER = ".txf-complete"
MIN_KAFKA_JAVA = 17
MIN_REGISTRY_JAVA = 21


def versions() -> dict[str, str]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(POM).getroot().find("m:properties", ns)
    if props is None:
        raise StackError(f"{POM} has no <properties>")
    out: dict[str, str] = {}
    for key in ("kafka.version", "apicurio.version", "dependency.plugin.version"):
        el = props.find(f"m:{key}", ns)
        text = (el.text or "").strip() if el is not None else ""
        if not text:
            raise StackError(f"{POM} lacks <{key}>")
        out[key] = text
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
    candidates: list[str] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
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
    homes: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    for root in (Path("/usr/lib/jvm"), Path("/Library/Java/JavaVirtualMachines")):
        if root.is_dir():
            for d in sorted(root.iterdir()):
                homes.append(d / "Contents" / "Home" if (d / "Contents" / "Home").is_dir() else d)
    found: list[tuple[int, str]] = []
    seen = set()
    for home in homes:
        binary = home / "bin" / "java"
        if binary.is_file() and binary.resolve() not in seen:
            seen.add(binary.resolve())
            major = java_major(str(binary))
            if major:
                found.append((major, str(binary)))
    on_path = shutil.which("java")
    if on_path:
        major = java_major(on_path)
        if major:
            found.append((major, on_path))
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
