"""The service's sealing key and certificate: generated once into a folder, or configured.

The seal proves a charter is the version approved in this service; it is not a partner's
legal signature. By default the service makes its own RSA key and a self-signed certificate
on first use (the Flask instance folder in the web app, files readable by the owner only).
A real key and certificate replace them through configuration (``SEAL_KEY_FILE``,
``SEAL_CERT_FILE``, optional ``SEAL_KEY_PASSPHRASE``). RSA, not ECDSA: an ECDSA signature
makes pyHanko raise the PDF header to 2.0, which a PDF/A-3 file must not have.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from assess.signing import SealingFailed

DEFAULT_SUBJECT = "assess charter seal"
KEY_FILE = "seal-key.pem"
CERT_FILE = "seal-cert.pem"
LOCK_FILE = "seal.lock"
KEY_SIZE = 3072
VALID_YEARS = 20


class SealKeyError(SealingFailed):
    """The sealing key or certificate is missing, unreadable or does not match.

    ``setting`` names the configuration setting to correct, when one is to blame.
    """

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class SealKeys:
    """A private key and the certificate that names it, with where they came from."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    key_file: Path
    cert_file: Path

    @property
    def subject(self) -> str:
        """Return the certificate's common name (or its whole subject when it has none)."""
        return certificate_name(self.certificate)

    @property
    def fingerprint(self) -> str:
        """Return the certificate's SHA-256 fingerprint in hex: what a verifier can pin."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def certificate_name(certificate: x509.Certificate) -> str:
    """Return a certificate's common name, or its whole subject when it has none."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else certificate.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode()


def load_or_create(
    folder: str | os.PathLike[str],
    *,
    subject: str = DEFAULT_SUBJECT,
    key_size: int = KEY_SIZE,
    now: datetime | None = None,
) -> SealKeys:
    """Load the service key and certificate from ``folder``, making them on first use.

    A file lock makes concurrent first uses (several web workers) agree on one key. A first
    use cut short (disk full, worker killed) is finished by the next: a key without its
    certificate gets one; a certificate without its key signed nothing and is replaced.
    """
    directory = Path(folder)
    try:
        return _load_or_create(directory, subject, key_size, now)
    except (ValueError, TypeError) as error:  # a generated key file damaged since
        raise SealKeyError(f"seal key in {directory}: not a readable key ({error})") from None


