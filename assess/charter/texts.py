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

# A hybrid's responsibilities, by (primary, secondary) model: one set per side, written for
# the pair with the primary model leading. The two models' own sets, printed one after the
# other, would give a side duties that contradict each other.
HYBRID_ROLES: dict[tuple[str, str], Roles] = {
    ("integrated", "agile"): Roles(
        producer=(
            "Takes part in creative development as an equal partner, from concept to delivery.",
            "Owns the budget and schedule, runs the sprint cadence and facilitates each sprint "
            "review.",
            "Brings production expertise and audience and platform data to planning and "
            "reviews, before choices are fixed.",
        ),
        creator=(
            "Leads the creative vision and explains the reasons behind creative choices.",
            "Plans each sprint with the Producer side and shows the agreed increment at its "
            "review.",
            "Raises early any change of direction, and any work that cannot fit within a sprint.",
        ),
        shared=(
            "The backlog is ordered jointly; creative decisions of consequence, a change of "
            "direction included, are taken jointly and entered in the decision log.",
            "Scope may change between sprints by agreement at planning; the goal and the "
            "budget change only by joint decision.",
        ),
    ),
    ("agile", "integrated"): Roles(
        producer=(
            "Runs the sprint cadence: plans each sprint with the Creator side and facilitates "
            "its review.",
            "Keeps the backlog of deliverables visible and orders it with the Creator side at "
            "each sprint planning.",
            "Takes part in creative development as a partner at planning and review, and "
            "brings audience and platform data to both.",
        ),
        creator=(
            "Leads the creative vision and delivers the agreed increment in each sprint.",
            "Adapts scope and direction in response to feedback between sprints, in agreement "
            "with the Producer side.",
            "Raises early any change that cannot fit within a sprint.",
        ),
        shared=(
            "Creative decisions of consequence are taken jointly, as a rule at sprint planning "
            "or review, and entered in the decision log.",
            "Scope may change between sprints; the goal and the budget change only by joint "
            "decision.",
        ),
    ),
    ("integrated", "strategic_resource"): Roles(
        producer=(
            "Takes part in creative development as an equal partner, from concept to delivery.",
            "Provides the agreed resources (funding, venue, equipment, archives or specialist "
            "expertise) on the agreed terms and dates.",
            "Owns the production plan, budget and schedule, shares them openly and reports "
            "promptly on anything that affects a resource.",
        ),
        creator=(
            "Leads the creative vision and involves the Producer side in creative decisions "
            "from the first concept onwards.",
            "Uses the contributed resources for the agreed purpose and accounts for their use.",
            "Weighs production constraints and the terms of each resource early rather than "
            "at the point of delivery.",
        ),
        shared=(
            "Creative decisions of consequence are taken jointly and entered in the decision "
            "log, except those the resource and creative boundaries leave to the Creator side.",
            "A side's creative say comes from the partnership, not from the size of its "
            "resource contribution.",
        ),
    ),
    ("strategic_resource", "integrated"): Roles(
        producer=(
            "Provides the agreed resources (funding, venue, equipment, archives or specialist "
            "expertise) on the agreed terms and dates.",
            "Takes part as a creative partner in the work opened to joint development, and "
            "gives other creative input only where invited.",
            "Reports promptly on anything that affects the availability of a resource.",
        ),
        creator=(
            "Holds creative direction, and involves the Producer side from the first concept "
            "in the work opened to joint development.",
            "Uses the contributed resources for the agreed purpose and accounts for their use.",
            "Keeps the Producer side informed of progress, beyond the minimum the contract "
            "requires.",
        ),
        shared=(
            "The resource and creative boundaries name the work opened to joint development; "
            "creative decisions outside it stay with the Creator side, subject to the creative "
            "veto.",
            "Both sides invest time in the relationship itself, not only in transactions.",
        ),
    ),
    ("agile", "strategic_resource"): Roles(
        producer=(
            "Runs the sprint cadence: plans each sprint with the Creator side and facilitates "
            "its review.",
            "Provides the agreed resources on the agreed terms, in time for the sprints that "
            "need them, and reports promptly on anything that affects them.",
            "Brings audience and platform data into each review; gives other creative input "
            "only where invited or where the boundaries allow.",
        ),
        creator=(
            "Holds creative direction within the agreed boundaries and keeps the backlog of "
            "deliverables ordered by value.",
            "Delivers the agreed increment in each sprint and adapts scope and direction in "
            "response to feedback between sprints.",
            "Uses the contributed resources for the agreed purpose, accounts for their use and "
            "raises early any change that alters what a sprint needs of them.",
        ),
        shared=(
            "Scope may change between sprints; the goal, the budget and the terms of a "
            "resource contribution change only by joint decision.",
            "The line between resource contributions and creative input is written down and "
            "reviewed, not assumed.",
        ),
    ),
    ("strategic_resource", "agile"): Roles(
        producer=(
            "Provides the agreed resources (funding, venue, equipment, archives or specialist "
            "expertise) on the agreed terms, in time for the sprints that need them.",
            "Agrees each sprint's deliverables at planning; gives creative input only where "
            "invited or where the boundaries in this charter allow.",
            "Reports promptly on anything that affects the availability of a resource.",
        ),
        creator=(
            "Holds creative direction within the agreed boundaries and keeps the backlog of "
            "deliverables ordered by value.",
            "Runs the sprint cadence: plans each sprint with the Producer side, delivers the "
            "agreed increment and shows it at the review.",
            "Uses the contributed resources for the agreed purpose, accounts for their use and "
            "raises early any change of scope that alters what they are needed for.",
        ),
        shared=(
            "Scope may change between sprints within the agreed boundaries; the goal, the "
            "budget and the terms of a resource contribution change only by joint decision.",
            "Both sides invest time in the relationship itself, not only in the business of "
            "each sprint.",
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
