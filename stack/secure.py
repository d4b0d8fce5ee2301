"""The secured profile: one KRaft node that speaks only TLS, authenticates SCRAM-SHA-512, authorizes by ACL.

`localstack.py up --secure` (`make up SECURE=1`) starts it beside the registry, as a shared cluster
would be run for other teams:

- clients: one SASL_SSL listener on TXF_SECURE_KAFKA_PORT (SCRAM-SHA-512 over TLS); brokers use it too,
  as the super user `txf-broker`;
- the KRaft quorum: an SSL listener on TXF_SECURE_CONTROLLER_PORT that demands a client certificate
  signed by the stack's CA (mutual TLS): only the broker holds one. KRaft controllers cannot check SCRAM
  (their credentials live in the metadata they serve), and a plain controller port would be a door
  around every ACL;
- `StandardAuthorizer` with `allow.everyone.if.no.acl.found=false`: a principal may do only what an ACL
  grants it (stack/acls.py derives them from the topic map).

Secrets: a CA and the broker's key (stack/tls.py), and one random password per principal, all under
`<state>/secure/` (0700, files 0600), made afresh with every fresh start and deleted by `down`. SCRAM
users are created while the storage is formatted (`kafka-storage format --add-scram`), from an argument
file rather than the command line (kafka_node.format_storage). Each principal gets a settings file,
`<state>/secure/<principal>.env`, in the variables the producer, the consumers and txf-registry read
(the password by file: TXF_KAFKA_SASL_PASSWORD_FILE).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from stack import procs, tls
from stack.config import HOST, SECURE, Log, StackConfig, StackError
from stack.kafka_node import (
    KAFKA_JVM_OPTS,
    KafkaNode,
    format_storage,
    launch,
    new_cluster_id,
    server_properties,
    wait_formatted,
)
from stack.probes import broker_listed

MECHANISM = "SCRAM-SHA-512"
BROKER_USER = "txf-broker"  # the broker's own principal: inter-broker traffic, a super user
BROKER_CN = "txf-broker"  # the subject of the broker's certificate: its principal on the controller port


@dataclasses.dataclass(frozen=True)
class Principal:
    """A SCRAM user of the secured profile and the role its ACLs come from (stack/acls.py)."""

    name: str
    role: str  # "broker", "registrar", "producer", "arbiter", "archiver", "consumer"


#: Who exists on the secured profile. Consumers may use only consumer groups whose names start with
#: their own name (e.g. `reader-a`, `reader-a.strategy-1`).
PRINCIPALS = (
    Principal(BROKER_USER, "broker"),
    Principal("txf-registrar", "registrar"),
    Principal("txf-producer", "producer"),
    Principal("txf-arbiter", "arbiter"),
    Principal("txf-archiver", "archiver"),
    Principal("reader-a", "consumer"),
    Principal("reader-b", "consumer"),
)


def principal(role: str) -> Principal:
    """The first principal of `role`."""
    return next(p for p in PRINCIPALS if p.role == role)


def node(cfg: StackConfig) -> KafkaNode:
    """The secured profile's node: its own quorum of one, on the secured ports."""
    return KafkaNode(
        SECURE,
        1,
        cfg.secure_kafka_port,
        cfg.secure_controller_port,
        ((1, cfg.secure_controller_port),),
        tuple(KAFKA_JVM_OPTS),
    )


def bootstrap(cfg: StackConfig) -> str:
    return f"{HOST}:{cfg.secure_kafka_port}"


def ca_file(cfg: StackConfig) -> Path:
    """The CA certificate every client trusts (TXF_KAFKA_SSL_CA_LOCATION)."""
    return cfg.secure_dir / "ca.pem"


def _ca_key(cfg: StackConfig) -> Path:
    return cfg.secure_dir / "ca.key"


def _broker_pem(cfg: StackConfig) -> Path:
    return cfg.secure_dir / "broker.pem"


def password_file(cfg: StackConfig, user: str) -> Path:
    return cfg.secure_dir / f"{user}.password"


def env_file(cfg: StackConfig, user: str) -> Path:
    return cfg.secure_dir / f"{user}.env"


def password(cfg: StackConfig, user: str) -> str:
    return password_file(cfg, user).read_text().strip()


def client_env(cfg: StackConfig, user: str) -> dict[str, str]:
    """The settings a client of `user` needs, as the TXF_* variables every tool and consumer reads."""
    return {
        "TXF_KAFKA_BOOTSTRAP": bootstrap(cfg),
        "TXF_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "TXF_KAFKA_SASL_MECHANISM": MECHANISM,
        "TXF_KAFKA_SASL_USERNAME": user,
        "TXF_KAFKA_SASL_PASSWORD_FILE": str(password_file(cfg, user)),
        "TXF_KAFKA_SSL_CA_LOCATION": str(ca_file(cfg)),
    }


#: librdkafka's name of each client setting (the password is read from its file instead)
_LIBRDKAFKA = {
    "TXF_KAFKA_BOOTSTRAP": "bootstrap.servers",
    "TXF_KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "TXF_KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "TXF_KAFKA_SASL_USERNAME": "sasl.username",
    "TXF_KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
}


