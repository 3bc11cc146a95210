"""Build the charter's HTML from a decision and the engagement details (Jinja, no Flask)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from assess import partnership
from assess.alignment import JOINT, SIDE_LABELS, told_apart
from assess.charter import calendar, texts
from assess.charter.details import CharterDetails, document_id_for
from assess.decision import ChosenProtocol, Decision
from assess.factors import BY_KEY, FACTORS, Factor
from assess.protocols import BY_ID as PROTOCOLS
from assess.protocols import Param, quantity
from assess.radar import PRINT, Radar, radar

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "charter"
RUNNING_TITLE_CHARS = 64  # the running header holds one line of this text_width


@dataclass(frozen=True)
class Clause:
    """One protocol as a numbered clause: its template reads the parameters through ``value``."""

    number: str
    protocol: ChosenProtocol
    title: str
    template: str

    @property
    def anchor(self) -> str:
        return f"clause-{self.protocol.id.replace('_', '-')}"

    def has(self, name: str) -> bool:
        return name in self.protocol.params

    def raw(self, name: str, default: int = 0) -> int:
        return self.protocol.params.get(name, default)

    def value(self, name: str) -> Markup:
        """Return the parameter as emphasised text, or a blank line to fill in by hand."""
        if name not in self.protocol.params:
            return Markup('<span class="blank"></span>')
        spec = PROTOCOLS[self.protocol.id].param(name)
        text = quantity(self.protocol.params[name], spec.unit if spec else "")
        return Markup('<strong class="value">{}</strong>').format(text)


@dataclass(frozen=True)
class Section:
    """A numbered part of the charter; ``template`` lives in templates/charter/sections/."""

    key: str
    title: str
    template: str
    number: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return f"section-{self.key}"


@dataclass(frozen=True)
class Outline:
    """How the printed chart tells one respondent's own answers apart, and whose they are."""

    side: str
    colour: str
    dash: str
    line: str  # the dash in words, for the key's text alternative


# Dark enough on white in print and on a grey-scale copy, and told apart by the dash too.
OVERLAY_STYLES = (
    ("#9a5b00", "5 2.5", "Dashed line"),
    ("#0f7a6b", "1.5 2", "Dotted line"),
    ("#7830a0", "7 2 1.5 2", "Dash-dot line"),
)


def isolate(text: str) -> Markup:
    """Set a name apart from the text around it (Unicode first-strong isolate): an Arabic
    or Hebrew name followed by a number would otherwise carry the number to its left, and
    a direction override left open in typed text would turn the rest of the sentence."""
    return Markup("\u2068%s\u2069") % text


def text_width(text: str) -> int:
    """Measure text in the width of a letter: a Chinese, Japanese or Korean character (East
    Asian wide or full-width) takes about two, so a length alone underestimates it."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


RESTS_ON = "Levels the charter rests on"


def printed_radar(
    answers: Mapping[str, int],
    respondents: Sequence[tuple[str, str, Mapping[str, int]]] = (),
) -> Radar[Outline | None]:
    """Lay out the levels the charter rests on (the first series, with no outline of their
    own) and each respondent's (name, side, answers) outlined over them; past the last style,
    the alignment section lists those left out. The levels are not all agreed: where the
    Parties agreed none, a level is the cautious middle of their answers."""
    series: list[tuple[tuple[str, str], Outline | None, Mapping[str, int]]] = [
        ((RESTS_ON, ""), None, answers)
    ]
    series += [
        ((name, ""), Outline(side, *style), own)
        for (name, side, own), style in zip(respondents, OVERLAY_STYLES, strict=False)
    ]
    left_out = [(name, side) for name, side, _ in respondents[len(OVERLAY_STYLES) :]]
    return radar(series, left_out=left_out, frame=PRINT)


def assessment_json(decision: Decision) -> bytes:
    """Serialise the decision exactly as the charter's ``assessment.json`` attachment holds it."""
    return json.dumps(decision.to_dict(), sort_keys=True, indent=2, ensure_ascii=False).encode()


def document_environment(folder: Path) -> Environment:
    """Return a Jinja environment for printed documents: autoescaped, strict about undefined
    names, templates read once (they ship with the code; no stat() per render)."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@cache
def environment() -> Environment:
    """Return the charter's Jinja environment."""
    env = document_environment(TEMPLATES)
    env.filters["long_date"] = long_date
    env.filters["isolate"] = isolate
    env.filters["short_date"] = short_date
    env.filters["width"] = text_width
    env.filters["quantity"] = quantity
    env.filters["direction"] = direction
    env.filters["model_names_whole"] = model_names_whole
    env.filters["co_creation_whole"] = co_creation_whole
    return env


