"""The protocol catalogue: fixed ids, titles and the parameters each protocol takes.

A parameter's ``stricter`` direction is how the engine merges two rules that set it:
``min`` keeps the smaller value (shorter delays are stricter), ``max`` the larger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    unit: str
    low: int
    high: int
    stricter: Literal["min", "max"] = "min"


@dataclass(frozen=True)
class Protocol:
    id: str
    title: str
    summary: str
    params: tuple[Param, ...] = ()

    def param(self, name: str) -> Param | None:
        """Return the named parameter, or None when the protocol has no such parameter."""
        return next((p for p in self.params if p.name == name), None)


def quantity(value: int, unit: str) -> str:
    """Write a parameter value with its unit the way a contract would: the charter and
    the result page say it alike."""
    singular = {
        "days": "day",
        "hours": "hour",
        "years": "year",
        "percentage points": "percentage point",
    }
    if unit == "days" and value >= 365 and value % 365 == 0:  # a term of years, as meant
        years = value // 365
        return f"{value:,} days ({years} year{'s' if years > 1 else ''})"
    if unit in singular:
        return f"{value:,} {singular[unit] if value == 1 else unit}"
    if unit == "% of fee":
        return f"{value}% of the fee"
    if unit == "%":
        return f"{value}%"
    if unit == "of 10":
        return f"{value} out of 10"
    return f"{value} {unit}".strip()


def _days(name: str, label: str, low: int = 1, high: int = 365) -> Param:
    return Param(name, label, "days", low, high)


CATALOGUE: tuple[Protocol, ...] = (
    Protocol(
        "escalation_ladder",
        "Escalation ladder",
        "Direct discussion, then facilitated mediation, then binding arbitration.",
        (
            _days("direct_days", "Direct discussion time box", high=60),
            _days("mediation_days", "Mediation time box", high=90),
            _days("arbitration_days", "Arbitration time box", high=180),
        ),
    ),
    Protocol(
        "mediation",
        "Mediation protocol",
        "Mediators, triggers and ground rules agreed before any conflict arises.",
        (
            _days("trigger_days", "Unresolved disagreement triggers mediation after", high=60),
            Param(
                "trust_threshold",
                "Mediation starts when a trust rating falls below",
                "of 10",
                1,
                10,
                "max",
            ),
            _days("brief_due_days", "Disagreement brief due within", high=14),
        ),
    ),
    Protocol(
        "communication_tiers",
        "Communication tiers",
        "Three tiers of messages with agreed response times.",
        (
            Param("urgent_hours", "Tier 1 (urgent) response", "hours", 1, 24),
            Param("important_hours", "Tier 2 (important) response", "hours", 1, 72),
            Param("strategic_hours", "Tier 3 (strategic and creative) response", "hours", 1, 168),
        ),
    ),
    Protocol(
        "decision_log",
        "Decision log",
        "Every significant decision recorded with alternatives, rationale and owners.",
        (_days("review_every_days", "Log reviewed every", high=31),),
    ),
    Protocol(
        "feedback_streams",
        "Feedback streams",
        "Feedback sorted into Must Fix, Consider Changing and Future Reference.",
        (_days("must_fix_days", "Must Fix items addressed within", high=30),),
    ),
    Protocol(
        "trust_check",
        "Trust check",
        "A regular 1-10 rating of transparency, reliability and mutual respect.",
        (
            _days("every_days", "Held every", low=7, high=90),
            Param("threshold", "Structured talk when a rating falls below", "of 10", 1, 10, "max"),
        ),
    ),
    Protocol(
        "failure_debriefs",
        "Blameless failure debriefs",
        "After each milestone, what did not work is discussed without assigning blame.",
        (_days("within_days", "Held after each milestone, within", high=30),),
    ),
    Protocol(
        "creative_veto",
        "Creative veto with alternative",
        "Either partner may veto a creative proposal but must offer a constructive alternative.",
        (_days("alternative_within_days", "Alternative proposed within", high=30),),
    ),
    Protocol(
        "creative_tension_review",
        "Creative tension review",
        "A standing review of creative disagreements before they harden.",
        (_days("every_days", "Held every", low=7, high=90),),
    ),
    Protocol(
        "risk_sharing",
        "Risk sharing",
        "Penalties for delay balanced by bonuses for early completion.",
        (
            Param("penalty_pct_per_week", "Delay penalty per week", "% of fee", 0, 10, "max"),
            Param("bonus_pct_per_week", "Early finish bonus per week", "% of fee", 0, 10, "max"),
            Param("cap_pct", "Cap on penalty and bonus", "% of fee", 1, 30, "max"),
        ),
    ),
    Protocol(
        "contribution_weighted_revenue",
        "Contribution-weighted revenue sharing",
        "Revenue shared in proportion to agreed, measured contributions.",
        (_days("review_every_days", "Contribution weights reviewed every", low=30, high=365),),
    ),
    Protocol(
        "dynamic_equity",
        "Dynamic equity",
        "A baseline split adjustable within a band at milestones against agreed metrics.",
        (
            Param(
                "band_pct", "Adjustment band around the baseline split", "percentage points", 1, 50
            ),
        ),
    ),
    Protocol(
        "risk_adjusted_returns",
        "Risk-adjusted return distribution",
        "Returns weighted by the financial, creative, reputational and opportunity risk borne.",
        (_days("review_every_days", "Risk weights reviewed every", low=30, high=365),),
    ),
    Protocol(
        "financial_review",
        "Financial transparency review",
        "A regular review of the figures, with shared access for both parties.",
        (_days("every_days", "Held every", low=7, high=92),),
    ),
    Protocol(
        "data_ownership",
        "Data ownership",
        "Who owns what the collaboration produces, with exports to neutral storage.",
        (
            _days("export_every_days", "Export to neutral storage every", high=92),
            Param("access_after_end_days", "Access kept after the end", "days", 30, 3650, "max"),
        ),
    ),
    Protocol(
        "technology_review",
        "Technology review",
        "A regular look at the tools and platforms the work depends on.",
        (_days("every_days", "Held every", low=30, high=183),),
    ),
    Protocol(
        "health_assessment",
        "Partnership health assessment",
        "A structured assessment of the partnership across eight dimensions.",
        (_days("every_days", "Held every", low=30, high=183),),
    ),
    Protocol(
        "quarterly_checkins",
        "Check-ins between projects",
        "Regular check-ins that keep the relationship alive between projects.",
        (_days("every_days", "Held every", low=30, high=183),),
    ),
    Protocol(
        "retrospective",
        "Project retrospective",
        "A joint retrospective after each project.",
        (_days("within_days", "Held after each project, within", high=60),),
    ),
    Protocol(
        "strategic_partnership_charter",
        "Strategic partnership charter",
        "Shared goals beyond one project, resource commitments, governance and evaluation.",
        (Param("horizon_years", "Horizon", "years", 1, 10, "max"),),
    ),
    Protocol(
        "sprint_cadence",
        "Sprint cadence",
        "Short sprints with defined deliverables and a review session at the end of each.",
        (_days("sprint_days", "Sprint length", low=5, high=30),),
    ),
    Protocol(
        "resource_boundaries",
        "Resource and creative boundaries",
        "Explicit lines between resource contributions and creative input.",
        (_days("review_every_days", "Boundaries reviewed every", low=30, high=183),),
    ),
    Protocol(
        "alignment_workshop",
        "Alignment workshop",
        "A facilitated workshop before production on the questions where the parties differ.",
        (
            Param("hours", "Workshop length", "hours", 2, 16, "max"),
            Param("before_production_days", "Held before production by", "days", 1, 90, "max"),
        ),
    ),
    Protocol(
        "relationship_building",
        "Relationship building",
        "Deliberate time together so the partnership does not turn transactional.",
        (_days("every_days", "Held every", low=7, high=92),),
    ),
)

BY_ID: dict[str, Protocol] = {p.id: p for p in CATALOGUE}
PROTOCOL_IDS: tuple[str, ...] = tuple(BY_ID)
