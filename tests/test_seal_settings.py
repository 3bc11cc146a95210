"""The seal's key settings: a value that cannot work stops the start, naming the setting;
a seal that fails later (a key file gone) loses no approval and answers clearly."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from signofftools import (
    approve,
    engagement_with_decision,
    freeze,
    send,
)
from test_signing_keys import write_pair
from test_verify_page import upload
from webtools import signed_in_consultant

from assess import create_app
from assess.config import ConfigurationError
from assess.extensions import db
from assess.models import Signatory, SignOff, SignOffEvent
from assess.signing.keys import load_or_create, self_signed_certificate


def start(**settings: Any) -> Flask:
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", **settings})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Key and certificate files, right and wrong in each of the ways a deployment can be."""
    folder = tmp_path_factory.mktemp("seal-settings")
    key, cert, private_key = write_pair(folder, "Studio North charter seal")
    encrypted = folder / "encrypted"
    encrypted.mkdir()
    locked_key, locked_cert, _ = write_pair(encrypted, "Studio North", passphrase=b"s3cret")
    other = folder / "other"
    other.mkdir()
    _, other_cert, _ = write_pair(other, "Someone else")
    expired = folder / "expired-cert.pem"
    old = self_signed_certificate(private_key, "Expired", now=datetime(2000, 1, 1, tzinfo=UTC))
    expired.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    unfit = folder / "unfit-cert.pem"
    unfit.write_bytes(
        signing_only_certificate(private_key).public_bytes(serialization.Encoding.PEM)
    )
    return {
        "key": key,
        "cert": cert,
        "locked_key": locked_key,
        "locked_cert": locked_cert,
        "other_cert": other_cert,
        "expired_cert": expired,
        "unfit_cert": unfit,
        "folder": folder,
    }


def signing_only_certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A certificate whose key usage lacks non-repudiation, which verification requires."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unfit seal")])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )


WRONG = [
    (
        {"SEAL_KEY_FILE": "/nonexistent/seal-key.pem", "SEAL_CERT_FILE": "/nonexistent/cert.pem"},
        "^SEAL_KEY_FILE: seal key /nonexistent/seal-key.pem: No such file or directory$",
    ),
    (
        {"SEAL_KEY_FILE": "key", "SEAL_CERT_FILE": "/nonexistent/cert.pem"},
        "^SEAL_CERT_FILE: .*No such",
    ),
    ({"SEAL_KEY_FILE": "folder", "SEAL_CERT_FILE": "cert"}, "^SEAL_KEY_FILE: .*Is a directory"),
    ({"SEAL_KEY_FILE": "key"}, "^SEAL_CERT_FILE is not set: SEAL_KEY_FILE needs its certificate"),
    ({"SEAL_CERT_FILE": "cert"}, "^SEAL_KEY_FILE is not set: SEAL_CERT_FILE needs the key"),
    ({"SEAL_KEY_FILE": "cert", "SEAL_CERT_FILE": "cert"}, "^SEAL_KEY_FILE: .*not a readable PEM"),
    ({"SEAL_KEY_FILE": "key", "SEAL_CERT_FILE": "key"}, "^SEAL_CERT_FILE: .*not a PEM certificate"),
    (
        {"SEAL_KEY_FILE": "key", "SEAL_CERT_FILE": "other_cert"},
        "^SEAL_CERT_FILE: seal certificate .*/other/real-cert.pem does not belong to the key",
    ),
    (
        {"SEAL_KEY_FILE": "locked_key", "SEAL_CERT_FILE": "locked_cert"},
        "^SEAL_KEY_PASSPHRASE: seal key .* is encrypted: set its passphrase",
    ),
    (
        {
            "SEAL_KEY_FILE": "locked_key",
            "SEAL_CERT_FILE": "locked_cert",
            "SEAL_KEY_PASSPHRASE": "wrong",
        },
        "^SEAL_KEY_PASSPHRASE does not decrypt the seal key",
    ),
    (
        {"SEAL_KEY_FILE": "key", "SEAL_CERT_FILE": "cert", "SEAL_KEY_PASSPHRASE": "s3cret"},
        "^SEAL_KEY_PASSPHRASE is set, but the seal key .* is not encrypted",
    ),
    ({"SEAL_KEY_PASSPHRASE": "s3cret"}, "^SEAL_KEY_PASSPHRASE is set, but SEAL_KEY_FILE is not"),
    (
        {"SEAL_KEY_FILE": "key", "SEAL_CERT_FILE": "expired_cert"},
        "^SEAL_CERT_FILE: the certificate .* expired on 2019-",
    ),
    (
        {"SEAL_KEY_FILE": "key", "SEAL_CERT_FILE": "unfit_cert"},
        "^SEAL_CERT_FILE: the certificate .* does not allow non-repudiation",
    ),
]


