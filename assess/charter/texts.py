"""Words the charter uses that belong to no single clause: roles, groups, ground rules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Roles:
    producer: tuple[str, ...]
    creator: tuple[str, ...]
    shared: tuple[str, ...]


ROLES: dict[str, Roles] = {
    "integrated": Roles(
        producer=(
            "Takes part in creative development as an equal partner, from concept to delivery.",
            "Owns the production plan, budget and schedule, and shares them openly.",
            "Brings production expertise to creative discussions before choices are fixed.",
        ),
        creator=(
            "Leads the creative vision and explains the reasons behind creative choices.",
            "Involves the Producer side in creative decisions from the first concept onwards.",
            "Weighs production constraints early rather than at the point of delivery.",
        ),
        shared=(
            "Creative decisions of consequence are taken jointly and entered in the decision log.",
            "Each side respects the other's expertise in its own domain.",
        ),
    ),
    "strategic_resource": Roles(
        producer=(
            "Provides the agreed resources (funding, venue, equipment, archives or specialist "
            "expertise) on the agreed terms and dates.",
            "Gives creative input only where invited or where the boundaries in this charter "
            "allow.",
            "Reports promptly on anything that affects the availability of a resource.",
        ),
        creator=(
            "Holds creative direction within the agreed boundaries.",
            "Uses the contributed resources for the agreed purpose and accounts for their use.",
            "Keeps the Producer side informed of progress, beyond the minimum the contract "
            "requires.",
        ),
        shared=(
            "The line between resource contributions and creative input is written down and "
            "reviewed, not assumed.",
            "Both sides invest time in the relationship itself, not only in transactions.",
        ),
    ),
    "agile": Roles(
        producer=(
            "Runs the sprint cadence: plans each sprint with the Creator side and facilitates "
            "its review.",
            "Keeps the backlog of deliverables visible and ordered by value.",
            "Brings audience and platform data into each review.",
        ),
        creator=(
            "Delivers the agreed increment in each sprint and shows it at the review.",
            "Adapts scope and direction in response to feedback between sprints.",
            "Raises early any change that cannot fit within a sprint.",
        ),
        shared=(
            "Scope may change between sprints; the goal and the budget change only by joint "
            "decision.",
            "Feedback is given at reviews, in the agreed feedback streams.",
        ),
    ),
}

# Order and headings of the protocol sections; only groups with a chosen protocol appear.
GROUPS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "conflict",
        "Resolving disagreements",
        "How the Parties settle disagreements, from a direct conversation to a binding decision.",
        ("escalation_ladder", "mediation", "alignment_workshop"),
    ),
    (
        "communication",
        "Communication and decisions",
        "How the Parties reach each other, record what they decide and give feedback.",
        ("communication_tiers", "decision_log", "feedback_streams"),
    ),
    (
        "trust",
        "Trust and creative safety",
        "How the Parties keep trust measurable and creative disagreement productive.",
        ("trust_check", "failure_debriefs", "creative_veto", "creative_tension_review"),
    ),
    (
        "working",
        "Ways of working",
        "The working rhythm and boundaries that follow from the partnership model.",
        ("sprint_cadence", "resource_boundaries", "relationship_building"),
    ),
    (
        "financial",
        "Financial framework",
        "How money, risk and returns are shared, and how the figures stay visible to both sides.",
        (
            "risk_sharing",
            "contribution_weighted_revenue",
            "dynamic_equity",
            "risk_adjusted_returns",
            "financial_review",
        ),
    ),
    (
        "data",
        "Data and technology",
        "Who owns what the collaboration produces, and how the tools it depends on are reviewed.",
        ("data_ownership", "technology_review"),
    ),
    (
        "reviews",
        "Reviews and the longer relationship",
        "How the Parties look back, assess the partnership and carry it beyond one project.",
        (
            "health_assessment",
            "retrospective",
            "quarterly_checkins",
            "strategic_partnership_charter",
        ),
    ),
)

HEALTH_DIMENSIONS: tuple[str, ...] = (
    "Communication effectiveness",
    "Decision-making efficiency",
    "Conflict resolution",
    "Trust",
    "Fairness of resource allocation",
    "Creative alignment",
    "Financial transparency",
    "Strategic value",
)

MEDIATION_GROUND_RULES: tuple[str, ...] = (
    "Each side speaks for itself and is heard without interruption.",
    "What is said in mediation is confidential and is not used later as an admission.",
    "The discussion addresses interests and evidence, not personalities.",
    "The mediator guides the process; the Parties keep the decision.",
    "Work on the Project continues during mediation unless both sides agree to pause it.",
)

DISAGREEMENT_BRIEF: tuple[tuple[str, str], ...] = (
    ("Subject", "The decision or issue in dispute, in one sentence."),
    ("Position", "What this side wants to happen."),
    ("Underlying interests", "Why it matters: the needs and concerns behind the position."),
    ("Evidence", "Facts, figures, audience data or precedents that support the position."),
    ("Possible compromises", "Outcomes this side could accept, in order of preference."),
    ("Impact of delay", "What it costs the Project while the issue stays open."),
)
