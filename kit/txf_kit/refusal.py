"""Kafka's refusals of a client, as the exit codes a service manager acts on.

A broker that rejects the login (wrong SCRAM password, unknown user) or an ACL that does not allow
what a service does will refuse it again after any restart: restarting only hammers the broker (and
its authentication log). So every long-running program of the project (the producer, the arbiter,
the archiver, the bar builder and the Python consumer) ends with the codes systemd's
`RestartPreventExitStatus=77 78` leaves stopped:

- 78 (EX_CONFIG): the credentials were rejected, a setting must change;
- 77 (EX_NOPERM): the principal lacks an ACL (write a topic, read a topic, use a group, a
  transactional id); an operator must grant it or run the service as the right principal.

One table here, so the programs cannot disagree on which Kafka error is which. Light: it needs only
the Kafka client (the lean consumer uses it without the services' settings or registry client).
"""

from __future__ import annotations

import ssl
from typing import Protocol

from confluent_kafka import KafkaError

EXIT_FATAL, EXIT_NOT_AUTHORIZED, EXIT_CONFIG = 1, 77, 78


class Connection(Protocol):
    """Where and as whom a program connects (a service's settings): what a refusal's line names."""

    @property
    def kafka_bootstrap(self) -> str: ...
    @property
    def kafka_security_protocol(self) -> str: ...
    @property
    def kafka_sasl_mechanism(self) -> str | None: ...
    @property
    def kafka_sasl_username(self) -> str | None: ...
    @property
    def registry_url(self) -> str: ...


#: Kafka errors that mean "this principal may not": an ACL is missing (restarting cannot help)
AUTHORIZATION_ERRORS = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    }
)
#: Kafka errors that mean "these credentials were rejected"
AUTHENTICATION_ERRORS = frozenset({KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED})
#: librdkafka's words when a SASL handshake it reports as _AUTHENTICATION was cut short, not refused
#: ("SaslAuthenticateRequest failed: Local: Broker transport failure", seen under load): retried like any
#: connection failure, so a blip can never stop a unit for good
HANDSHAKE_CUT_SHORT = ("Local: Broker transport failure", "Local: Timed out")
#: librdkafka's words when the broker's certificate is not one ssl.ca.location trusts; it reports that
#: as _SSL, which also covers handshakes cut short (a broker restarting): those stay retried
UNTRUSTED_CERTIFICATE = ("certificate verify failed", "could not be verified")


def refusal_code(err: KafkaError) -> int | None:
    """78 for rejected credentials, 77 for a missing ACL, None for anything a retry or restart may cure."""
    code = err.code()
    if code in AUTHENTICATION_ERRORS and not any(words in err.str() for words in HANDSHAKE_CUT_SHORT):
        return EXIT_CONFIG
    if code == KafkaError._SSL and any(words in err.str().lower() for words in UNTRUSTED_CERTIFICATE):
        return EXIT_CONFIG
    if code in AUTHORIZATION_ERRORS:
        return EXIT_NOT_AUTHORIZED
    return None


def principal(settings: Connection) -> str:
    """Who this client is to the broker, without any secret."""
    if settings.kafka_sasl_username:
        return (
            f"User:{settings.kafka_sasl_username} ({settings.kafka_sasl_mechanism} over "
            f"{settings.kafka_security_protocol})"
        )
    return f"this client ({settings.kafka_security_protocol})"


def rejected_login(settings: Connection, detail: str) -> str:
    """The one line for exit 78."""
    return (
        f"Kafka at {settings.kafka_bootstrap} rejected the login of {principal(settings)}: {detail}. "
        "Fix TXF_KAFKA_SASL_USERNAME / TXF_KAFKA_SASL_PASSWORD(_FILE) (or TXF_KAFKA_SSL_CA_LOCATION if the "
        "broker's certificate is not trusted); not retrying (exit 78), a restart would only repeat the refused login"
    )


def not_authorized(settings: Connection, detail: str, needs: str, consequence: str = "") -> str:
    """The one line for exit 77; `needs` says which grant the service runs on (e.g. "WRITE on the txf
    topics"), `consequence` what happened to the records it held."""
    return (
        f"Kafka at {settings.kafka_bootstrap} does not authorize {principal(settings)}: {detail}. "
        f"Run it as the principal granted {needs} (ACLs), or have them granted"
        + (f"; {consequence}" if consequence else "")
        + " (exit 77)"
    )


def describe(settings: Connection, err: KafkaError, needs: str, consequence: str = "") -> tuple[int, str] | None:
    """(exit code, the one line) when `err` is a refusal, else None."""
    code = refusal_code(err)
    if code == EXIT_CONFIG:
        return code, rejected_login(settings, err.str())
    if code == EXIT_NOT_AUTHORIZED:
        return code, not_authorized(settings, err.str(), needs, consequence)
    return None


def registry_login_refused(settings: Connection, exc: BaseException) -> str | None:
    """The one line for exit 78 when the schema registry refuses our credentials (HTTP 401/403) or its
    TLS certificate is not one we trust, else None: a setting to fix, not an outage to wait out."""
    status = getattr(exc, "http_status_code", None)  # confluent-kafka's SchemaRegistryError
    if status in (401, 403):
        return (
            f"the schema registry at {settings.registry_url} refused our login (HTTP {status}): "
            "fix TXF_REGISTRY_BASIC_AUTH (user:password) or TXF_REGISTRY_BASIC_AUTH_FILE; not retrying (exit 78)"
        )
    if _untrusted_certificate(exc):
        return (
            f"the schema registry at {settings.registry_url}: its TLS certificate is not trusted: "
            "fix TXF_REGISTRY_SSL_CA_LOCATION (the CA that signed it); not retrying (exit 78)"
        )
    return None


def _untrusted_certificate(exc: BaseException) -> bool:
    """Whether a failed certificate check is somewhere in the chain (the HTTP client wraps it twice)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def without_settings(err: KafkaError) -> tuple[int, str] | None:
    """`describe` for code that holds no settings (a library's default): the code and the broker's words."""
    code = refusal_code(err)
    return (code, f"Kafka refused this client: {err.str()} (exit {code})") if code is not None else None
