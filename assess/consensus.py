"""Values the consultant agrees with the parties after discussion, and their history.

Every change is a new decision snapshot: the agreed values and their notes travel inside the
decision's alignment, so the history of a consensus is read back from the stored decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema

from assess import alignment as aligned
from assess.alignment import Alignment, cautious_median
from assess.decision import Decision
from assess.engine import evaluate_respondents
from assess.factors import BY_KEY, FACTOR_KEYS, Factor
from assess.forms import Errors, Text, choice, load_form
from assess.models import DecisionRecord, Respondent
from assess.text import is_blank

NOTE_MAX = 280
# Chosen instead of a level: drop the agreed value, back to the cautious middle.
MIDDLE = "middle"
LEVELS = ("1", "2", "3", "4", "5")
# The error summary reads "Reason: ...", the field's label followed by the message.
REASON_LABEL = "Reason"
REASON_NEEDED = "Say in a sentence or two why the parties settled on this level."


class AgreeSchema(Schema):
    """One agreed value after discussion: which factor, which level, and why."""

    class Meta:
        unknown = EXCLUDE

    factor = choice(
        FACTOR_KEYS,
        "Choose one of the eight factors.",
        missing="Choose the factor the parties agreed on.",
    )
    value = choice(
        (*LEVELS, MIDDLE),
        "Choose a level from 1 to 5, or the cautious middle.",
        missing="Choose the level the parties agreed on.",
    )
    # Needed for an agreed level, not to go back to the cautious middle (load_agreement).
    note = Text("reason", NOTE_MAX, required=False)


@dataclass(frozen=True)
class Agreement:
    """A validated change: the factor, its agreed level (None: the cautious middle), a note."""

    factor: str
    value: int | None
    note: str


def one_line(note: Any) -> Any:
    """A note is typed in a textarea: a line break there is a space, not a control character."""
    return " ".join(note.splitlines()) if isinstance(note, str) else note


def load_agreement(form: Mapping[str, Any]) -> tuple[Agreement | None, Errors]:
    """Validate the agreed-value form; return the change or one message per field.

    An agreed level needs its reason; going back to the cautious middle does not (the
    change is recorded all the same, with the reason when one is given).
    """
    note = form.get("note")
    if note is not None:
        form = {**form, "note": one_line(note)}
    data, errors = load_form(AgreeSchema(), form)
    to_middle = form.get("value") == MIDDLE
    written = isinstance(note, str) and not is_blank(note)
    if "note" not in errors and not to_middle and not written:
        errors["note"] = [REASON_NEEDED]
    if errors:
        return None, errors
    value = None if to_middle else int(data["value"])
    return Agreement(data["factor"], value, data["note"]), {}


class ReasonSchema(Schema):
    """The reason for one level agreed through the adjusted answers."""

    class Meta:
        unknown = EXCLUDE

    note = Text("reason", NOTE_MAX, required=False)


def note_field(key: str) -> str:
    """Name the input that holds the reason for an adjusted factor's agreed level."""
    return f"note-{key}"


def load_reasons(
    form: Mapping[str, Any], stored: Alignment, given: Mapping[str, int]
) -> tuple[list[Agreement], Errors]:
    """Turn adjusted consensus answers into agreed values, each with its reason: every
    factor whose level differs from the stored consensus needs one, as the agreed-value
    form asks. Errors are named by each reason's input."""
    agreements: list[Agreement] = []
    errors: Errors = {}
    for key in FACTOR_KEYS:
        if given[key] == stored.consensus[key]:
            continue
        name = note_field(key)
        note = form.get(name)
        data, problems = load_form(ReasonSchema(), {} if note is None else {"note": one_line(note)})
        if problems:
            errors[name] = problems["note"]
        elif not data.get("note"):
            errors[name] = [REASON_NEEDED]
        else:
            agreements.append(Agreement(key, given[key], data["note"]))
    return agreements, errors


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


def agree(stored: Decision, *agreements: Agreement) -> Decision:
    """Decide again on the same respondents with these factors' agreed values and notes
    changed."""
    alignment = stored.alignment
    if alignment is None:
        raise ValueError("only a decision on several respondents has agreed values")
    agreed = dict(alignment.agreed)
    notes = dict(alignment.notes)
    for agreement in agreements:
        if agreement.value is None:
            agreed.pop(agreement.factor, None)
        else:
            agreed[agreement.factor] = agreement.value
        notes[agreement.factor] = agreement.note
    return evaluate_respondents(alignment.answer_sets(), agreed, notes, what_if=True)


def summaries(agreements: Sequence[Agreement], before: Alignment) -> str:
    """Describe the changes in a line, for the decision's note."""
    return "; ".join(summary(a, before) for a in agreements)


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
    # A consensus started from the agreed values of an earlier one (see carry_over).
    carried_from: int | None = None
    # Whose answers it combines: what tells a consensus started anew from the one before.
    respondents: tuple[aligned.Respondent, ...] = ()


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
    """Agreed values and reasons a consensus starts with (none when it comes straight from
    the answers; those carried over from an earlier consensus otherwise)."""
    found = []
    for key in FACTOR_KEYS:
        note = alignment.notes.get(key, "")
        if key not in alignment.agreed and not note:
            continue
        factor = BY_KEY[key]
        middle = cautious_median(alignment.factors[key].values, factor.cautious)
        after = alignment.agreed.get(key, middle)
        found.append(FactorChange(factor, middle, False, after, key in alignment.agreed, note))
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
    last: int | None = None  # the newest consensus of any answers so far
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
            carried = last if started and found else None
            entries.append(
                HistoryEntry(
                    record.id,
                    record.created_at,
                    who,
                    started,
                    found,
                    carried,
                    alignment.respondents,
                )
            )
        previous[_answers(alignment)] = alignment
        last = record.id
    return entries


