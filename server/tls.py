"""TLS for the server, a self-signed certificate made once, and client-side pinning.

Pinning, in short: with ``--tls-self-signed`` the server generates an EC P-256 key and
a certificate in ``<data_dir>/tls/`` on first start, reuses them afterwards, and prints
the certificate's SHA-256 fingerprint (of its DER bytes, the same value as
``openssl x509 -noout -fingerprint -sha256``). The operator hands that fingerprint to
users out of band. A client then connects with :func:`client_context_pinned` (which
skips CA validation, since no CA vouches for a self-signed certificate) and, right
after the handshake and before sending a single byte, calls :func:`verify_pinned`; a
different certificate means someone is in the middle, and the client must close the
connection. Fingerprints compare case- and colon-insensitively, in constant time.
Deleting the two files makes the server generate a new certificate (and fingerprint).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .protection_errors import PinMismatch

__all__ = [
    "SELF_SIGNED_CERT",
    "SELF_SIGNED_KEY",
    "client_context_pinned",
    "ensure_self_signed",
    "fingerprint_of_der",
    "fingerprint_of_pem",
    "format_fingerprint",
    "load_server_context",
    "normalize_fingerprint",
    "verify_pinned",
]

SELF_SIGNED_CERT = "tls/selfsigned-cert.pem"
SELF_SIGNED_KEY = "tls/selfsigned-key.pem"
_VALID_DAYS = 3650


def load_server_context(
    cert: str | os.PathLike[str], key: str | os.PathLike[str]
) -> ssl.SSLContext:
    """A server-side context (TLS 1.2+) from PEM certificate (chain) and key files."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.fspath(cert), os.fspath(key))
    return ctx


def ensure_self_signed(
    data_dir: str | os.PathLike[str],
    hostnames: Sequence[str] = ("localhost", "127.0.0.1", "::1"),
) -> tuple[Path, Path, str]:
    """Return ``(cert_path, key_path, sha256_hex)``, generating the pair on first use.

    *hostnames* become subjectAltName entries (IP addresses as IP entries). An existing
    pair is reused unchanged. The key file is created with mode 0600.
    """
    base = Path(data_dir)
    cert_path, key_path = base / SELF_SIGNED_CERT, base / SELF_SIGNED_KEY
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path, fingerprint_of_pem(cert_path)
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0] if hostnames else "justirc")]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))


def fingerprint_of_der(der: bytes) -> str:
    """Lower-case hex SHA-256 of a DER certificate."""
    return hashlib.sha256(der).hexdigest()


def fingerprint_of_pem(path: str | os.PathLike[str]) -> str:
    """Lower-case hex SHA-256 of the (first) certificate in a PEM file."""
    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    return fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))


def normalize_fingerprint(fingerprint: str) -> str:
    """Lower-case hex without colons or spaces; ValueError unless it is 64 hex digits."""
    clean = "".join(fingerprint.split()).replace(":", "").lower()
    if len(clean) != 64 or any(c not in "0123456789abcdef" for c in clean):
        raise ValueError("a certificate fingerprint is 64 hex digits (SHA-256), colons optional")
    return clean


def format_fingerprint(fingerprint: str) -> str:
    """``AB:CD:...`` form for people (what ``openssl x509 -fingerprint`` prints)."""
    clean = normalize_fingerprint(fingerprint).upper()
    return ":".join(clean[i : i + 2] for i in range(0, 64, 2))


def client_context_pinned(fingerprint: str) -> ssl.SSLContext:
    """A client context for a server identified by its certificate fingerprint.

    CA and hostname checks are off because pinning replaces them; the caller MUST call
    :func:`verify_pinned` after the handshake and before sending anything.
    *fingerprint* is validated here so a typo fails before connecting.
    """
    normalize_fingerprint(fingerprint)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def verify_pinned(ssl_object: ssl.SSLObject | ssl.SSLSocket, fingerprint: str) -> None:
    """Raise :class:`PinMismatch` unless the peer certificate has *fingerprint*."""
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        raise PinMismatch("the server presented no TLS certificate")
    actual = fingerprint_of_der(der)
    if not hmac.compare_digest(actual, normalize_fingerprint(fingerprint)):
        raise PinMismatch(
            f"the server's certificate fingerprint is {format_fingerprint(actual)}, "
            "not the pinned one: refusing to talk (someone may be intercepting)"
        )