def resolved(settings: dict[str, str], files: dict[str, Path]) -> dict[str, str]:
    return {name: str(files.get(value, value)) for name, value in settings.items()}


@pytest.mark.parametrize(("settings", "message"), WRONG)
def test_seal_key_settings_that_cannot_work_stop_the_start(
    files: dict[str, Path], settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        start(**resolved(settings, files))


def test_the_environment_is_checked_as_make_serve_reads_it(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEAL_KEY_FILE", "/x/seal-key.pem")
    monkeypatch.setenv("SEAL_CERT_FILE", "/x/seal-cert.pem")
    with pytest.raises(ConfigurationError, match="^SEAL_KEY_FILE: seal key /x/seal-key.pem"):
        create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    monkeypatch.delenv("SEAL_CERT_FILE")
    with pytest.raises(ConfigurationError, match="^SEAL_CERT_FILE is not set"):
        create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


def test_settings_that_work_start_and_no_setting_generates_nothing_at_start(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    start(SEAL_KEY_FILE=str(files["key"]), SEAL_CERT_FILE=str(files["cert"]))
    start(
        SEAL_KEY_FILE=str(files["locked_key"]),
        SEAL_CERT_FILE=str(files["locked_cert"]),
        SEAL_KEY_PASSPHRASE="s3cret",
    )
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "inst"))
    app = start()
    assert app.instance_path == str(tmp_path / "inst")
    assert not (tmp_path / "inst" / "seal").exists()  # the key is made on first use only


# --- a key that goes missing after the start ---------------------------------------------


@pytest.fixture
def own_key_files(app: Flask, tmp_path: Path) -> dict[str, Path]:
    """A seal key for this test alone, configured for the app as a deployment's own."""
    keys = load_or_create(tmp_path / "seal", key_size=2048)
    app.config.update(SEAL_KEY_FILE=str(keys.key_file), SEAL_CERT_FILE=str(keys.cert_file))
    return {"SEAL_KEY_FILE": keys.key_file, "SEAL_CERT_FILE": keys.cert_file}


@pytest.mark.db
def test_a_seal_key_gone_at_the_last_approval_keeps_nothing_and_says_so(
    app: Flask, own_key_files: dict[str, Path]
) -> None:
    consultant = signed_in_consultant(app)
    version_path = freeze(consultant, engagement_with_decision(app, consultant))
    links = send(consultant, version_path)
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303
    key = own_key_files["SEAL_KEY_FILE"]
    kept = key.read_bytes()
    key.unlink()  # deleted by mistake, or a volume not mounted in this worker

    refused = approve(app.test_client(), links["Bo Chen"], "Bo Chen")
    assert refused.status_code == 503  # type: ignore[attr-defined]
    assert refused.headers["Retry-After"] == "300"  # type: ignore[attr-defined]
    text = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Your approval was not recorded" in text and "approve again later" in text
    assert "Traceback" not in text and "SealKeyError" not in text
    with app.app_context():
        bo = db.session.query(Signatory).filter_by(name="Bo Chen").one()
        sign_off = db.session.query(SignOff).one()
        assert bo.action is None and bo.acted_at is None
        assert sign_off.status == "pending" and sign_off.sealed_pdf is None
        actions = [e.action for e in db.session.query(SignOffEvent).order_by(SignOffEvent.id)]
        assert actions.count("approved") == 1 and "sealed" not in actions

    key.write_bytes(kept)
    assert approve(app.test_client(), links["Bo Chen"], "Bo Chen").status_code == 303
    with app.app_context():
        assert db.session.query(SignOff).one().status == "signed"


@pytest.mark.db
def test_checking_a_file_with_the_certificate_gone_answers_503(
    app: Flask, own_key_files: dict[str, Path]
) -> None:
    own_key_files["SEAL_CERT_FILE"].unlink()
    answer = upload(app.test_client(), b"%PDF-1.7\n%%EOF\n")
    assert answer.status_code == 503
    assert "Files cannot be checked right now" in answer.get_data(as_text=True)


@pytest.mark.db
def test_checking_a_file_makes_no_seal_key(app: Flask) -> None:
    answer = upload(app.test_client(), b"%PDF-1.7\n%%EOF\n")
    assert answer.status_code == 200
    assert "Damaged or incomplete: cannot be checked" in answer.get_data(as_text=True)
    assert not Path(app.instance_path, "seal").exists()


# --- the generated seal in the instance folder, replaced or damaged since ------------------


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("another key's", r"^seal certificate .*/inst/seal/seal-cert.pem does not belong to"),
        ("expired", r"^the certificate .*/inst/seal/seal-cert.pem expired on 2018-"),
        ("not a certificate", r"^seal certificate .*/inst/seal/seal-cert.pem: not a PEM"),
    ],
)
def test_a_generated_seal_certificate_replaced_since_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, replacement: str, message: str
) -> None:
    # Copied from another installation without its key, say, or an old backup put back:
    # the start says so, not the last approval of the next sign-off.
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "inst"))
    keys = load_or_create(tmp_path / "inst" / "seal", key_size=2048)
    start()  # as generated, it starts
    if replacement == "another key's":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = self_signed_certificate(other)
    elif replacement == "expired":
        certificate = self_signed_certificate(
            keys.private_key, now=datetime(1999, 1, 1, tzinfo=UTC)
        )
    if replacement == "not a certificate":
        keys.cert_file.write_text("not a certificate\n")
    else:
        keys.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ConfigurationError, match=message) as refused:
        start()
    assert "SEAL_KEY_FILE and SEAL_CERT_FILE" in refused.value.message
    assert "\n" not in refused.value.message


