"""Engagement details and the charter's fill-in fields: what the decision does not know."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import (
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from assess.alignment import SIDE_LABELS
from assess.alignment import SIDES as PARTY_SIDES
from assess.schemas import Checked, whole_number_field
from assess.text import CalendarDate, Text

SIDES: dict[str, str] = {side: SIDE_LABELS[side] for side in PARTY_SIDES}
DOCUMENT_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{5,39}\Z")
PARTY_ROLE = re.compile(r"(.*\S)\s*\(([^()]*)\)\Z", re.DOTALL)
PARTY_LINE = re.compile(
    r"\s*(producer|creator)(?:\s+side)?\s*:\s*(.*)\Z", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class Party:
    side: str
    name: str
    role: str = ""

    @property
    def side_label(self) -> str:
        return SIDES[self.side]


@dataclass(frozen=True)
class RevenueSplit:
    producer: int
    creator: int


@dataclass(frozen=True)
class CharterDetails:
    """Everything the charter states besides the decision, validated."""

    project: str
    parties: tuple[Party, ...]
    issued_at: datetime
    consultant: str = ""
    client: str = ""  # the client organisation the engagement is for
    version: int = 1
    document_id: str = ""
    effective_date: date | None = None
    project_summary: str = ""
    mediators_internal: tuple[str, ...] = ()
    mediators_external: tuple[str, ...] = ()
    revenue_split: RevenueSplit | None = None
    arbitration: str = ""
    data_storage: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    issued_on: date | None = None  # the issue day where it was issued; issued_at is in UTC

    @property
    def issue_day(self) -> date:
        """Return the day of issue in the time zone the issue time was given in."""
        return self.issued_on or self.issued_at.date()

    @property
    def start(self) -> date:
        """Return the day the charter takes effect; the review calendar counts from it."""
        return self.effective_date or self.issue_day

    @property
    def partnership_key(self) -> str:
        """Name the partnership itself, whatever the version, issue day or decision: the
        project, the client and the parties. The review calendar's events keep it, so a
        calendar imported again updates them instead of adding a second set."""
        who = sorted((p.side, p.name) for p in self.parties)
        text = json.dumps([self.project, self.client, who], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def side(self, side: str) -> tuple[Party, ...]:
        return tuple(p for p in self.parties if p.side == side)

    @property
    def by_side(self) -> tuple[Party, ...]:
        """The parties as the charter lists them: the producer side, then the creator side,
        each in the order given."""
        return self.side("producer") + self.side("creator")

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "parties": [{"side": p.side, "name": p.name, "role": p.role} for p in self.parties],
            "issued_at": self.issued_at.isoformat(),
            "consultant": self.consultant,
            "client": self.client,
            "version": self.version,
            "document_id": self.document_id,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "project_summary": self.project_summary,
            "mediators_internal": list(self.mediators_internal),
            "mediators_external": list(self.mediators_external),
            "revenue_split": (
                {"producer": self.revenue_split.producer, "creator": self.revenue_split.creator}
                if self.revenue_split
                else None
            ),
            "arbitration": self.arbitration,
            "data_storage": self.data_storage,
        }


class Printed(Text):
    """User text the charter prints (see ``Text``'s ``printed``)."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length, printed=True, **kwargs)


def _names(max_items: int) -> fields.List[str]:
    return fields.List(
        Printed(120, required=True),
        load_default=list,
        validate=validate.Length(max=max_items, error=f"at most {max_items} names"),
    )


class PartySchema(Checked):
    side = fields.String(
        required=True,
        validate=validate.OneOf(list(SIDES), error="must be 'producer' or 'creator'"),
    )
    name = Printed(120, required=True)
    role = Printed(120, load_default="")


# A charter's dates: far enough apart for any real partnership, and a year of reviews after
# the last one still a valid date.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _utc_day(value: datetime) -> date:
    try:
        return value.astimezone(UTC).date()
    except OverflowError:  # a time zone pushed it before year 1 or after 9999
        return date.min


def _within_years(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError(f"must be between {FIRST_DAY} and {LAST_DAY}")


class RevenueSplitSchema(Checked):
    producer = whole_number_field(0, 100, required=True)
    creator = whole_number_field(0, 100, required=True)

    @validates_schema
    def check_total(self, data: dict[str, int], **kwargs: Any) -> None:
        if data["producer"] + data["creator"] != 100:
            raise ValidationError("producer and creator shares must add up to 100")

    @post_load
    def build(self, data: dict[str, int], **kwargs: Any) -> RevenueSplit:
        return RevenueSplit(**data)


class CharterDetailsSchema(Checked):
    """The engagement details and fill-in fields a consultant edits before issuing a charter."""

    project = Printed(200, required=True)
    parties = fields.List(
        fields.Nested(PartySchema),
        required=True,
        validate=validate.Length(min=2, max=12, error="name 2 to 12 parties"),
    )
    issued_at = fields.AwareDateTime(
        load_default=None,
        validate=lambda value: _within_years(_utc_day(value)),
        error_messages={
            "invalid": "must be an ISO 8601 time with a zone",
            "invalid_awareness": "must be an ISO 8601 time with a zone",
        },
    )
    consultant = Printed(120, load_default="")
    client = Printed(200, load_default="")
    version = whole_number_field(1, 999, load_default=1)
    document_id = fields.String(
        load_default="",
        validate=validate.Regexp(
            DOCUMENT_ID, error="must be 6 to 40 capital letters, digits or dashes"
        ),
    )
    effective_date = CalendarDate(
        load_default=None,
        validate=_within_years,
        error_messages={"invalid": "must be YYYY-MM-DD"},
    )
    project_summary = Printed(1500, multiline=True, load_default="")
    mediators_internal = _names(3)
    mediators_external = _names(3)
    revenue_split = fields.Nested(RevenueSplitSchema, load_default=None, allow_none=True)
    arbitration = Printed(200, load_default="")
    data_storage = Printed(200, load_default="")

    @validates_schema
    def check_sides(self, data: dict[str, Any], **kwargs: Any) -> None:
        parties = data.get("parties") or []
        sides = {p["side"] for p in parties}
        missing = [label for key, label in SIDES.items() if key not in sides]
        if missing and len(parties) >= 2:
            raise ValidationError(
                f"name at least one party per side (missing: {missing[0]})", "parties"
            )

    @validates_schema
    def check_mediators(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The charter accepts the candidates in the order listed: a name listed twice, or
        # as both internal and external, leaves the order and the kind unclear.
        seen: set[str] = set()
        repeated: dict[str, dict[int, list[str]]] = {}
        for kind in ("mediators_internal", "mediators_external"):
            for index, name in enumerate(data.get(kind) or ()):
                key = " ".join(name.casefold().split())
                if key in seen:
                    repeated.setdefault(kind, {})[index] = ["names a candidate already listed"]
                seen.add(key)
        if repeated:
            raise ValidationError(repeated)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> CharterDetails:
        data["parties"] = tuple(Party(**p) for p in data["parties"])
        data["mediators_internal"] = tuple(data["mediators_internal"])
        data["mediators_external"] = tuple(data["mediators_external"])
        given = data["issued_at"] or datetime.now(UTC).replace(microsecond=0)
        data["issued_on"] = given.date()
        data["issued_at"] = given.astimezone(UTC)
        return CharterDetails(**data)


# The fill-in fields stored with the engagement, as the charter schema names them.
STORED_FIELDS = (
    "effective_date",
    "project_summary",
    "mediators_internal",
    "mediators_external",
    "revenue_split",
    "arbitration",
    "data_storage",
)


def check_fields(data: Any, *, stored: bool = False) -> None:
    """Raise ValidationError, one message per field, for charter details ``load_details``
    would refuse; or, when ``stored``, for fill-in fields the charter form would not store."""
    schema = CharterDetailsSchema(only=STORED_FIELDS) if stored else CharterDetailsSchema()
    if not isinstance(data, Mapping):
        raise ValidationError({"_schema": ["must be a JSON object"]})
    errors = schema.validate(dict(data))
    if errors:
        raise ValidationError(errors)


def load_details(data: Any) -> CharterDetails:
    """Validate engagement details; raise ValidationError with one message per field."""
    if not isinstance(data, Mapping):
        raise ValidationError({"_schema": ["charter details must be a JSON object"]})
    details: CharterDetails = CharterDetailsSchema().load(dict(data))
    return details


def frozen_details(data: Mapping[str, Any]) -> CharterDetails:
    """Read the details a version was frozen with (``CharterDetails.to_dict``) as
    ``load_details`` reads them, or as stored where a check added since the freeze refuses
    them (a character the fonts lack, a mediator listed twice, a date out of range): those
    checks are for new input, and what was frozen, its PDF made from them, stays readable."""
    try:
        return load_details(data)
    except ValidationError:
        pass
    issued_at = datetime.fromisoformat(data["issued_at"])
    effective_date, split = data.get("effective_date"), data.get("revenue_split")
    return CharterDetails(
        project=data["project"],
        parties=tuple(Party(p["side"], p["name"], p.get("role", "")) for p in data["parties"]),
        issued_at=issued_at.astimezone(UTC),
        issued_on=issued_at.date(),
        consultant=data.get("consultant", ""),
        client=data.get("client", ""),
        version=data.get("version", 1),
        document_id=data.get("document_id", ""),
        effective_date=date.fromisoformat(effective_date) if effective_date else None,
        project_summary=data.get("project_summary", ""),
        mediators_internal=tuple(data.get("mediators_internal", ())),
        mediators_external=tuple(data.get("mediators_external", ())),
        revenue_split=RevenueSplit(split["producer"], split["creator"]) if split else None,
        arbitration=data.get("arbitration", ""),
        data_storage=data.get("data_storage", ""),
    )


def parse_party(text: str) -> dict[str, str]:
    """Read 'Producer side: Ann Lee' or 'Creator side: Bo Chen (Director)' into a party."""
    match = PARTY_LINE.match(text)
    if not match:
        raise ValueError("must look like 'Producer side: Name' or 'Creator side: Name (Role)'")
    rest = match.group(2).strip()
    party = {"side": match.group(1).lower(), "name": rest}
    role = PARTY_ROLE.match(rest)
    if role:
        party["name"], party["role"] = role.group(1), role.group(2)
    return party


def document_id_for(decision: Mapping[str, Any], details: CharterDetails) -> str:
    """Derive a stable document id from what the charter says, unless one was assigned."""
    if details.document_id:
        return details.document_id
    content: dict[str, Any] = {"decision": decision, "details": details.to_dict()}
    if details.issue_day != details.issued_at.date():  # issued east or west of UTC's day
        content["issued_on"] = details.issue_day.isoformat()
    return document_id_from(details.issue_day, json.dumps(content, sort_keys=True))


def document_id_from(issue_day: date, content: str) -> str:
    """Return a document id for content issued on a day: 'PC-2026-3F1A-09BC'."""
    digest = hashlib.sha256(content.encode()).hexdigest().upper()
    return f"PC-{issue_day:%Y}-{digest[:4]}-{digest[4:8]}"