# Answers that moved after a consensus was decided ----------------------------------------


def _by_factor(people: Sequence[aligned.Respondent], key: str) -> list[tuple[str, str, int]]:
    """Who gave which level on one factor, whatever the respondents' order."""
    return sorted((p.name, p.side, p.answers[key]) for p in people)


@dataclass(frozen=True)
class Carried:
    """What a new consensus keeps of the previous one: the agreed levels and reasons on
    factors whose answers are unchanged, and what it drops."""

    source: DecisionRecord | None
    agreed: dict[str, int]
    notes: dict[str, str]
    dropped: dict[str, int]  # agreed levels whose factor's answers changed


def carry_over(previous: DecisionRecord | None, people: Sequence[aligned.Respondent]) -> Carried:
    """Return the agreed levels and reasons of the previous consensus that still hold for
    these answers: a factor keeps them when exactly the same people gave exactly the same
    levels on it; a changed, added or missing answer drops them, since they were agreed on
    answers that no longer stand."""
    before = previous.decision.alignment if previous is not None else None
    if before is None:
        return Carried(None, {}, {}, {})
    earlier = before.answer_sets()
    agreed: dict[str, int] = {}
    notes: dict[str, str] = {}
    dropped: dict[str, int] = {}
    for key in FACTOR_KEYS:
        same = _by_factor(earlier, key) == _by_factor(people, key)
        if key in before.agreed:
            (agreed if same else dropped)[key] = before.agreed[key]
        if same and before.notes.get(key):
            notes[key] = before.notes[key]
    return Carried(previous, agreed, notes, dropped)


@dataclass(frozen=True)
class Moved:
    """How one respondent's answers stand against a consensus decided before."""

    name: str
    # "changed", "reopened", "joined", "left"; "returned" when the answers changed and went
    # back after a consensus was decided on them; "other" when it cannot say
    how: str
    changes: tuple[tuple[Factor, int, int], ...] = ()
    side: str = ""
    decided_since: int | None = None  # "returned": the consensus of other answers since

    def pattern(self) -> str:
        """The sentence with ``{}`` where the name goes (for a page to isolate it)."""
        if self.how == "changed":
            moves = "; ".join(
                f"{factor.label.lower()} from {before} to {after}"
                for factor, before, after in self.changes
            )
            return f"{{}}'s answers changed: {moves}."
        if self.how == "reopened":
            return "{}'s answers are open again for changes."
        if self.how == "joined":
            return "{}'s answers were submitted since."
        if self.how == "left":
            return "{}'s answers are no longer submitted."
        if self.how == "returned":
            return (
                "The answers submitted now are again those it combines, but a consensus of "
                f"other answers (decision #{self.decided_since}) was decided in between, where "
                "values may have been agreed."
            )
        return "The submitted answers have changed since."

    def sentence(self) -> str:
        return self.pattern().format(self.named())

    def named(self) -> str:
        """The name as the sentence opens with it: an intake session as the session it is."""
        return aligned.in_sentence(self.name, self.side, start=True)


def moved_since(alignment: Alignment, respondents: Sequence[Respondent]) -> list[Moved]:
    """Say how the answers now submitted differ from those a consensus combined: empty when
    they are the same. Respondents are told apart by name and side, as the decision
    records them."""
    submitted = [r for r in respondents if r.submitted_at]
    then = alignment.answer_sets()
    if sorted(_key(p) for p in then) == sorted(_key(r) for r in submitted):
        return []
    unmatched = list(respondents)
    found: list[Moved] = []
    for person in then:
        same = [r for r in unmatched if (r.name, r.side) == (person.name, person.side)]
        match = next(
            (r for r in same if r.submitted_at and r.answers == person.answers),
            next((r for r in same if r.submitted_at), same[0] if same else None),
        )
        if match is None:
            found.append(Moved(person.name, "left", side=person.side))
            continue
        unmatched.remove(match)
        if not match.submitted_at:
            found.append(Moved(person.name, "reopened", side=person.side))
        elif match.answers != person.answers:
            changes = tuple(
                (BY_KEY[key], person.answers[key], match.answers[key])
                for key in FACTOR_KEYS
                if person.answers[key] != match.answers.get(key)
            )
            found.append(Moved(person.name, "changed", changes, person.side))
    found.extend(Moved(r.name, "joined", side=r.side) for r in unmatched if r.submitted_at)
    # Two respondents of one name and side can swap answers: still not the same answers.
    return found or [Moved("", "other")]


def _key(person: aligned.Respondent | Respondent) -> tuple[Any, ...]:
    return person.name, person.side, sorted(person.answers.items())
