"""The eight assessment factors: keys, questions, help text and level anchors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCALE = range(1, 6)


@dataclass(frozen=True)
class Factor:
    key: str
    label: str
    question: str
    help: str
    anchors: tuple[str, str, str, str, str]
    # Which end of the scale asks for more safeguards: used to settle a disagreement.
    cautious: Literal["low", "high"]

    def anchor(self, level: int) -> str:
        """Return the written anchor for a level on the 1-5 scale."""
        return self.anchors[level - 1]

    @property
    def scale(self) -> str:
        """The factor and the meaning of each level, for a program's reader: the API
        document says which end of the scale is which, as the questionnaire does."""
        levels = " ".join(f"{level}: {self.anchor(level)}" for level in SCALE)
        return f"{self.label}, from 1 to 5. {levels}"


FACTORS: tuple[Factor, ...] = (
    Factor(
        key="innovation",
        label="Innovation requirements",
        question="How new is what you are setting out to make?",
        help=(
            "Think of the format, the technology and the creative approach together. "
            "A partnership built to invent needs different rules from one built to deliver "
            "a known format well."
        ),
        anchors=(
            "A proven formula; doing it efficiently is the whole point.",
            "Mostly familiar, with a few fresh touches.",
            "A balance: a known core with real creative risks around it.",
            "Large parts have not been done this way before.",
            "Nothing like it exists yet; inventing it is the goal.",
        ),
        cautious="high",
    ),
    Factor(
        key="resource_availability",
        label="Resource availability",
        question="Do you already have what the project needs to happen?",
        help=(
            "Funding, a venue, equipment, archive rights, specialist skills. When a critical "
            "asset is missing and only a partner can bring it, that weighs heavily towards a "
            "partnership built around the asset."
        ),
        anchors=(
            "Critical assets are missing and only a partner can supply them.",
            "Several important resources still have to come from outside.",
            "The essentials are covered; some gaps remain.",
            "Nearly everything is in hand; gaps are minor.",
            "Everything needed is already secured.",
        ),
        cautious="low",
    ),
    Factor(
        key="risk_tolerance",
        label="Risk tolerance",
        question="How much creative and financial uncertainty can the partners live with?",
        help=(
            "Consider budget overruns, schedule slips and work that does not land with its "
            "audience. Low tolerance calls for tighter controls and earlier escalation."
        ),
        anchors=(
            "Any overrun or creative miss is unacceptable.",
            "Small deviations are tolerable if they are caught early.",
            "Moderate risk is fine when the upside is clear.",
            "Ready to take sizeable bets whose stakes are known in advance.",
            "Comfortable betting on uncertain creative and financial outcomes.",
        ),
        cautious="low",
    ),
    Factor(
        key="relationship_duration",
        label="Intended relationship duration",
        question="How long do you intend to work together?",
        help=(
            "A one-off engagement needs clear closure; a standing alliance needs ways to keep "
            "the relationship healthy between projects."
        ),
        anchors=(
            "A single short engagement.",
            "One project of a few months; a follow-up is possible but not planned.",
            "One substantial project lasting a year or more.",
            "Several projects over the coming years.",
            "A multi-year alliance across many projects.",
        ),
        cautious="low",
    ),
    Factor(
        key="timeline_pressure",
        label="Timeline pressure",
        question="How hard and how close is the release date?",
        help=(
            "Time pressure shortens every loop: response times, escalation and the length "
            "of work cycles."
        ),
        anchors=(
            "The schedule is open-ended.",
            "There is a target date with generous slack.",
            "A firm date with reasonable room to manoeuvre.",
            "A tight date that leaves little slack.",
            "A hard, near release date; time to market decides success.",
        ),
        cautious="high",
    ),
    Factor(
        key="creative_collaboration",
        label="Depth of creative collaboration",
        question="How much do the partners intend to decide creatively together?",
        help=(
            "Shared creative authority brings complementary expertise to the work, and also "
            "more occasions to disagree."
        ),
        anchors=(
            "The partner supplies a service; creative calls stay with one side.",
            "The partner is consulted on creative questions now and then.",
            "Creative input is shared on selected parts of the work.",
            "Most creative decisions are taken jointly.",
            "Both sides share creative decisions from concept to delivery.",
        ),
        cautious="high",
    ),
    Factor(
        key="iteration_readiness",
        label="Readiness for rapid iteration",
        question="How comfortable is the team with short cycles and changing plans?",
        help=(
            "Iterative work ships small pieces, listens to feedback and changes course. It "
            "suits teams at ease with ambiguity."
        ),
        anchors=(
            "The team needs a fixed plan and dislikes ambiguity.",
            "Some flexibility, but changes must be rare and planned.",
            "Open to iteration at set points of the project.",
            "Works in regular cycles and adapts to feedback readily.",
            "Ships in short cycles, adapts constantly, thrives on ambiguity.",
        ),
        cautious="low",
    ),
    Factor(
        key="planning_complexity",
        label="Pre-production planning complexity",
        question="How much has to be planned and locked before production starts?",
        help=(
            "Crews, locations, permits and venues must be booked early and are costly to "
            "move; digital-first work can change course cheaply."
        ),
        anchors=(
            "Little up-front planning; digital-first and easy to change course.",
            "Light planning; most decisions can wait until they are needed.",
            "A moderate plan with a few commitments that are hard to move.",
            "Substantial logistics to lock well before production.",
            "Heavy logistics that must be locked early: crews, locations, permits, venues.",
        ),
        cautious="high",
    ),
)

FACTOR_KEYS: tuple[str, ...] = tuple(f.key for f in FACTORS)
BY_KEY: dict[str, Factor] = {f.key: f for f in FACTORS}
