"""The charter's HTML: one clause per chosen protocol, escaped user text, working links."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from conftest import ANSWERS, make_details
from hypothesis import given, settings
from hypothesis import strategies as st

from assess import charter
from assess.charter import render
from assess.decision import ChosenProtocol, Decision
from assess.engine import evaluate
from assess.factors import FACTOR_KEYS
from assess.protocols import BY_ID, CATALOGUE, quantity

CLAUSE = re.compile(
    r'<article class="clause" id="clause-([a-z-]+)">\s*'
    r'<h2><span class="num">([\d.]+) </span>([^<]+)</h2>'
)


def clauses(html: str) -> dict[str, tuple[str, str]]:
    return {m[1].replace("-", "_"): (m[2], m[3]) for m in CLAUSE.finditer(html)}


def test_every_protocol_has_its_own_clause_text() -> None:
    folder = render.TEMPLATES / "clauses"
    assert {p.id for p in CATALOGUE} <= {f.stem for f in folder.glob("*.html")}


def test_the_decision_s_protocols_and_only_those_become_clauses(
    decisions: dict[str, Decision],
) -> None:
    for decision in decisions.values():
        found = clauses(charter.to_html(decision, make_details()))
        assert set(found) == {p.id for p in decision.protocols}
        assert {title for _, title in found.values()} == {
            BY_ID[p.id].title for p in decision.protocols
        }


@settings(max_examples=25, deadline=None)
@given(st.tuples(*[st.integers(1, 5)] * len(FACTOR_KEYS)))
def test_any_answers_render_a_complete_charter(values: tuple[int, ...]) -> None:
    decision = evaluate(dict(zip(FACTOR_KEYS, values, strict=True)), what_if=True)
    html = charter.to_html(decision, make_details())
    assert set(clauses(html)) == {p.id for p in decision.protocols}
    assert decision.title in html
    numbers = [n for n, _ in clauses(html).values()]
    assert len(numbers) == len(set(numbers))


def test_clauses_are_numbered_within_their_sections(decisions: dict[str, Decision]) -> None:
    html = charter.to_html(decisions["hybrid"], make_details())
    sections = re.findall(r'<h1><span class="num">(\d+)</span> ([^<]+)</h1>', html)
    assert [int(n) for n, _ in sections] == list(range(1, len(sections) + 1))
    assert sections[0][1] == "Parties and purpose" and sections[-1][1] == "Review calendar"
    for number, _ in clauses(html).values():
        section, _, index = number.partition(".")
        assert 1 <= int(section) <= len(sections) and int(index) >= 1


def test_contents_links_point_at_existing_anchors(decisions: dict[str, Decision]) -> None:
    html = charter.to_html(decisions["integrated"], make_details())
    toc = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    targets = re.findall(r'href="#([^"]+)"', toc)
    assert len(targets) > 10
    ids = set(re.findall(r'id="([^"]+)"', html))
    assert set(targets) <= ids


def test_parameters_are_written_with_units_and_blanks_when_missing(
    decisions: dict[str, Decision],
) -> None:
    base = decisions["standard"]
    decision = Decision(
        answers=base.answers,
        model=base.model,
        components=base.components,
        scores=base.scores,
        protocols=(
            ChosenProtocol("communication_tiers", {"urgent_hours": 1, "important_hours": 24}),
            ChosenProtocol("risk_sharing", {"penalty_pct_per_week": 2}),
            ChosenProtocol("mediation", {"trigger_days": 1, "trust_threshold": 6}),
        ),
        escalation=base.escalation,
        trace=base.trace,
        rules_version=base.rules_version,
    )
    html = charter.to_html(decision, make_details())
    assert '<strong class="value">1 hour</strong>' in html
    assert '<strong class="value">24 hours</strong>' in html
    assert '<strong class="value">2% of the fee</strong>' in html
    assert '<strong class="value">1 day</strong>' in html
    assert '<strong class="value">6 out of 10</strong>' in html
    tiers = html.split('id="clause-communication-tiers"', 1)[1].split("</article>", 1)[0]
    assert tiers.count('<span class="blank"></span>') == 1  # strategic_hours was not given


def test_the_charter_itself_carries_no_preview_banner(decisions: dict[str, Decision]) -> None:
    html = charter.to_html(decisions["integrated"], make_details())
    assert "preview-banner" not in html.split("<body>", 1)[1]


def test_user_text_is_escaped_everywhere(decisions: dict[str, Decision]) -> None:
    hostile = '<img src="file:///etc/passwd"><script>alert(1)</script>{{ 7*7 }}'
    details = make_details(
        project=hostile,
        consultant=hostile,
        project_summary=hostile,
        mediators_internal=[hostile],
        arbitration=hostile,
        data_storage=hostile,
        parties=[
            {"side": "producer", "name": hostile, "role": hostile},
            {"side": "creator", "name": "Bo"},
        ],
    )
    html = charter.to_html(decisions["integrated"], details)
    assert "<script" not in html and "<img" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;&lt;script&gt;" in html
    # The braces stay text: user input is never evaluated as a template.
    assert "alert(1)&lt;/script&gt;{{ 7*7 }}" in html


def test_mediators_and_revenue_split_fill_their_clauses(decisions: dict[str, Decision]) -> None:
    html = charter.to_html(decisions["integrated"], make_details())
    assert '<span class="mediator">Dana Holt</span>' in html
    assert '<strong class="value">55%</strong> to the Producer side' in html
    blank = charter.to_html(
        decisions["integrated"],
        make_details(mediators_internal=[], mediators_external=[], revenue_split=None),
    )
    assert "Dana Holt" not in blank and '<span class="blank wide"></span>' in blank


def test_the_charter_code_does_not_import_flask() -> None:
    package = Path(render.__file__).parent
    # The radar's geometry is the web pages' too, so it is where Flask could creep in.
    for module in [*package.glob("*.py"), package.parent / "radar.py"]:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert "flask" not in imported, module.name


def test_where_the_parties_started_apart_becomes_a_section_and_mediation_topics() -> None:
    from assess.alignment import Respondent
    from assess.engine import evaluate_respondents

    producer = dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 2, "creative_collaboration": 2}
    creator = dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 5, "creative_collaboration": 5}
    decision = evaluate_respondents(
        [Respondent("Ann Lee", "producer", producer), Respondent("Bo Chen", "creator", creator)],
        {"innovation": 4},
        what_if=True,
    )
    html = charter.to_html(decision, make_details())
    part = html.split('id="section-alignment"', 1)[1].split("</section>", 1)[0]
    assert "Innovation requirements" in part and "Depth of creative collaboration" in part
    assert "Agreed after discussion" in part and "Cautious middle, not yet agreed" in part
    assert part.count("Ann Lee") == 2  # once per gap
    mediation = html.split('id="clause-mediation"', 1)[1].split("</article>", 1)[0]
    assert "first topics for mediation: innovation requirements; depth of creative" in mediation
    plain = charter.to_html(evaluate(dict.fromkeys(FACTOR_KEYS, 3)), make_details())
    assert 'id="section-alignment"' not in plain and "First topics" not in plain


def test_the_radar_outlines_each_respondent_s_own_answers_over_the_agreed_ones() -> None:
    from assess.alignment import Respondent
    from assess.engine import evaluate_respondents

    people = [
        Respondent(f"Person {i}", "producer" if i % 2 else "creator", dict.fromkeys(FACTOR_KEYS, 3))
        for i in range(5)
    ]
    people[0] = Respondent("Ann Lee", "producer", dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 1})
    people[1] = Respondent("Bo Chen", "creator", dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 5})
    decision = evaluate_respondents(people[:2], {}, what_if=True)
    figure = charter.to_html(decision, make_details()).split('<figure class="radar">', 1)[1]
    svg, caption = figure.split("</svg>", 1)[0], figure.split("<figcaption>", 1)[1]
    outlined = re.findall(r'<polygon points="([^"]+)" fill="none" stroke="#(?!c9c2b3)', svg)
    # Each outline is where that person's own answers alone would put the chart's shape.
    assert outlined == [render.printed_radar(p.answers).series[0].points for p in people[:2]]
    assert outlined[0] != outlined[1] != render.printed_radar(decision.answers).series[0].points
    caption = caption.split("</figcaption>", 1)[0]
    assert (
        "Levels the charter rests on" in caption
        and '\u2068Ann Lee\u2069 <span class="side">(producer side)' in caption
    )
    assert '\u2068Bo Chen\u2069 <span class="side">(creator side)' in caption

    crowd = charter.to_html(evaluate_respondents(people, {}, what_if=True), make_details())
    svg = crowd.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r'fill="none" stroke="#(?!c9c2b3)', svg)) == 3
    assert "2 more respondents not drawn." in crowd

    single = charter.to_html(evaluate(dict.fromkeys(FACTOR_KEYS, 3)), make_details())
    assert "Levels the charter rests on" not in single
    assert "The eight answers on the 1–5 scale" in single


def test_the_assessment_appendix_gives_each_respondent_s_own_level() -> None:
    from assess.alignment import Respondent
    from assess.engine import evaluate_respondents

    people = [
        Respondent("Ann Lee", "producer", dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 1}),
        Respondent("ليلى حداد", "creator", dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 5}),
    ]
    html = charter.to_html(evaluate_respondents(people, {}, what_if=True), make_details())
    appendix = html.split('class="answers"', 1)[1].split("</table>", 1)[0]
    innovation = appendix.split("Innovation requirements", 1)[1].split("</tr>", 1)[0]
    # Each name is isolated: an Arabic name would otherwise pull its level to its left.
    assert "\u2068Ann Lee\u2069&nbsp;1 · \u2068ليلى حداد\u2069&nbsp;5" in innovation
    assert appendix.count('class="question own"') == len(FACTOR_KEYS)
    single = charter.to_html(evaluate(dict.fromkeys(FACTOR_KEYS, 3)), make_details())
    assert 'class="question own"' not in single


def test_the_radar_rings_are_drawn_above_the_filled_outer_ring(
    decisions: dict[str, Decision],
) -> None:
    html = charter.to_html(decisions["standard"], make_details())
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    rings = re.findall(r'<polygon points="[^"]+" fill="([^"]+)" stroke="#c9c2b3"', svg)
    # SVG paints in document order: the filled ring must come first or it hides the others.
    assert rings == ["#f4f1ea"] + ["none"] * 4


# No single-step change of these answers changes the recommendation: no tipping points.
ROBUST = dict(zip(FACTOR_KEYS, (4, 2, 1, 4, 1, 4, 4, 5), strict=True))


def test_the_issue_date_is_the_day_in_the_zone_it_was_given(
    decisions: dict[str, Decision],
) -> None:
    # 8 pm on New Year's Eve in New York is 1 January 2028 in UTC.
    details = make_details(issued_at="2027-12-31T20:00:00-05:00")
    html = charter.to_html(decisions["standard"], details)
    assert '<div class="key">Issued</div><div class="value">31 December 2027</div>' in html
    assert '<div class="key">Effective from</div><div class="value">31 December 2027</div>' in html
    assert details.start == date(2027, 12, 31)  # the review calendar counts from it
    assert charter.document_id(decisions["standard"], details).startswith("PC-2027-")


def test_a_robust_charter_refers_to_no_tipping_points_it_lacks() -> None:
    decision = evaluate(ROBUST, what_if=True)
    assert decision.what_if == ()  # robust: the model section has no "Tipping points"
    html = charter.to_html(decision, make_details())
    assert "Tipping points</h2>" not in html
    assert "named under Tipping points" not in html


def test_a_charter_whose_tipping_points_were_not_looked_for_claims_no_robustness() -> None:
    # Evaluated without looking one step away: the charter cannot know there are none.
    assert evaluate(ANSWERS["hybrid"], what_if=True).what_if
    decision = evaluate(ANSWERS["hybrid"])
    assert decision.what_if is None
    html = " ".join(charter.to_html(decision, make_details()).split())
    assert "No change of one step" not in html and "robust" not in html
    assert "Tipping points</h2>" not in html and "named under Tipping points" not in html
    # The model section's numbered paragraphs still run on without a gap.
    model = html.split('id="section-model"', 1)[1].split("</section>", 1)[0]
    numbers = re.findall(r'<span class="pn">2\.(\d+)</span>', model)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)], numbers


def test_a_stored_decision_kept_without_tipping_points_claims_no_robustness() -> None:
    data = evaluate(ANSWERS["hybrid"], what_if=True).to_dict()
    del data["what_if"]
    html = " ".join(charter.to_html(Decision.from_dict(data), make_details()).split())
    assert "No change of one step" not in html and "robust" not in html


def test_the_equity_band_says_percentage_points(decisions: dict[str, Decision]) -> None:
    decision = decisions["integrated"]
    band = next(p for p in decision.protocols if p.id == "dynamic_equity").params["band_pct"]
    html = charter.to_html(decision, make_details())
    clause = re.search(r'id="clause-dynamic-equity">(.*?)</article>', html, re.S)
    assert clause is not None
    # A 55/45 baseline moved "by up to 20%" reads as 44-66 or as 35-75; the rule means points.
    assert f"{band} percentage points" in re.sub(r"<[^>]+>", "", clause.group(1))


@pytest.mark.parametrize(
    ("split", "producer_range"),
    [((55, 45), "35% and 75%"), ((90, 10), "70% and 100%"), ((5, 95), "0% and 25%")],
)
def test_the_equity_band_keeps_each_share_between_nothing_and_everything(
    decisions: dict[str, Decision], split: tuple[int, int], producer_range: str
) -> None:
    decision = decisions["integrated"]
    assert next(p for p in decision.protocols if p.id == "dynamic_equity").params["band_pct"] == 20
    details = make_details(revenue_split={"producer": split[0], "creator": split[1]})
    html = charter.to_html(decision, details)
    clause = re.search(r'id="clause-dynamic-equity">(.*?)</article>', html, re.S)
    assert clause is not None
    text = " ".join(re.sub(r"<[^>]+>", "", clause.group(1)).split())
    # 90% to one side, moved 20 points either way, read as 110% to one side and -10% to
    # the other: the clause states the range the band allows within the whole.
    assert f"the Producer side's share stays between {producer_range}" in text, text


def test_the_ladder_s_early_exits_agree_with_its_table(decisions: dict[str, Decision]) -> None:
    html = charter.to_html(decisions["standard"], make_details())
    clause = re.search(r'id="clause-escalation-ladder">(.*?)</article>', html, re.S)
    assert clause is not None
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", clause.group(1)))
    # The table lets either side end direct talks by written notice, and the mediator end
    # mediation: the opening sentence must not say only a joint decision ends a tier early.
    assert "either side gives written notice" in text
    assert "or earlier when both sides agree to move on" not in text
    assert "earlier in the cases named in the last column of the table" in text


@pytest.mark.parametrize(("kind", "wait"), [("standard", "7 days"), ("agile", "3 days")])
def test_finding_a_mediator_leaves_most_of_the_mediation_time_box(
    decisions: dict[str, Decision], kind: str, wait: str
) -> None:
    """Under a ten-day mediation box, a week to find a mediator would leave three."""
    text = " ".join(charter.to_html(decisions[kind], make_details()).split())
    assert f"no internal candidate is available within {wait} or either side objects" in text


def test_each_consideration_says_which_model_it_argues_for() -> None:
    decision = evaluate(dict.fromkeys(FACTOR_KEYS, 3) | {"innovation": 5, "timeline_pressure": 5})
    html = charter.to_html(decision, make_details())
    why = html.split("Why this model", 1)[1].split("</ul>", 1)[0]
    why = re.sub(r'<span class="compound">([^<]*)</span>', r"\1", why)
    assert "(Integrated Co-Creation +3, Agile Production Partnership +1)" in why
    assert "Integrated Co-Creation \u22121)" in why  # what a short timeline takes away


@pytest.mark.parametrize(
    ("duration", "access"), [(4, "730 days (2 years)"), (5, "1,825 days (5 years)")]
)
def test_a_term_of_whole_years_is_also_given_in_years(duration: int, access: str) -> None:
    answers = dict.fromkeys(FACTOR_KEYS, 3) | {"relationship_duration": duration}
    decision = evaluate(answers, what_if=True)
    html = re.sub(r"<[^>]+>", "", charter.to_html(decision, make_details()))
    assert f"keeps access to the exported material for {access}." in html


@pytest.mark.parametrize(
    ("value", "unit", "written"),
    [
        (1, "days", "1 day"),
        (364, "days", "364 days"),
        (365, "days", "365 days (1 year)"),
        (400, "days", "400 days"),
        (3650, "days", "3,650 days (10 years)"),
        (1200, "hours", "1,200 hours"),
        (15, "% of fee", "15% of the fee"),
    ],
)
def test_quantities_read_as_a_contract_writes_them(value: int, unit: str, written: str) -> None:
    assert quantity(value, unit) == written
