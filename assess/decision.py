"""The decision: pure data produced by the engine, consumed by the CLI, web and charter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assess import partnership
from assess.alignment import Alignment
from assess.factors import BY_KEY as FACTORS
from assess.protocols import BY_ID as PROTOCOLS
from assess.protocols import Param

ParamValue = int


@dataclass(frozen=True)
class ChosenProtocol:
    id: str
    params: dict[str, ParamValue]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "params": dict(self.params)}


# The escalation tiers as people read them; ``Tier.name`` is the key programs read.
TIER_TITLES = {
    "direct": "Direct discussion",
    "mediation": "Facilitated mediation",
    "arbitration": "Binding arbitration",
}


@dataclass(frozen=True)
class Tier:
    tier: int
    name: str
    max_days: int

    @property
    def title(self) -> str:
        return TIER_TITLES.get(self.name, self.name.capitalize())

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "name": self.name, "max_days": self.max_days}


@dataclass(frozen=True)
class Outweighed:
    """A parameter value a rule gave that a stricter one replaced: the rule's reason still
    names its own value, so the explanation says which applies."""

    protocol: str
    param: str
    given: ParamValue
    applies: ParamValue

    @property
    def spec(self) -> Param:
        found = PROTOCOLS[self.protocol].param(self.param)
        assert found is not None  # the rulebook rejects unknown parameters
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "param": self.param,
            "given": self.given,
            "applies": self.applies,
        }


def signed(value: float) -> str:
    """A score contribution with its sign, a true minus for points taken away."""
    return f"{value:+g}".replace("-", "\u2212")


def score_text(value: float) -> str:
    """A model's score as sentences print it, a true minus below zero."""
    return f"{value:g}".replace("-", "\u2212")


@dataclass(frozen=True)
class Reason:
    rule: str
    file: str
    because: str
    # "scoring" (why this model) or "protocols" (how the protocols were set); empty in
    # decisions stored before reasons carried it.
    stage: str = ""
    outweighed: tuple[Outweighed, ...] = ()
    # What a scoring rule added to each model's score (negative: taken away), so a reader
    # sees which model each consideration argues for.
    points: dict[str, float] = field(default_factory=dict)

    @property
    def weights(self) -> list[tuple[str, float]]:
        """The models this reason scored, by title, the largest contribution first."""
        order = list(partnership.MODEL_KEYS)
        ranked = sorted(self.points.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
        return [(partnership.BY_KEY[model].title, value) for model, value in ranked if value]

    @property
    def weights_text(self) -> str:
        """The weights as read: "Integrated Co-Creation +3, Agile Production Partnership −1"."""
        return ", ".join(f"{title} {signed(value)}" for title, value in self.weights)

    def to_dict(self) -> dict[str, Any]:
        reason: dict[str, Any] = {"rule": self.rule, "file": self.file, "because": self.because}
        if self.stage:
            reason["stage"] = self.stage
        if self.outweighed:
            reason["outweighed"] = [o.to_dict() for o in self.outweighed]
        if self.points:
            reason["points"] = dict(self.points)
        return reason

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(
            data["rule"],
            data["file"],
            data["because"],
            data.get("stage", ""),
            tuple(Outweighed(**o) for o in data.get("outweighed", ())),
            dict(data.get("points", {})),
        )


@dataclass(frozen=True)
class TippingPoint:
    factor: str
    from_level: int
    to_level: int
    model: str
    components: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "from": self.from_level,
            "to": self.to_level,
            "model": self.model,
            "components": list(self.components),
        }

    def sentence(self) -> str:
        """Say the tipping point in words a client understands."""
        label = FACTORS[self.factor].label.lower()
        outcome = partnership.in_words(self.model, self.components)
        return (
            f"If {label} were {self.to_level} instead of {self.from_level}, "
            f"the recommendation would be {outcome}."
        )


@dataclass(frozen=True)
class Decision:
    answers: dict[str, int]
    model: str
    components: tuple[str, ...]
    scores: dict[str, float]
    protocols: tuple[ChosenProtocol, ...]
    escalation: tuple[Tier, ...]
    trace: tuple[Reason, ...]
    rules_version: str
    what_if: tuple[TippingPoint, ...] | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    alignment: Alignment | None = None

    @property
    def title(self) -> str:
        return partnership.title(self.model, self.components)

    @property
    def weak_fit_note(self) -> str | None:
        """Say so when the answers speak as much against even the recommended model as for
        it: the scores add up what the rules found for and against each model, and the
        recommendation is then only the model with the least against it."""
        primary = self.components[0]
        if self.scores[primary] > 0:
            return None
        return (
            "No model fits these answers well: each has as much against it as for it, or more. "
            f"{partnership.BY_KEY[primary].title} is recommended because the least speaks "
            "against it; talk the answers through before building on it."
        )

    def ranked_scores(self) -> list[tuple[str, float]]:
        """The models by score, highest first; on equal scores the recommended models come
        first, primary then secondary, so no model ranks above the one chosen over it."""
        order = [*self.components, *(k for k in self.scores if k not in self.components)]
        return sorted(((key, self.scores[key]) for key in order), key=lambda item: -item[1])

    def protocol(self, protocol_id: str) -> ChosenProtocol | None:
        """Return the chosen protocol with this id, if the decision includes it."""
        return next((p for p in self.protocols if p.id == protocol_id), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "components": list(self.components),
            "scores": dict(self.scores),
            "protocols": [p.to_dict() for p in self.protocols],
            "escalation": [t.to_dict() for t in self.escalation],
            "trace": [r.to_dict() for r in self.trace],
            "what_if": [w.to_dict() for w in self.what_if or ()],
            "rules_version": self.rules_version,
            "answers": dict(self.answers),
        }
        if self.alignment is not None:
            data["alignment"] = self.alignment.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Rebuild a stored decision exactly as it was made, without re-evaluating."""
        return cls(
            answers=dict(data["answers"]),
            model=data["model"],
            components=tuple(data["components"]),
            scores=dict(data["scores"]),
            protocols=tuple(ChosenProtocol(p["id"], dict(p["params"])) for p in data["protocols"]),
            escalation=tuple(Tier(**t) for t in data["escalation"]),
            trace=tuple(Reason.from_dict(r) for r in data["trace"]),
            rules_version=data["rules_version"],
            # A decision kept without tipping points was never looked at one step away:
            # None, not "no single change would flip it".
            what_if=tuple(
                TippingPoint(w["factor"], w["from"], w["to"], w["model"], tuple(w["components"]))
                for w in data["what_if"]
            )
            if "what_if" in data
            else None,
            alignment=Alignment.from_dict(data["alignment"]) if "alignment" in data else None,
        )