def model_names_whole(text: str) -> Markup:
    """Keep each model's name on one line in a title: "Integrated Co-" at a line's end, its
    "Creation" on the next, reads as two things."""
    html = escape(text)
    for model in partnership.MODELS:
        name = escape(model.title)
        html = Markup(html.replace(name, Markup('<span class="model-name">%s</span>') % name))
    return html


CO_CREATION = re.compile(r"\b[Cc]o-[Cc]reation\b")


def co_creation_whole(text: str) -> Markup:
    """Keep "co-creation" on one line in running text: "Integrated Co-" at a line's end, its
    "Creation" on the next, reads as a word the typesetter hyphenated."""
    return Markup(
        CO_CREATION.sub(lambda found: f'<span class="compound">{found[0]}</span>', escape(text))
    )


def direction(text: str) -> str:
    """Return the writing direction of a paragraph of the parties' own words, as the browser's
    ``dir="auto"`` would (WeasyPrint has no ``auto``): that of its first strong character."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


def _clauses(decision: Decision, first_number: int) -> list[Section]:
    chosen = {p.id: p for p in decision.protocols}
    grouped = {pid for _, _, _, ids in texts.GROUPS for pid in ids}
    sections: list[Section] = []
    for key, title, intro, ids in texts.GROUPS:
        members = [chosen[pid] for pid in ids if pid in chosen]
        if key == "reviews":  # a protocol the charter has no group for still gets its clause
            members += [p for p in decision.protocols if p.id not in grouped]
        if not members:
            continue
        number = str(first_number + len(sections))
        clauses = tuple(
            Clause(
                number=f"{number}.{index}",
                protocol=protocol,
                title=PROTOCOLS[protocol.id].title,
                template=(
                    f"clauses/{protocol.id}.html"
                    if (TEMPLATES / "clauses" / f"{protocol.id}.html").exists()
                    else "clauses/_generic.html"
                ),
            )
            for index, protocol in enumerate(members, start=1)
        )
        sections.append(
            Section(
                key, title, "sections/protocols.html", number, {"intro": intro, "clauses": clauses}
            )
        )
    return sections


def build_sections(decision: Decision, details: CharterDetails) -> list[Section]:
    """Lay out the charter's numbered sections in order; add new sections here."""
    numbered: list[Section] = [
        Section("parties", "Parties and purpose", "sections/parties.html"),
        Section("model", "The partnership model", "sections/model.html"),
    ]
    if discussion_items(decision):
        numbered.append(
            Section("alignment", "Where the Parties started apart", "sections/alignment.html")
        )
    numbered.append(Section("roles", "Roles and responsibilities", "sections/roles.html"))
    numbered = [
        Section(s.key, s.title, s.template, str(i), s.data) for i, s in enumerate(numbered, 1)
    ]
    numbered += _clauses(decision, len(numbered) + 1)
    numbered.append(
        Section(
            "general", "Standing of this charter", "sections/general.html", str(len(numbered) + 1)
        )
    )
    numbered.append(
        Section("calendar", "Review calendar", "sections/calendar.html", str(len(numbered) + 1))
    )
    return numbered


@dataclass(frozen=True)
class DiscussionItem:
    """A factor the respondents answered far apart, and the value the charter rests on."""

    factor: Factor
    views: tuple[tuple[str, str, int], ...]  # respondent name, side label, level
    gap: int
    settled: int
    agreed: bool
    note: str = ""


def own_levels(decision: Decision) -> dict[str, tuple[tuple[str, str, int], ...]]:
    """Each respondent's own level per factor as (name, side, level), in respondent order;
    the side is said where one person answers for each (none without alignment)."""
    if decision.alignment is None:
        return {}
    names = told_apart([(r.name, r.side) for r in decision.alignment.respondents])
    return {
        key: tuple(
            (name, side, level) for (name, side), level in zip(names, factor.values, strict=False)
        )
        for key, factor in decision.alignment.factors.items()
    }


def how_answered(decision: Decision) -> tuple[int, int]:
    """Count the answer sets given apart and those given together in an intake session."""
    sides = [r.side for r in decision.alignment.respondents] if decision.alignment else []
    together = sides.count(JOINT)
    return len(sides) - together, together


def discussion_items(decision: Decision) -> list[DiscussionItem]:
    """List the significant gaps between respondents, largest first (none without alignment)."""
    alignment = decision.alignment
    if alignment is None:
        return []
    items = []
    for key in alignment.significant:
        factor = alignment.factors[key]
        views = tuple(
            (r.name, SIDE_LABELS[r.side], value)
            for r, value in zip(alignment.respondents, factor.values, strict=False)
        )
        items.append(
            DiscussionItem(
                BY_KEY[key],
                views,
                factor.gap,
                decision.answers[key],
                key in alignment.agreed,
                alignment.notes.get(key, ""),
            )
        )
    return items


