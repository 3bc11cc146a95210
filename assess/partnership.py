"""The three partnership models and how we describe them to clients."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartnershipModel:
    key: str
    title: str
    summary: str
    strengths: tuple[str, ...]
    risks: tuple[str, ...]


MODELS: tuple[PartnershipModel, ...] = (
    PartnershipModel(
        key="integrated",
        title="Integrated Co-Creation",
        summary=(
            "The producer joins as an equal creative partner, from the first idea to the final "
            "delivery. Both sides bring distinct expertise and own the outcome together."
        ),
        strengths=(
            "Complementary expertise shapes the work from the start.",
            "Shared ownership keeps both sides committed when the work gets hard.",
            "Best suited when breaking new ground matters more than efficiency.",
        ),
        risks=(
            "Decisions take longer because more of them are shared.",
            "Disagreements over creative direction are likely and need a fair process.",
        ),
    ),
    PartnershipModel(
        key="strategic_resource",
        title="Strategic Resource Partnership",
        summary=(
            "The producer brings something the project cannot happen without: funding, a venue, "
            "equipment, archive access or specialist expertise. Creative direction stays with "
            "the creator within agreed boundaries."
        ),
        strengths=(
            "Unlocks assets that would otherwise be out of reach.",
            "Can reduce production cost substantially through access to better resources.",
            "Clear roles make the day-to-day simple.",
        ),
        risks=(
            "The relationship can turn transactional without deliberate care.",
            "The line between providing a resource and steering the work can blur.",
        ),
    ),
    PartnershipModel(
        key="agile",
        title="Agile Production Partnership",
        summary=(
            "The partners work in short cycles with defined deliverables and a review at the "
            "end of each, adjusting scope as audience and platform feedback comes in."
        ),
        strengths=(
            "Reaches the audience sooner and learns from it early.",
            "Scope can change without renegotiating the whole partnership.",
            "Frequent reviews surface problems while they are still small.",
        ),
        risks=(
            "Demands a team at ease with ambiguity and changing plans.",
            "Fits poorly where heavy logistics must be locked long before production.",
        ),
    ),
)

BY_KEY: dict[str, PartnershipModel] = {m.key: m for m in MODELS}
MODEL_KEYS: tuple[str, ...] = tuple(BY_KEY)


def title(model: str, components: list[str] | tuple[str, ...]) -> str:
    """Return the display title of a decision's model, naming both parts of a hybrid."""
    if model == "hybrid":
        first, second = components
        return f"Hybrid: {BY_KEY[first].title} with {BY_KEY[second].title}"
    return BY_KEY[model].title


def in_words(model: str, components: list[str] | tuple[str, ...]) -> str:
    """Name a decision's model inside a sentence: a hybrid's display title ("Hybrid: A with
    B") reads as a heading, so a sentence says which part leads."""
    if model == "hybrid":
        primary, secondary = (BY_KEY[key].title for key in components)
        return f"the hybrid of {primary} (primary) and {secondary} (secondary)"
    return BY_KEY[model].title
