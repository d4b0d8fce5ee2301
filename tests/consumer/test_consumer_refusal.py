"""txf_consumer's reading of librdkafka's errors: a refusal (77/78) stops the consumer, anything a retry may
cure (a SASL or TLS handshake cut short by a loaded or restarting broker) must not."""

from __future__ import annotations

from confluent_kafka import KafkaError

from txf_consumer.consumer import EXIT_CONFIG, EXIT_NOT_AUTHORIZED, refusal_code


def test_refusals() -> None:
    rejected = "SASL authentication error: Authentication failed during authentication due to invalid credentials"
    assert refusal_code(KafkaError(KafkaError._AUTHENTICATION, rejected)) == EXIT_CONFIG
    untrusted = "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"
    assert refusal_code(KafkaError(KafkaError._SSL, untrusted)) == EXIT_CONFIG
    assert refusal_code(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED)) == EXIT_NOT_AUTHORIZED
    assert refusal_code(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)) == EXIT_NOT_AUTHORIZED


def test_handshakes_cut_short_are_retried() -> None:
    for code, text in (
        (KafkaError._AUTHENTICATION, "SASL authentication error: SaslAuthenticateRequest failed: Local: Broker "
         "transport failure"),
        (KafkaError._AUTHENTICATION, "SASL SCRAM-SHA-512 mechanism handshake failed: Local: Broker transport "
         "failure: broker's supported mechanisms: (n/a)"),
        (KafkaError._SSL, "SSL handshake failed: Disconnected: connecting to a PLAINTEXT listener?"),
        (KafkaError._TRANSPORT, "Connection refused"),
    ):  # fmt: skip
        assert refusal_code(KafkaError(code, text)) is None, text