APPENDICES: tuple[Section, ...] = (
    Section("answers", "The assessment", "sections/answers.html", "A"),
    Section("trace", "How the recommendation was reached", "sections/trace.html", "B"),
)


def running_title(project: str) -> str:
    """The project's name as the running header holds it on one line: shortened, where it
    must be, after a whole word ("Northern Lights…", not "Northern Ligh…"); a name written
    without spaces, as Chinese is, anywhere."""
    if text_width(project) <= RUNNING_TITLE_CHARS:
        return project
    cut = project
    while text_width(cut) > RUNNING_TITLE_CHARS - 1:
        cut = cut[:-1]
    if not project[len(cut)].isspace():
        last_space = cut.rfind(" ")
        if last_space > len(cut) // 2:
            cut = cut[:last_space]
    return cut.rstrip() + "\u2026"


def context(decision: Decision, details: CharterDetails) -> dict[str, Any]:
    """Collect everything the charter templates show."""
    document_id = document_id_for(decision.to_dict(), details)
    sections = build_sections(decision, details)
    clauses = [c for s in sections for c in s.data.get("clauses", ())]
    clause_numbers = {c.protocol.id: c.number for c in clauses}
    series = calendar.review_series(decision, details.start)
    components = [partnership.BY_KEY[key] for key in decision.components]
    factors: list[tuple[Factor, int]] = [(f, decision.answers[f.key]) for f in FACTORS]
    running = running_title(details.project)
    return {
        "d": details,
        "decision": decision,
        "document_id": document_id,
        "running_title": running,
        "sections": sections,
        "appendices": APPENDICES,
        "clauses": clauses,
        "clause_numbers": clause_numbers,
        "clause": {c.protocol.id: c for c in clauses},
        "section_by_key": {s.key: s for s in sections},
        "components": components,
        "roles": roles_of(decision),
        "factors": factors,
        "own_levels": own_levels(decision),
        "discussion": discussion_items(decision),
        "answered": how_answered(decision),
        "radar": printed_radar(
            decision.answers,
            respondents=[
                (r.name, SIDE_LABELS[r.side], r.answers) for r in decision.alignment.answer_sets()
            ]
            if decision.alignment
            else (),
        ),
        "series": series,
        "months": calendar.month_rows(series, details.start),
        "calendar_end": calendar.twelve_months_after(details.start),
        "assessment_sha256": hashlib.sha256(assessment_json(decision)).hexdigest(),
        "texts": texts,
        "protocols": PROTOCOLS,
        "params_of": _params_of,
        "model_in_words": partnership.in_words(decision.model, decision.components),
        "score_rows": score_rows(decision),
        "rests_on": RESTS_ON,
    }


def roles_of(decision: Decision) -> texts.Roles:
    """The responsibilities of each side: a hybrid has its own set, written for the pair."""
    if decision.model == "hybrid":
        primary, secondary = decision.components
        return texts.HYBRID_ROLES[(primary, secondary)]
    return texts.ROLES[decision.model]


def score_rows(decision: Decision) -> list[tuple[str, float]]:
    """The models' titles and scores, ranked as the recommendation reads."""
    return [(partnership.BY_KEY[key].title, score) for key, score in decision.ranked_scores()]


def _params_of(protocol: ChosenProtocol) -> list[tuple[Param, int]]:
    spec = PROTOCOLS[protocol.id]
    return [(p, protocol.params[p.name]) for p in spec.params if p.name in protocol.params]


def render_html(
    decision: Decision,
    details: CharterDetails,
    *,
    stylesheet_url: str | None = None,
    inline_stylesheet: bool = False,
    banner: str | None = None,
    draft: bool = False,
) -> str:
    """Render the charter as one HTML document.

    For the PDF the stylesheet is passed to WeasyPrint separately. A browser preview either
    links it from ``stylesheet_url`` (see ``stylesheet_text``) or carries it inline, and may
    carry a ``banner`` above the document (on screen only) saying what the reader sees.
    A ``draft`` says so on its cover and in the running header of every page: a copy
    handed round before the freeze must never pass for the version to sign.
    """
    values = context(decision, details)
    values["stylesheet_url"] = stylesheet_url
    values["banner"] = banner
    values["draft"] = draft
    # Our own stylesheet file, never user input: safe to place in a <style> element.
    values["inline_stylesheet"] = Markup(stylesheet_text()) if inline_stylesheet else None
    return environment().get_template("charter.html").render(values)


def stylesheet_text() -> str:
    """Return the charter's stylesheet, for a web view that serves it to a browser preview:
    the print stylesheet, and the rules for a phone's screen."""
    return "\n".join(
        (TEMPLATES / name).read_text(encoding="utf-8") for name in ("charter.css", "phone.css")
    )
