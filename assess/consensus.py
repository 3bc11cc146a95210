"""Values the consultant agrees with the parties after discussion, and their history.

Every change is a new decision snapshot: the agreed values and their notes travel inside the
decision's alignment, so the history of a consensus is read back from the stored decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from assess.alignment import Alignment, cautious_median
from assess.decision import Decision
from assess.engine import evaluate_respondents
from assess.factors import BY_KEY, FACTOR_KEYS, Factor
from assess.forms import Errors, Text, load_form
from assess.models import DecisionRecord

NOTE_MAX = 280
# Chosen instead of a level: drop the agreed value, back to the cautious middle.
MIDDLE = "middle"
LEVELS = ("1", "2", "3", "4", "5")


class AgreeSchema(Schema):
    """One agreed value after discussion: which factor, which level, and why."""

    class Meta:
        unknown = EXCLUDE

    factor = fields.String(
        required=True,
        validate=validate.OneOf(FACTOR_KEYS, error="Choose one of the eight factors."),
        error_messages={"required": "Choose the factor the parties agreed on."},
    )
    value = fields.String(
        required=True,
        validate=validate.OneOf(
            (*LEVELS, MIDDLE), error="Choose a level from 1 to 5, or the cautious middle."
        ),
        error_messages={"required": "Choose the level the parties agreed on."},
    )
    note = Text("note on why", NOTE_MAX)


@dataclass(frozen=True)
class Agreement:
    """A validated change: the factor, its agreed level (None: the cautious middle), a note."""

    factor: str
    value: int | None
    note: str


def load_agreement(form: Mapping[str, Any]) -> tuple[Agreement | None, Errors]:
    """Validate the agreed-value form; return the change or one message per field."""
    # The note is typed in a textarea: a line break there is a space, not a control character.
    note = form.get("note")
    if isinstance(note, str):
        form = {**form, "note": " ".join(note.splitlines())}
    data, errors = load_form(AgreeSchema(), form)
    if errors:
        return None, errors
    value = None if data["value"] == MIDDLE else int(data["value"])
    return Agreement(data["factor"], value, data["note"]), {}


def changes(alignment: Alignment, agreement: Agreement) -> bool:
    """Say whether the agreement changes the stored agreed values or notes."""
    same_value = alignment.agreed.get(agreement.factor) == agreement.value
    return not same_value or alignment.notes.get(agreement.factor, "") != agreement.note


def same_agreement(one: Decision, other: Decision) -> bool:
    """Say whether two consensus decisions combine the same answers with the same agreements."""
    a, b = one.alignment, other.alignment
    if a is None or b is None:
        return False
    return (
        one.answers == other.answers
        and a.answer_sets() == b.answer_sets()
        and a.agreed == b.agreed
        and a.notes == b.notes
    )


def agree(stored: Decision, agreement: Agreement) -> Decision:
    """Decide again on the same respondents with one factor's agreed value and note changed."""
    alignment = stored.alignment
    if alignment is None:
        raise ValueError("only a decision on several respondents has agreed values")
    agreed = dict(alignment.agreed)
    if agreement.value is None:
        agreed.pop(agreement.factor, None)
    else:
        agreed[agreement.factor] = agreement.value
    notes = {**alignment.notes, agreement.factor: agreement.note}
    return evaluate_respondents(alignment.answer_sets(), agreed, notes, what_if=True)


def summary(agreement: Agreement, before: Alignment) -> str:
    """Describe the change in a line, for the decision's note."""
    label = BY_KEY[agreement.factor].label
    was = before.consensus[agreement.factor]
    if agreement.value is None and agreement.factor not in before.agreed:
        return f"{label}: stays at the cautious middle ({was})"
    if agreement.value is None:
        return f"{label}: back to the cautious middle (was {was})"
    if agreement.value == was and agreement.factor in before.agreed:
        return f"{label}: note on the agreed value {was}"
    if agreement.value == was:
        return f"{label}: {was} confirmed as agreed"
    return f"{label}: agreed {agreement.value} (was {was})"


@dataclass(frozen=True)
class FactorChange:
    """One factor's consensus before and after a change, with the note given."""

    factor: Factor
    before: int
    before_agreed: bool
    after: int
    after_agreed: bool
    note: str

    @property
    def value_changed(self) -> bool:
        return (self.before, self.before_agreed) != (self.after, self.after_agreed)


@dataclass(frozen=True)
class HistoryEntry:
    """A stored consensus decision: who made it, when, and what it changed."""

    decision_id: int
    at: datetime
    who: str
    started: bool  # the first consensus of these answers
    changes: tuple[FactorChange, ...]


def _answers(alignment: Alignment) -> tuple[Any, ...]:
    """What identifies the answers a consensus combines: respondents and their values."""
    people = tuple((r.name, r.side) for r in alignment.respondents)
    return people, tuple(alignment.factors[key].values for key in FACTOR_KEYS)


def _diff(before: Alignment, after: Alignment) -> tuple[FactorChange, ...]:
    found = []
    for key in FACTOR_KEYS:
        change = FactorChange(
            BY_KEY[key],
            before.consensus[key],
            key in before.agreed,
            after.consensus[key],
            key in after.agreed,
            after.notes.get(key, ""),
        )
        if change.value_changed or before.notes.get(key, "") != change.note:
            found.append(change)
    return tuple(found)


def _started(alignment: Alignment) -> tuple[FactorChange, ...]:
    """Agreed values a consensus starts with (none when it comes straight from the answers)."""
    found = []
    for key in FACTOR_KEYS:
        if key in alignment.agreed:
            factor = BY_KEY[key]
            middle = cautious_median(alignment.factors[key].values, factor.cautious)
            note = alignment.notes.get(key, "")
            found.append(FactorChange(factor, middle, False, alignment.agreed[key], True, note))
    return tuple(found)


def history(records: Iterable[DecisionRecord]) -> list[HistoryEntry]:
    """List the consensus decisions among records, oldest first, each with what it changed.

    A decision is compared with the previous consensus of the same answers; one on other
    answers (a respondent answered again) starts a new consensus. Decisions that change
    no consensus value or note (a re-evaluation with new rules) are left out.
    """
    entries: list[HistoryEntry] = []
    # The newest consensus of each answer set: an agreement made on an older consensus
    # (after a respondent answered again) is compared with that consensus, not the newest.
    previous: dict[tuple[Any, ...], Alignment] = {}
    for record in sorted(records, key=lambda r: r.id):
        alignment = record.decision.alignment
        if alignment is None:
            continue
        before = previous.get(_answers(alignment))
        if before is not None:
            started, found = False, _diff(before, alignment)
        else:
            started, found = True, _started(alignment)
        if started or found:
            who = record.created_by.display_name if record.created_by else ""
            entries.append(HistoryEntry(record.id, record.created_at, who, started, found))
        previous[_answers(alignment)] = alignment
    return entries
