"""txf_kit.refusal: which Kafka error is a refusal (77/78) and which one a retry may still cure."""

from __future__ import annotations

import ssl

from confluent_kafka import KafkaError

from txf_kit import refusal
from txf_producer.settings import Settings


def _settings() -> Settings:
    return Settings(_env_file=None, TXF_REGISTRY_URL="https://registry.example:8081")  # type: ignore[call-arg]


def test_rejected_logins_and_missing_acls_are_refusals() -> None:
    assert refusal.refusal_code(KafkaError(KafkaError._AUTHENTICATION)) == 78
    assert refusal.refusal_code(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED)) == 77
    assert refusal.refusal_code(KafkaError(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)) == 77
    assert refusal.refusal_code(KafkaError(KafkaError._TRANSPORT)) is None


def test_a_sasl_handshake_cut_short_is_no_refusal() -> None:
    """librdkafka says _AUTHENTICATION also when the connection broke in the middle of the SASL handshake (seen
    with a loaded broker): a retry, never exit 78, or a blip would stop a unit for good."""
    for text in (
        "SASL authentication error: SaslAuthenticateRequest failed: Local: Broker transport failure",
        "SASL SCRAM-SHA-512 mechanism handshake failed: Local: Broker transport failure: broker's supported "
        "mechanisms: (n/a)",
        "SASL authentication error: SaslAuthenticateRequest failed: Local: Timed out",
    ):
        assert refusal.refusal_code(KafkaError(KafkaError._AUTHENTICATION, text)) is None, text
    refused = KafkaError(
        KafkaError._AUTHENTICATION,
        "SASL authentication error: Authentication failed during authentication due to invalid credentials "
        "with SASL mechanism SCRAM-SHA-512",
    )
    assert refusal.refusal_code(refused) == 78


def test_only_a_failed_certificate_check_makes_an_ssl_error_a_refusal() -> None:
    """librdkafka says _SSL for an untrusted certificate and for a handshake cut short by a restarting
    broker: the first is a setting to fix (78), the second must stay a retry (no hole after a blip)."""
    untrusted = KafkaError(
        KafkaError._SSL,
        "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate "
        "could not be verified, verify that ssl.ca.location is correctly configured",
    )
    assert refusal.refusal_code(untrusted) == 78
    cut = KafkaError(KafkaError._SSL, "SSL handshake failed: Disconnected: connecting to a PLAINTEXT listener?")
    assert refusal.refusal_code(cut) is None


def test_a_registry_certificate_that_fails_verification_is_a_setting_to_fix() -> None:
    s = _settings()
    try:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate in chain")
        except ssl.SSLError as inner:
            raise ConnectionError("the HTTP client's wrapper of the TLS failure") from inner
    except ConnectionError as exc:
        line = refusal.registry_login_refused(s, exc)
    assert line is not None and "TXF_REGISTRY_SSL_CA_LOCATION" in line and "exit 78" in line
    assert refusal.registry_login_refused(s, ConnectionError("connection refused")) is None