def client_config(cfg: StackConfig, user: str) -> dict[str, Any]:
    """librdkafka properties of a client that authenticates as `user` (probes, ACL set-up, tests)."""
    conf: dict[str, Any] = {_LIBRDKAFKA[k]: v for k, v in client_env(cfg, user).items() if k in _LIBRDKAFKA}
    conf["sasl.password"] = password(cfg, user)
    return conf


def _jaas(user: str, secret: str) -> str:
    return f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{secret}";'


def listeners(cfg: StackConfig) -> str:
    """The listener and security lines of the secured node's server.properties."""
    n = node(cfg)
    return f"""\
listeners=CLIENT://{HOST}:{n.port},CONTROLLER://{HOST}:{n.controller_port}
advertised.listeners=CLIENT://{HOST}:{n.port},CONTROLLER://{HOST}:{n.controller_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SSL
sasl.enabled.mechanisms={MECHANISM}
sasl.mechanism.inter.broker.protocol={MECHANISM}
listener.name.client.scram-sha-512.sasl.jaas.config={_jaas(BROKER_USER, password(cfg, BROKER_USER))}
ssl.keystore.type=PEM
ssl.keystore.location={_broker_pem(cfg)}
ssl.truststore.type=PEM
ssl.truststore.location={ca_file(cfg)}
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:{BROKER_USER};User:CN={BROKER_CN}
"""


def make_secrets(cfg: StackConfig) -> None:
    """A fresh CA, broker certificate, password and settings file per principal, in a 0700 directory."""
    shutil.rmtree(cfg.secure_dir, ignore_errors=True)
    cfg.secure_dir.mkdir(mode=0o700, parents=True)
    tls.make_ca(ca_file(cfg), _ca_key(cfg))
    tls.issue(ca_file(cfg), _ca_key(cfg), BROKER_CN, _broker_pem(cfg))
    for p in PRINCIPALS:
        tls.write_private(password_file(cfg, p.name), secrets.token_urlsafe(24).encode())
        lines = "".join(f"{k}={v}\n" for k, v in client_env(cfg, p.name).items())
        tls.write_private(env_file(cfg, p.name), lines.encode())


def ready(cfg: StackConfig, timeout: float = 3.0) -> bool:
    """The secured broker answers an authenticated metadata request and lists itself."""
    if not password_file(cfg, BROKER_USER).is_file():
        return False
    return broker_listed(cfg.secure_kafka_port, timeout, client_config(cfg, BROKER_USER))


def start(cfg: StackConfig, java: str, log: Log) -> int:
    """Make the secrets, format the node with every SCRAM user, start it; returns its PID (not yet ready)."""
    make_secrets(cfg)
    n = node(cfg)
    tls.write_private(cfg.log_file(SECURE), b"")  # the format tool prints the users' SCRAM verifiers
    scram = [
        arg
        for p in PRINCIPALS
        for arg in ("--add-scram", f"{MECHANISM}=[name={p.name},password={password(cfg, p.name)}]")
    ]
    proc = format_storage(
        cfg, n, new_cluster_id(), java, properties=server_properties(cfg, n, listeners(cfg)), secret_args=scram
    )
    wait_formatted(cfg, n, proc)
    return launch(cfg, n, java)


def wait_ready(cfg: StackConfig, pid: int, t0: float) -> float:
    """Until the secured broker answers (or dies, or the deadline); returns the seconds since `t0`."""
    deadline = t0 + cfg.timeout
    while not ready(cfg, timeout=2.0):
        if not procs.alive(pid):
            raise StackError(
                f"{SECURE} exited during start-up; see {cfg.log_file(SECURE)}:\n{procs.tail(cfg.log_file(SECURE))}"
            )
        if time.monotonic() > deadline:
            raise StackError(
                f"{SECURE} did not answer within {cfg.timeout:.0f} s (TXF_STACK_TIMEOUT); see {cfg.log_file(SECURE)}"
            )
        time.sleep(0.25)
    return time.monotonic() - t0


def stop(cfg: StackConfig, log: Log) -> None:
    """Stop the secured broker by PID; delete its data and every secret of the profile."""
    procs.stop_process(cfg, SECURE, log)
    if procs.running_pid(cfg, SECURE) is None:
        shutil.rmtree(cfg.data_dir(SECURE), ignore_errors=True)
        shutil.rmtree(cfg.secure_dir, ignore_errors=True)
        cfg.properties_file(SECURE).unlink(missing_ok=True)


def env_lines(cfg: StackConfig, user: str) -> list[str]:
    """What `up --secure` prints: where each principal's settings are, and how to use them."""
    return [f"{k}={v}" for k, v in client_env(cfg, user).items()]


def owner_only(path: Path) -> bool:
    """The file or directory is readable by its owner alone (no group or other bits)."""
    return (os.stat(path).st_mode & 0o077) == 0
