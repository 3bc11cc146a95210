"""The service's seal key: generated once, kept private, reused, replaceable by configuration."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from assess.signing.keys import (
    CERT_FILE,
    KEY_FILE,
    SealKeyError,
    from_config,
    load,
    load_or_create,
    self_signed_certificate,
)

SMALL = 2048  # tests that only need *a* key use a smaller one: generation is the slow part


def write_pair(
    folder: Path, subject: str, passphrase: bytes | None = None
) -> tuple[Path, Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=SMALL)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    key_path, cert_path = folder / "real-key.pem", folder / "real-cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    cert_path.write_bytes(
        self_signed_certificate(key, subject).public_bytes(serialization.Encoding.PEM)
    )
    return key_path, cert_path, key


def test_the_key_is_generated_once_with_private_files_and_then_reused(tmp_path: Path) -> None:
    folder = tmp_path / "instance" / "seal"
    first = load_or_create(folder)
    key_file, cert_file = folder / KEY_FILE, folder / CERT_FILE
    assert first.key_file == key_file and first.cert_file == cert_file
    assert first.private_key.key_size == 3072
    assert first.subject == "assess charter seal"
    for path in (key_file, cert_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = (key_file.read_bytes(), key_file.stat().st_mtime_ns)
    again = load_or_create(folder)
    assert again.fingerprint == first.fingerprint
    assert (key_file.read_bytes(), key_file.stat().st_mtime_ns) == written


def test_the_generated_certificate_names_the_configured_subject(tmp_path: Path) -> None:
    keys = from_config({"SEAL_SUBJECT": "Studio North charter seal"}, tmp_path)
    assert keys.subject == "Studio North charter seal"
    assert keys.key_file == tmp_path / "seal" / KEY_FILE
    now = datetime.now(UTC)
    assert keys.certificate.not_valid_before_utc < now < keys.certificate.not_valid_after_utc


def test_a_configured_key_and_certificate_replace_the_generated_ones(tmp_path: Path) -> None:
    key_path, cert_path, key = write_pair(tmp_path, "Studio Legal Seal", b"s3cret")
    config = {
        "SEAL_KEY_FILE": str(key_path),
        "SEAL_CERT_FILE": str(cert_path),
        "SEAL_KEY_PASSPHRASE": "s3cret",
    }
    instance = tmp_path / "instance"
    keys = from_config(config, instance)
    assert keys.subject == "Studio Legal Seal"
    assert keys.private_key.public_key().public_numbers() == key.public_key().public_numbers()
    assert not (instance / "seal").exists()  # nothing generated beside a configured key


def test_a_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    key_path, cert_path, _ = write_pair(tmp_path, "Studio Legal Seal", b"s3cret")
    with pytest.raises(SealKeyError, match="SEAL_KEY_PASSPHRASE does not decrypt") as raised:
        load(key_path, cert_path, "wrong")
    assert raised.value.setting == "SEAL_KEY_PASSPHRASE"


def test_a_certificate_for_another_key_is_refused(tmp_path: Path) -> None:
    key_path, _, _ = write_pair(tmp_path, "one")
    other = tmp_path / "other"
    other.mkdir()
    _, other_cert, _ = write_pair(other, "two")
    with pytest.raises(SealKeyError, match="does not belong to the key"):
        load(key_path, other_cert)


def test_half_a_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SealKeyError, match="both SEAL_KEY_FILE and SEAL_CERT_FILE"):
        from_config({"SEAL_KEY_FILE": str(tmp_path / "key.pem")}, tmp_path)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(SealKeyError, match="key.pem"):
        load(tmp_path / "key.pem", tmp_path / "cert.pem")


def test_a_key_that_is_not_rsa_is_refused(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ecdsa")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(SealKeyError, match="RSA key is required"):
        load(key_path, cert_path)


def test_concurrent_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    """Several web workers starting at once must not each write a different key."""
    from concurrent.futures import ThreadPoolExecutor

    folder = tmp_path / "seal"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: load_or_create(folder, key_size=SMALL), range(4)))
    assert len({keys.fingerprint for keys in results}) == 1
    assert load(folder / KEY_FILE, folder / CERT_FILE).fingerprint == results[0].fingerprint
