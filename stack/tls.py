"""TLS material of the secured profile: a throwaway CA and the certificates it signs, as PEM files.

Made by the project for the local stack only (never committed: they live in the state directory,
which is gitignored, and `down` deletes them). Python's `cryptography` (already a dependency of
confluent-kafka's registry client) writes them in milliseconds; keytool would start a JVM per step.
Every file holding a private key is created 0600 before anything is written to it.

Keys are EC P-256: every client here speaks it (librdkafka/OpenSSL, Node's tls, the JDK's PEM
key store of Kafka, Go through librdkafka). Leaf certificates name 127.0.0.1 and localhost as
subject alternative names, so hostname verification stays on everywhere.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 30  # a local stack is formatted afresh on every `up`; a month outlives any of them


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a file only its owner can read (created 0600, never world-readable for a moment)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8, unencrypted: the form Kafka's PEM key store, OpenSSL and Node all read (the file is 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(ca_cert: Path, ca_key: Path, common_name: str = "txfstream local stack CA") -> None:
    """A self-signed CA: its certificate (public, what clients trust) and its key (0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(ca_key, _key_pem(key))
    ca_cert.write_bytes(_cert_pem(cert))


def issue(ca_cert: Path, ca_key: Path, common_name: str, out: Path, key_out: Path | None = None) -> None:
    """A leaf certificate for `common_name` on 127.0.0.1/localhost, signed by the CA, usable by a server
    and as a client certificate (mutual TLS). Written as one 0600 PEM file, key then certificate then
    CA (what Kafka's PEM key store reads), or, with `key_out`, the key there and the chain in `out`
    (what an HTTPS server's `load_cert_chain` reads)."""
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )
    chain = _cert_pem(cert) + _cert_pem(ca)
    if key_out is None:
        write_private(out, _key_pem(key) + chain)
    else:
        write_private(key_out, _key_pem(key))
        out.write_bytes(chain)