def test_a_generated_seal_cut_short_before_its_certificate_still_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "inst"))
    keys = load_or_create(tmp_path / "inst" / "seal", key_size=2048)
    keys.cert_file.unlink()  # the first use finishes it
    start()


@pytest.mark.db
def test_a_seal_certificate_that_expires_while_serving_seals_nothing(
    app: Flask, tmp_path: Path
) -> None:
    # Checked at start, and again at each seal: a seal made with an expired certificate
    # would never verify.
    key_file, _, private_key = write_pair(tmp_path, "Studio North charter seal")
    ends = datetime.now(UTC) + timedelta(seconds=3)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Studio North charter seal")])
    usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(9)
        .not_valid_before(ends - timedelta(days=30))
        .not_valid_after(ends)
        .add_extension(usage, critical=True)
        .sign(private_key, hashes.SHA256())
    )
    cert_file = tmp_path / "short-lived-cert.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    start(SEAL_KEY_FILE=str(key_file), SEAL_CERT_FILE=str(cert_file))  # current: it starts
    app.config.update(SEAL_KEY_FILE=str(key_file), SEAL_CERT_FILE=str(cert_file))
    consultant = signed_in_consultant(app)
    version_path = freeze(consultant, engagement_with_decision(app, consultant))
    links = send(consultant, version_path)
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303
    while datetime.now(UTC) <= ends + timedelta(seconds=1):
        time.sleep(0.2)

    refused = approve(app.test_client(), links["Bo Chen"], "Bo Chen")
    assert refused.status_code == 503  # type: ignore[attr-defined]
    text = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Your approval was not recorded" in text
    with app.app_context():
        sign_off = db.session.query(SignOff).one()
        assert sign_off.status == "pending" and sign_off.sealed_pdf is None