def _load_or_create(directory: Path, subject: str, key_size: int, now: datetime | None) -> SealKeys:
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    with open(directory / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not key_path.exists():
                key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                cert_path.unlink(missing_ok=True)
                _write_private(key_path, pem)
            if not cert_path.exists():
                stored = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                if not isinstance(stored, rsa.RSAPrivateKey):
                    raise SealKeyError(f"{key_path}: the seal key must be an RSA key")
                certificate = self_signed_certificate(stored, subject, now=now)
                _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return load(key_path, cert_path)


def load(
    key_file: str | os.PathLike[str],
    cert_file: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
) -> SealKeys:
    """Load an RSA key and its certificate from PEM files; fail clearly when they do not pair."""
    key_path, cert_path = Path(key_file), Path(cert_file)
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    try:
        key_pem = key_path.read_bytes()
    except OSError as error:
        message = f"seal key {key_path}: {error.strerror or error}"
        raise SealKeyError(message, "SEAL_KEY_FILE") from None
    try:
        # The key file is the service's own configuration, not input: skip the RSA
        # consistency check, which takes a third of a second for a 3072-bit key.
        key = serialization.load_pem_private_key(
            key_pem, password=secret, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as error:
        raise _unreadable_key(key_path, key_pem, secret, error) from None
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except OSError as error:
        message = f"seal certificate {cert_path}: {error.strerror or error}"
        raise SealKeyError(message, "SEAL_CERT_FILE") from None
    except ValueError as error:
        message = f"seal certificate {cert_path}: not a PEM certificate ({error})"
        raise SealKeyError(message, "SEAL_CERT_FILE") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SealKeyError(
            f"seal key {key_path}: an RSA key is required (other key types break PDF/A-3)",
            "SEAL_KEY_FILE",
        )
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or (
        public.public_numbers() != key.public_key().public_numbers()
    ):
        raise SealKeyError(
            f"seal certificate {cert_path} does not belong to the key {key_path}",
            "SEAL_CERT_FILE",
        )
    return SealKeys(key, certificate, key_path, cert_path)


def _unreadable_key(
    path: Path, pem: bytes, passphrase: bytes | None, error: Exception
) -> SealKeyError:
    """Say which setting is wrong: the key file, or the passphrase that opens it."""
    encrypted = b"ENCRYPTED" in pem
    if encrypted and passphrase is None:
        message = f"seal key {path} is encrypted: set its passphrase in SEAL_KEY_PASSPHRASE"
        return SealKeyError(message, "SEAL_KEY_PASSPHRASE")
    if encrypted:
        message = f"SEAL_KEY_PASSPHRASE does not decrypt the seal key {path}"
        return SealKeyError(message, "SEAL_KEY_PASSPHRASE")
    if passphrase is not None and isinstance(error, TypeError):
        message = f"SEAL_KEY_PASSPHRASE is set, but the seal key {path} is not encrypted"
        return SealKeyError(message, "SEAL_KEY_PASSPHRASE")
    message = f"seal key {path}: not a readable PEM private key ({error})"
    return SealKeyError(message, "SEAL_KEY_FILE")


def check_settings(
    config: Mapping[str, Any],
    now: datetime | None = None,
    instance_folder: str | os.PathLike[str] | None = None,
) -> None:
    """Check the configured key and certificate can seal, without making any.

    Run at start, so that a wrong setting stops it rather than the last approval of a
    sign-off. With no key configured, the generated one in the instance folder is checked
    the same way once it exists (its certificate replaced since, say); it is made on first
    use, not here. Raise ``SealKeyError`` naming the setting to correct (none for the
    generated files: the message says what to do).
    """
    key_file, cert_file = config.get("SEAL_KEY_FILE"), config.get("SEAL_CERT_FILE")
    passphrase = config.get("SEAL_KEY_PASSPHRASE") or None
    moment = now or datetime.now(UTC)
    if not (key_file or cert_file):
        if passphrase:
            message = (
                "SEAL_KEY_PASSPHRASE is set, but SEAL_KEY_FILE is not "
                "(the generated key has no passphrase)"
            )
            raise SealKeyError(message, "SEAL_KEY_PASSPHRASE")
        if instance_folder is not None:
            check_generated(seal_folder(instance_folder), moment)
        return
    if not key_file:
        message = "SEAL_KEY_FILE is not set: SEAL_CERT_FILE needs the key it certifies"
        raise SealKeyError(message, "SEAL_KEY_FILE")
    if not cert_file:
        message = "SEAL_CERT_FILE is not set: SEAL_KEY_FILE needs its certificate"
        raise SealKeyError(message, "SEAL_CERT_FILE")
    certificate = load(key_file, cert_file, passphrase).certificate
    check_certificate(certificate, cert_file, moment)


def check_generated(folder: Path, moment: datetime) -> None:
    """Check the generated key and certificate, once both exist, as a configured pair is.

    A key without its certificate is a first use cut short, which the next one finishes.
    """
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if not (key_path.exists() and cert_path.exists()):
        return
    try:
        check_certificate(load(key_path, cert_path).certificate, str(cert_path), moment)
    except SealKeyError as error:
        raise SealKeyError(
            f"{error}: put back the seal files made together, or set SEAL_KEY_FILE and"
            " SEAL_CERT_FILE to a key and its current certificate"
        ) from None


def check_certificate(certificate: x509.Certificate, cert_file: str, moment: datetime) -> None:
    """Refuse a certificate that is not valid at moment or cannot make a seal that verifies."""
    if certificate.not_valid_after_utc < moment:
        message = (
            f"the certificate {cert_file} expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
        )
        raise SealKeyError(message, "SEAL_CERT_FILE")
    if certificate.not_valid_before_utc > moment:
        message = (
            f"the certificate {cert_file} is valid only from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d}"
        )
        raise SealKeyError(message, "SEAL_CERT_FILE")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        commits = usage.content_commitment
    except x509.ExtensionNotFound:
        commits = False
    if not commits:
        # What verification requires of a seal's certificate (pyHanko's default): without
        # it every seal made with this certificate would fail to verify.
        message = (
            f"the certificate {cert_file} does not allow non-repudiation (content commitment) "
            "in its key usage, which a seal's certificate needs"
        )
        raise SealKeyError(message, "SEAL_CERT_FILE")


def from_config(config: Mapping[str, Any], instance_folder: str | os.PathLike[str]) -> SealKeys:
    """Return the configured key (``SEAL_KEY_FILE`` + ``SEAL_CERT_FILE``) or the generated one.

    Without configured files, the key lives in ``<instance_folder>/seal/``; ``SEAL_SUBJECT``
    names the generated certificate.
    """
    key_file, cert_file = config.get("SEAL_KEY_FILE"), config.get("SEAL_CERT_FILE")
    if key_file or cert_file:
        if not (key_file and cert_file):
            setting = "SEAL_CERT_FILE" if key_file else "SEAL_KEY_FILE"
            message = "configure both SEAL_KEY_FILE and SEAL_CERT_FILE, or neither"
            raise SealKeyError(message, setting)
        return load(key_file, cert_file, config.get("SEAL_KEY_PASSPHRASE") or None)
    subject = str(config.get("SEAL_SUBJECT") or DEFAULT_SUBJECT)
    return load_or_create(seal_folder(instance_folder), subject=subject)


def seal_folder(instance_folder: str | os.PathLike[str]) -> Path:
    """Return where the generated key and certificate live when none is configured."""
    return Path(instance_folder) / "seal"


def existing_certificate(
    config: Mapping[str, Any], instance_folder: str | os.PathLike[str]
) -> x509.Certificate | None:
    """Return the seal certificate ``from_config`` would use, or None when none is made yet.

    Reads the certificate only: unlike ``from_config``, it never creates a key. A configured
    certificate that is missing is an error, not "none yet": only the generated one comes
    later.
    """
    cert_file = config.get("SEAL_CERT_FILE")
    path = Path(cert_file) if cert_file else seal_folder(instance_folder) / CERT_FILE
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError as error:
        if not cert_file:
            return None
        raise SealKeyError(f"seal certificate {path}: {error.strerror}", "SEAL_CERT_FILE") from None
    except (OSError, ValueError) as error:
        setting = "SEAL_CERT_FILE" if cert_file else None
        raise SealKeyError(f"seal certificate {path}: {error}", setting) from None


def self_signed_certificate(
    key: rsa.RSAPrivateKey, subject: str = DEFAULT_SUBJECT, *, now: datetime | None = None
) -> x509.Certificate:
    """Make a self-signed certificate fit for document signing with ``key``."""
    start = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(days=1)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "assess"),
        ]
    )
    public = key.public_key()
    serial = (
        int.from_bytes(
            hashlib.sha256(
                public.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ).digest()[:16],
            "big",
        )
        >> 1
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(serial or 1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, whole or not at all, never over one that exists."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # the umask may have narrowed it; never widen beyond owner
        os.link(temporary, path)  # fails if the file appeared meanwhile: it is never replaced
    finally:
        os.unlink(temporary)
