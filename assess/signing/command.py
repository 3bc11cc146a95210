"""``assess verify FILE.pdf``: check a sealed charter offline and print a one-line verdict."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from click.decorators import FC

from assess.text import shown

if TYPE_CHECKING:
    from assess.signing.verify import Verdict

EXIT_OK, EXIT_ALTERED, EXIT_UNREADABLE, EXIT_UNVERIFIED = 0, 1, 2, 3


def generated_certificate() -> Path:
    """Where the web app generates its seal certificate: in the instance folder Flask
    chooses for the package (beside a checkout, or under the environment's prefix)."""
    from flask import Flask

    from assess.signing.keys import CERT_FILE, seal_folder

    return seal_folder(Flask("assess").instance_path) / CERT_FILE


def _trusted_file(flag: str, name: str, envvar: str, help: str) -> Callable[[FC], FC]:
    """An option naming a file of certificates to trust, by default the one ``envvar`` names."""
    return click.option(
        flag,
        name,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar=envvar,
        help=help,
    )


@click.command("verify")
# Checked by the command itself, to say what is wrong with it in the verdict's one line.
@click.argument("pdf_file", metavar="FILE.pdf", type=click.Path(path_type=Path))
@_trusted_file(
    "--cert",
    "cert_file",
    "SEAL_CERT_FILE",
    "The service's seal certificate (PEM) to trust. Default: $SEAL_CERT_FILE, else the "
    "certificate generated in the instance folder, if there is one. Without any, who "
    "sealed the file is not checked: an intact file then exits 3, never 0.",
)
@_trusted_file(
    "--tsa-root",
    "tsa_root_file",
    "SEAL_TSA_ROOT_FILE",
    "Certificates (PEM) of the time-stamping authorities to trust for the seal's "
    "timestamp. Default: $SEAL_TSA_ROOT_FILE. Without any, the timestamp's authority is "
    "not checked, and the verdict says so.",
)
@click.option("--details", is_flag=True, help="Also print each check and the signatories.")
def verify_command(
    pdf_file: Path, cert_file: Path | None, tsa_root_file: Path | None, details: bool
) -> None:
    """Verify the seal of a signed-off charter PDF.

    Exit status: 0 intact and sealed by the trusted certificate; 1 altered, not sealed,
    sealed by another certificate, or not checked (encrypted, or too long to check); 2 not
    a readable PDF, or larger than 20 MB (as on the verify page); 3 intact and sealed, but
    no trusted certificate was available to check who sealed it (give it with --cert).
    """
    # pyHanko logs its diff analysis of altered files with tracebacks; the verdict says it.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    if cert_file is None and generated_certificate().is_file():
        cert_file = generated_certificate()
    verdict = _verify(pdf_file, cert_file, tsa_root_file)
    _show(_verdict_line(verdict))
    if details:
        _show_details(verdict)
    sys.exit(exit_status(verdict))


def _verify(pdf_file: Path, cert_file: Path | None, tsa_root_file: Path | None) -> Verdict:
    """Read the charter and the certificates to trust, and verify the charter's seal; exit 2
    saying why when any of them cannot be read."""
    from assess.signing import read_certificates
    from assess.signing.timestamps import load_roots
    from assess.signing.verify import UnreadableInput, verify

    try:
        data = read_charter(pdf_file)
        trusted = read_certificates(cert_file) if cert_file is not None else None
        tsa_roots = load_roots(tsa_root_file) if tsa_root_file is not None else None
    except OSError as error:
        fail(f"cannot read {error.filename}: {error.strerror}")
    except ValueError as error:  # far too large, or a --tsa-root file without a certificate
        fail(str(error))
    try:
        return verify(data, trusted, tsa_roots)
    except UnreadableInput as error:
        fail(f"{pdf_file}: {error}")
    except ValueError:  # a --cert file that is not a certificate; the parser's words say less
        fail(f"{cert_file}: not a PEM or DER certificate file")


def _verdict_line(verdict: Verdict) -> str:
    """The verdict in one line, saying how to check a timestamp's authority left unchecked."""
    from assess.signing.verify import Outcome

    unchecked_time = verdict.timestamped_at and not verdict.timestamp_checked
    if verdict.outcome == Outcome.INTACT and unchecked_time:
        # The verdict says the time's authority was not checked; here is how to check it.
        return verdict.summary + ": give its root certificate with --tsa-root to check it"
    return verdict.summary


def _show_details(verdict: Verdict) -> None:
    """Print each check, the timestamp, what changed, the problems and the signatories."""
    for name in ("sealed", "intact", "valid", "certified", "modified_after_seal"):
        _show(f"  {name + ':':<21}{'yes' if getattr(verdict, name) else 'no'}")
    _show(f"  {'trusted:':<21}{_signer_trust(verdict)}")
    _show(f"  {'approved SHA-256:':<21}{verdict.approved_hash or '-'}")
    if verdict.timestamped_at:
        stamp = f"{verdict.timestamped_at} by {verdict.timestamp_by} ({_timestamp_trust(verdict)})"
        _show(f"  {'time-stamped:':<21}{stamp}")
    for change in verdict.changes:
        _show(f"  changed: {change}")
    for problem in verdict.problems:
        _show(f"  problem: {problem}")
    for s in verdict.signatories:
        role = f" ({s.role})" if s.role else ""
        _show(f"  {s.action} {s.at} {s.name}{role} <{s.email}>")


def read_charter(path: Path) -> bytes:
    """Return the file's bytes, or exit 2 saying why it cannot be a charter: read no further
    than the limit, so a huge file, a device or a pipe is refused without filling memory."""
    from assess.signing import MAX_CHARTER_BYTES

    if path.is_dir():
        fail(f"{path}: is a folder, not a PDF file")
    if not path.exists():
        fail(f"{path}: the file does not exist")
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size  # a file's own size; a device or pipe has none
        data = b"" if size > MAX_CHARTER_BYTES else file.read(MAX_CHARTER_BYTES + 1)
    if max(size, len(data)) > MAX_CHARTER_BYTES:
        megabytes = MAX_CHARTER_BYTES // (1024 * 1024)
        fail(f"{path}: larger than {megabytes} MB; a charter is much smaller")
    if not data:
        fail(f"{path}: the file is empty, not a charter PDF")
    return data


def _show(text: str) -> None:
    """Print a line holding text from the file, which whoever sealed it wrote."""
    click.echo(shown(text))


def _signer_trust(verdict: Verdict) -> str:
    if not verdict.sealed:
        return "-"
    if not verdict.trust_checked:
        return "not checked (no trusted certificate)"
    return "yes" if verdict.trusted else "no, another certificate sealed it"


def _timestamp_trust(verdict: Verdict) -> str:
    if not verdict.timestamp_checked:
        return "authority not checked against a trusted root"
    return "trusted" if verdict.timestamp_trusted else "authority not trusted"


def exit_status(verdict: Verdict) -> int:
    """0 only for a seal by the trusted certificate: a script reads nothing but this."""
    from assess.signing.verify import Outcome

    if verdict.outcome == Outcome.INTACT:
        return EXIT_OK
    if verdict.outcome == Outcome.UNVERIFIED:
        return EXIT_UNVERIFIED
    return EXIT_ALTERED


def fail(message: str) -> NoReturn:
    """Report unreadable input on stderr and exit 2."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_UNREADABLE)
