"""The charter's fill-in fields: validation with one message per field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from conftest import ISSUED, make_details
from marshmallow import ValidationError

from assess import charter
from assess.schemas import flatten_errors


def problems(**fields: Any) -> list[str]:
    base: dict[str, Any] = {
        "project": "P",
        "parties": [{"side": "producer", "name": "A"}, {"side": "creator", "name": "B"}],
    }
    base.update(fields)
    with pytest.raises(ValidationError) as caught:
        charter.load_details({k: v for k, v in base.items() if v is not ...})
    return sorted(flatten_errors(caught.value.messages))


def test_minimal_details_get_defaults() -> None:
    details = charter.load_details(
        {
            "project": "  Northern Lights  ",
            "parties": [{"side": "producer", "name": "A"}, {"side": "creator", "name": "B"}],
            "issued_at": ISSUED,
        }
    )
    assert details.project == "Northern Lights"
    assert details.version == 1
    assert details.issued_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert details.start == date(2026, 3, 2)
    assert details.revenue_split is None
    assert [p.side_label for p in details.parties] == ["Producer side", "Creator side"]


def test_issue_time_defaults_to_now_in_utc() -> None:
    details = charter.load_details(
        {
            "project": "P",
            "parties": [{"side": "producer", "name": "A"}, {"side": "creator", "name": "B"}],
        }
    )
    assert abs((datetime.now(UTC) - details.issued_at).total_seconds()) < 60


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"project": ...}, ["project: is required"]),
        ({"project": "   "}, ["project: must not be empty"]),
        ({"project": "x" * 201}, ["project: must be at most 200 characters"]),
        ({"project": "a\x00b"}, ["project: must not contain control characters"]),
        ({"project": 7}, ["project: must be text"]),
        ({"consultant": "Clara\u2028Diaz"}, ["consultant: must not contain control characters"]),
        (
            {
                "parties": [
                    {"side": "producer", "name": "Ann\u2029Lee"},
                    {"side": "creator", "name": "B"},
                ]
            },
            ["parties.0.name: must not contain control characters"],
        ),
        ({"parties": ...}, ["parties: is required"]),
        ({"parties": [{"side": "producer", "name": "A"}]}, ["parties: name 2 to 12 parties"]),
        (
            {"parties": [{"side": "producer", "name": "A"}, {"side": "producer", "name": "B"}]},
            ["parties: name at least one party per side (missing: Creator side)"],
        ),
        (
            {"parties": [{"side": "investor", "name": "A"}, {"side": "creator", "name": ""}]},
            [
                "parties.0.side: must be 'producer' or 'creator'",
                "parties.1.name: must not be empty",
            ],
        ),
        (
            {"revenue_split": {"producer": 60, "creator": 60}},
            ["revenue_split: producer and creator shares must add up to 100"],
        ),
        (
            {"revenue_split": {"producer": "60", "creator": 40}},
            ["revenue_split.producer: must be a whole number"],
        ),
        ({"version": 0}, ["version: must be 1 to 999"]),
        (
            {"document_id": "bad id"},
            ["document_id: must be 6 to 40 capital letters, digits or dashes"],
        ),
        (
            {"document_id": "ABCDEF\n"},
            ["document_id: must be 6 to 40 capital letters, digits or dashes"],
        ),
        (
            {"effective_date": "2026-13-01"},
            ["effective_date: 2026-13-01 is not a day of the calendar"],
        ),
        ({"effective_date": "1 March 2026"}, ["effective_date: must be YYYY-MM-DD"]),
        # ISO 8601's other ways to write a day are not the form the field asks for.
        ({"effective_date": "20270301"}, ["effective_date: must be YYYY-MM-DD"]),
        ({"effective_date": "2027-W09-1"}, ["effective_date: must be YYYY-MM-DD"]),
        ({"effective_date": "2027-060"}, ["effective_date: must be YYYY-MM-DD"]),
        (
            {"effective_date": "2026-02-30"},
            ["effective_date: 2026-02-30 is not a day of the calendar"],
        ),
        ({"issued_at": "2026-03-02T09:00:00"}, ["issued_at: must be an ISO 8601 time with a zone"]),
        ({"mediators_internal": ["A", "B", "C", "D"]}, ["mediators_internal: at most 3 names"]),
        (
            {
                "mediators_internal": ["Dana Holt", "dana  HOLT"],
                "mediators_external": ["Dana Holt"],
            },
            [
                "mediators_internal.1: names a candidate already listed",
                "mediators_external.0: names a candidate already listed",
            ],
        ),
        (
            {
                "arbitration": "ICC \U0001f469\u200d\U0001f469\u200d\U0001f467 Paris",
                "mediators_external": ["Ann \U0001f1ec\U0001f1f7"],
                "parties": [
                    {"side": "producer", "name": "A", "role": "\U00013000 scribe"},
                    {"side": "creator", "name": "B"},
                ],
            },
            [
                "arbitration: must not contain characters the charter's fonts lack: "
                "\U0001f469 (U+1F469), \U0001f467 (U+1F467)",
                "mediators_external.0: must not contain characters the charter's fonts lack: "
                "\U0001f1ec (U+1F1EC), \U0001f1f7 (U+1F1F7)",
                "parties.0.role: must not contain characters the charter's fonts lack: "
                "\U00013000 (U+13000)",
            ],
        ),
        ({"signature": "x"}, ["signature: unknown field"]),
    ],
)
def test_bad_fields_are_named_one_per_line(fields: dict[str, Any], expected: list[str]) -> None:
    assert problems(**fields) == sorted(expected)


def test_a_unicode_line_or_paragraph_separator_starts_a_line_of_the_summary() -> None:
    details = make_details(
        project_summary="Six episodes.\u2028Shot in 2027.\u2029Released in 2028."
    )
    assert details.project_summary == "Six episodes.\nShot in 2027.\nReleased in 2028."


def test_details_must_be_an_object() -> None:
    with pytest.raises(ValidationError) as caught:
        charter.load_details(["project"])
    assert flatten_errors(caught.value.messages) == ["charter details must be a JSON object"]


@pytest.mark.parametrize(
    ("text", "party"),
    [
        ("Producer side: Ann Lee", {"side": "producer", "name": "Ann Lee"}),
        ("creator: Bo Chen (Director)", {"side": "creator", "name": "Bo Chen", "role": "Director"}),
        ("CREATOR SIDE:Ζωή Παπαδοπούλου", {"side": "creator", "name": "Ζωή Παπαδοπούλου"}),
    ],
)
def test_party_lines_are_read(text: str, party: dict[str, str]) -> None:
    assert charter.parse_party(text) == party


@pytest.mark.parametrize("text", ["Ann Lee", "Investor: Ann", ": Ann"])
def test_party_lines_without_a_side_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Producer side: Name"):
        charter.parse_party(text)


def test_document_id_is_stable_and_follows_the_content(decisions: dict[str, Any]) -> None:
    decision = decisions["standard"]
    first = charter.document_id(decision, make_details())
    assert first == charter.document_id(decision, make_details())
    assert first.startswith("PC-2026-")
    assert first != charter.document_id(decision, make_details(project="Other"))
    assert charter.document_id(decision, make_details(document_id="ACME-0001")) == "ACME-0001"
