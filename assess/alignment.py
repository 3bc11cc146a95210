"""Where the partners' answers differ, the consensus they decide on, and why it matters.

Consensus rule: per factor, the median of the respondents' answers. When the median falls
between two levels (an even number of respondents), it is rounded towards the factor's
cautious end (``Factor.cautious``): the reading that asks for more safeguards. Values the
consultant agrees with the parties replace the median for their factor; a short note per
factor records why the consensus is what it is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assess.factors import BY_KEY, FACTORS, SCALE
from assess.text import same_name

ALIGNED, MINOR, SIGNIFICANT = "aligned", "minor", "significant"
PRODUCER, CREATOR = "producer", "creator"
SIDES = (PRODUCER, CREATOR)
# An intake session answers for both parties at once, so its answers stand for both sides.
JOINT = "joint"
# Intake sessions are named "Intake session", then "Intake session 2" and so on: a label that
# tells them apart in tables, not a person's name.
SESSION_NAME = "Intake session"
SIDE_LABELS: dict[str, str] = {
    PRODUCER: "Producer side",
    CREATOR: "Creator side",
    JOINT: "Both parties together",
}


@dataclass(frozen=True)
class Respondent:
    name: str
    side: str
    answers: dict[str, int]


@dataclass(frozen=True)
class FactorAlignment:
    values: tuple[int, ...]
    gap: int
    level: str

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "gap": self.gap, "level": self.level}


@dataclass(frozen=True)
class Individual:
    name: str
    side: str
    model: str
    components: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "side": self.side,
            "model": self.model,
            "components": list(self.components),
        }


@dataclass(frozen=True)
class Alignment:
    respondents: tuple[Respondent, ...]
    factors: dict[str, FactorAlignment]
    consensus: dict[str, int]
    agreed: dict[str, int]
    individual: tuple[Individual, ...] = ()
    # Why a factor's consensus is what it is, in the consultant's words, by factor key.
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def significant(self) -> list[str]:
        """Factors with a significant gap, largest gap first, in factor order on ties."""
        keys = [f.key for f in FACTORS if self.factors[f.key].level == SIGNIFICANT]
        return sorted(keys, key=lambda k: -self.factors[k].gap)

    def by_gap(self) -> list[str]:
        """Every factor, largest gap first."""
        order = [f.key for f in FACTORS]
        return sorted(order, key=lambda k: (-self.factors[k].gap, order.index(k)))

    def answer_sets(self) -> list[Respondent]:
        """Each respondent with the answers this alignment combined, rebuilt per factor."""
        return [
            Respondent(r.name, r.side, {key: a.values[i] for key, a in self.factors.items()})
            for i, r in enumerate(self.respondents)
        ]

    def facts(self) -> dict[str, int]:
        """Derived facts the protocols rules can test."""
        return {
            "respondents": len(self.respondents),
            "significant_gaps": len(self.significant),
            **{f"gap_{key}": a.gap for key, a in self.factors.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "factors": {key: a.to_dict() for key, a in self.factors.items()},
            "significant": self.significant,
            "individual": [i.to_dict() for i in self.individual],
            "consensus": dict(self.consensus),
            "agreed": dict(self.agreed),
            "notes": dict(self.notes),
            "respondents": [{"name": r.name, "side": r.side} for r in self.respondents],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alignment:
        """Rebuild stored alignment data (respondents' answers are not part of it)."""
        return cls(
            respondents=tuple(Respondent(r["name"], r["side"], {}) for r in data["respondents"]),
            factors={
                key: FactorAlignment(tuple(a["values"]), a["gap"], a["level"])
                for key, a in data["factors"].items()
            },
            consensus=dict(data["consensus"]),
            agreed=dict(data.get("agreed", {})),
            individual=tuple(
                Individual(i["name"], i["side"], i["model"], tuple(i["components"]))
                for i in data["individual"]
            ),
            notes=dict(data.get("notes", {})),
        )


def gap_level(gap: int) -> str:
    """Name a gap: none, one step, or two or more (more than a third of the scale)."""
    return ALIGNED if gap == 0 else MINOR if gap == 1 else SIGNIFICANT


def in_sentence(name: str, side: str, *, start: bool = False) -> str:
    """Name a respondent inside a sentence: a person by their name as typed, an intake
    session as the session it is ("the intake session", "intake session 2"), which a
    sentence never treats as someone with answers of their own. At the start of a sentence
    only the session's words are capitalised: a person's name stays as they wrote it."""
    if side != JOINT:
        return name
    words = "the intake session" if name == SESSION_NAME else name[:1].lower() + name[1:]
    return words[:1].upper() + words[1:] if start else words


def told_apart(people: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Name each (name, side) where it stands alone, in a chart's key or beside a level: the
    name, and the side ("producer side") where another respondent has the same name (one
    person may answer for each side), since the two would otherwise read as one; else "".

    The two stay apart so that a page isolates the name alone: a right-to-left name isolated
    with its side would set the side on its left."""
    return [
        (name, SIDE_LABELS[side].lower())
        if any(same_name(name, other) for j, (other, _) in enumerate(people) if j != i)
        else (name, "")
        for i, (name, side) in enumerate(people)
    ]


def in_full(name: str, side: str) -> str:
    """A name `told_apart` as plain text says it, where no markup isolates the name."""
    return f"{name} ({side})" if side else name


def missing_sides(sides: Iterable[str]) -> list[str]:
    """Return the sides nobody answers for: a consensus needs both."""
    present = set(sides)
    return [side for side in SIDES if side not in present]


def cautious_median(values: Sequence[int], cautious: str) -> int:
    """Return the median, rounded towards the cautious end when it falls between levels."""
    middle = statistics.median(values)
    return math.ceil(middle) if cautious == "high" else math.floor(middle)


def align(
    respondents: Sequence[Respondent],
    agreed: Mapping[str, int] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Alignment:
    """Compute gaps and the consensus answers of several respondents, keeping the notes."""
    agreed = dict(agreed or {})
    if not respondents:
        raise ValueError("an alignment needs at least one respondent")
    # Callers validate their input; this guards the decision against a caller that did not.
    off_scale = sorted(
        key
        for key, value in agreed.items()
        if key not in BY_KEY or type(value) is not int or value not in SCALE
    )
    if off_scale:
        raise ValueError("agreed values must be levels 1 to 5 of factors: " + ", ".join(off_scale))
    factors: dict[str, FactorAlignment] = {}
    consensus: dict[str, int] = {}
    for factor in FACTORS:
        values = tuple(r.answers[factor.key] for r in respondents)
        gap = max(values) - min(values)
        factors[factor.key] = FactorAlignment(values, gap, gap_level(gap))
        consensus[factor.key] = agreed.get(factor.key, cautious_median(values, factor.cautious))
    kept = {key: note for key, note in (notes or {}).items() if note}
    return Alignment(tuple(respondents), factors, consensus, agreed, notes=kept)
