"""Sign-off benchmarks: audit page rendering, sealing (render + PAdES) and verification.

Seals a real charter from the engine with a key generated into a temporary folder, the way
the web app does when the last signatory approves.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from assess import charter
from assess.engine import evaluate
from assess.signing import sha256_hex
from assess.signing.audit import AuditEntry, AuditTrail, render_pdf
from assess.signing.keys import load_or_create
from assess.signing.seal import seal
from assess.signing.verify import verify

RUNS = 30
ANSWERS = {
    "innovation": 5,
    "resource_availability": 4,
    "risk_tolerance": 4,
    "relationship_duration": 4,
    "timeline_pressure": 2,
    "creative_collaboration": 5,
    "iteration_readiness": 3,
    "planning_complexity": 3,
}


def _timed(action: Callable[[], object], runs: int = RUNS) -> list[float]:
    action()  # warm: fonts, stylesheet, pyHanko imports
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _row(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"| {label} | {statistics.median(samples):.0f} | {p90:.0f} | {len(samples)} |"


def run() -> str:
    """Measure and return a markdown section."""
    decision = evaluate(ANSWERS)
    details = charter.load_details(
        {
            "project": "Northern Lights: an immersive documentary",
            "parties": [
                {"side": "producer", "name": "Ann Lee", "role": "Executive Producer"},
                {"side": "creator", "name": "Bo Chen", "role": "Director"},
            ],
            "issued_at": "2026-03-02T09:00:00+00:00",
        }
    )
    charter_pdf = charter.to_pdf(decision, details)
    digest = sha256_hex(charter_pdf)
    when = datetime(2026, 3, 9, 16, 45, tzinfo=UTC)
    audit = AuditTrail(
        document_id=charter.document_id(decision, details),
        version=1,
        project=details.project,
        document_hash=digest,
        sealed_at=when,
        base_url="https://assess.example.org",
        entries=tuple(
            AuditEntry(name, f"{name.split()[0].lower()}@example.org", "approved", when, digest)
            for name in ("Ann Lee", "Bo Chen")
        ),
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        keys = load_or_create(Path(folder) / "seal")
        generate_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        load_or_create(Path(folder) / "seal")
        load_ms = (time.perf_counter() - started) * 1000
        render = _timed(lambda: render_pdf(audit, signer=keys.subject))
        audit_pdf = render_pdf(audit, signer=keys.subject)
        signing = _timed(lambda: seal(charter_pdf, audit, keys, audit_pdf=audit_pdf))
        sealing = _timed(lambda: seal(charter_pdf, audit, keys))
        sealed = seal(charter_pdf, audit, keys)
        trusted = keys.certificate_pem()
        checking = _timed(lambda: verify(sealed, trusted))
    verdict = verify(sealed, trusted)
    assert verdict.ok, verdict.summary
    return "\n".join(
        [
            "## Sign-off: seal and verify",
            "",
            f"A {len(charter_pdf) // 1024} KiB charter sealed with a 3072-bit RSA key "
            "(PAdES certification, audit page appended by incremental update; "
            f"{len(sealed) // 1024} KiB sealed). Times in ms, warm process.",
            "",
            "| step | p50 | p90 | runs |",
            "|---|---:|---:|---:|",
            _row("audit page: HTML -> PDF (WeasyPrint)", render),
            _row("seal: audit page + append + sign", sealing),
            _row("seal, audit page rendered beforehand (append + sign)", signing),
            _row("verify: pyHanko validation + seal.json checks", checking),
            "",
            f"Key generation on first use: {generate_ms:.0f} ms once; "
            f"loading the key afterwards: {load_ms:.0f} ms.",
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
