"""The secured profile for the tests of this folder: one SASL_SSL broker with ACLs, shared by the module.

`secured` reuses a secured broker that already answers (`make up SECURE=1`) or starts one through
stack/localstack.py, beside the session's registry, and stops, by PID, only what it started. Every test
gets its own topic prefix (granted through stack/acls.py, created by the registration principal) and
reaches the registry through an HTTPS front with basic auth (registry_front.py).
"""

from __future__ import annotations

import os
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stack import acls, localstack, secure, tls
from stack.config import SECURE, StackConfig

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))  # the consumers' build fixtures live beside their e2e tests

from registry_front import RegistryFront  # noqa: E402
from test_go_ts_consumers import go_consumer, ts_consumer  # noqa: E402,F401 - build fixtures
from test_java_consumer import java_consumer  # noqa: E402,F401 - build fixture

#: the settings of another environment that must not leak into a test's processes
FOREIGN = ("TXF_", "KAFKA_", "SHIOAJI_", "TICK_", "BIDASK_")


@dataclass
class Secured:
    """The running secured broker, this module's topic prefix and how to reach both as each principal."""

    cfg: StackConfig
    prefix: str
    front: RegistryFront
    registry_auth: str  # "user:password" of the registry front
    registry_auth_file: Path  # the same login in a file (TXF_REGISTRY_BASIC_AUTH_FILE), as a credential
    secrets: dict[str, str] = field(default_factory=dict)  # what must never be printed: name -> value

    @property
    def ca(self) -> str:
        return str(secure.ca_file(self.cfg))

    def env(self, user: str, **extra: str) -> dict[str, str]:
        """A process environment with `user`'s documented settings (its .env file) and the registry front."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
        for line in secure.env_file(self.cfg, user).read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        env.update(
            TXF_REGISTRY_URL=self.front.url,
            TXF_REGISTRY_BASIC_AUTH_FILE=str(self.registry_auth_file),
            TXF_REGISTRY_SSL_CA_LOCATION=self.ca,
            TXF_TOPIC_PREFIX=self.prefix,
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def topics(self, *names: str) -> list[str]:
        return [self.prefix + n for n in names]

    def leaked(self, text: str | bytes) -> list[str]:
        """The names of the secrets that appear in `text`."""
        data = text.encode() if isinstance(text, str) else text
        return [name for name, value in self.secrets.items() if value.encode() in data]


@pytest.fixture(scope="module")
def secured(stack: localstack.StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    cfg = StackConfig.from_env()
    log = lambda m: print(f"[secure] {m}", file=sys.stderr)  # noqa: E731
    try:
        info = localstack.ensure_up(cfg, log=log, secured=True)
    except localstack.StackError as exc:
        pytest.fail(f"the secured profile did not come up: {exc}", pytrace=False)
    print(
        f"[secure] {info.bootstrap_servers} started here: {info.started_kafka} ({info.total_seconds:.1f} s)",
        file=sys.stderr,
    )
    front = None
    try:
        prefix = f"txf-sec{uuid.uuid4().hex[:8]}."
        acls.grant(cfg, prefix)
        certs = tmp_path_factory.mktemp("registry-front")
        ca_key = cfg.secure_dir / "ca.key"
        tls.issue(secure.ca_file(cfg), ca_key, "registry", certs / "chain.pem", certs / "key.pem")
        user, password = "txf-registry-reader", secrets.token_urlsafe(18)
        front = RegistryFront(cfg.registry_base, user, password, certs / "chain.pem", certs / "key.pem")
        login = certs / "registry-login"
        login.touch(mode=0o600)
        login.write_text(f"{user}:{password}\n")
        found = Secured(cfg, prefix, front, f"{user}:{password}", login)
        found.secrets.update({f"SASL password of {p.name}": secure.password(cfg, p.name) for p in secure.PRINCIPALS})
        found.secrets["registry basic-auth password"] = password
        yield found
    finally:
        if front is not None:
            front.close()
        if info.started_kafka:
            localstack.stop(cfg, only={SECURE}, log=log)
