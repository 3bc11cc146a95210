"""The charter reads as one consistent document whatever the decision: each table agrees with
the sentences about it, and defined terms are written the same way everywhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from conftest import EVERY_MODEL, make_details

from assess import charter
from assess.alignment import Respondent
from assess.decision import Decision
from assess.engine import evaluate, evaluate_respondents
from assess.factors import FACTOR_KEYS
from assess.partnership import BY_KEY as MODELS


def answers(digits: str) -> dict[str, int]:
    return dict(zip(FACTOR_KEYS, map(int, digits), strict=True))


# Answer sets, in factor order, whose decision has models on equal scores: a hybrid of two
# equal models, a hybrid whose secondary ties with the third model, a single model tied with
# another below the hybrid bar, and all three models at zero.
EQUAL_SCORES = ("11411141", "11441441", "12134344", "12144344", "33333333", "11441141")


class _Blocks(HTMLParser):
    """The text of each block of a document (paragraph, list item, cell), tags left out."""

    BLOCKS = frozenset({"p", "li", "td", "th", "h1", "h2", "caption", "figcaption"})
    SKIPPED = frozenset({"svg", "style", "head"})

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, list[str]]] = []
        self.open: list[tuple[str, list[str]]] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping -= 1
        elif tag in self.BLOCKS and self.open:
            self.blocks.append(self.open.pop())

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            for _, text in self.open:
                text.append(data)


def blocks(html: str, tags: tuple[str, ...] = ()) -> list[str]:
    """The text of each block, white space collapsed (a no-break space kept); only the blocks
    of these ``tags`` when given."""
    parser = _Blocks()
    parser.feed(html)
    return [
        re.sub(r"[^\S\u00a0]+", " ", "".join(text)).strip()
        for tag, text in parser.blocks
        if not tags or tag in tags
    ]


def score_table(html: str) -> list[str]:
    table = re.search(r'<table class="score-table">(.*?)</table>', html, re.DOTALL)
    assert table is not None
    return re.findall(r'<th scope="row">([^<]+)</th>', table[1])


@pytest.mark.parametrize("digits", EQUAL_SCORES)
def test_the_score_table_puts_the_recommended_models_first_among_equal_scores(
    digits: str,
) -> None:
    decision = evaluate(answers(digits), what_if=True)
    assert len(set(decision.scores.values())) < len(decision.scores)  # a tie, as meant
    rows = score_table(charter.to_html(decision, make_details()))
    assert rows[: len(decision.components)] == [MODELS[k].title for k in decision.components]
    by_title = {MODELS[key].title: score for key, score in decision.scores.items()}
    assert [by_title[title] for title in rows] == sorted(by_title.values(), reverse=True)


def test_the_score_table_ranks_every_decision_as_its_recommendation(
    decisions: dict[str, Decision],
) -> None:
    for decision in decisions.values():
        rows = score_table(charter.to_html(decision, make_details()))
        assert rows[0] == MODELS[decision.components[0]].title


@pytest.fixture(scope="module")
def every_model() -> dict[tuple[str, ...], str]:
    """The charter of each kind of recommendation, as HTML."""
    rendered = {}
    for components, digits in EVERY_MODEL.items():
        decision = evaluate(answers(digits), what_if=True)
        assert decision.components == components
        rendered[components] = charter.to_html(decision, make_details())
    return rendered


def test_the_sides_are_named_as_the_charter_defines_them(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # Section 1 defines "Producer side" and "Creator side": an obligation that names a side
    # uses the defined term.
    for html in every_model.values():
        assert "<dfn>Producer side</dfn>" in html and "<dfn>Creator side</dfn>" in html
        lowercase = [b for b in blocks(html) if re.search(r"\bthe (producer|creator) side\b", b)]
        assert lowercase == []


# Two partners' answers, in factor order: far apart on some factors, close on the others.
APART = (
    ("51331331", "15333333"),
    ("54343542", "12315213"),
    ("33333333", "33343333"),
    ("11111111", "55555555"),
)
AGREED = re.compile(r"\b(levels?|answers) agreed\b|\bagreed (answers|levels?)\b", re.IGNORECASE)


@pytest.mark.parametrize(("producer", "creator"), APART)
def test_levels_nobody_agreed_are_never_called_agreed(producer: str, creator: str) -> None:
    # With nothing agreed after discussion, each level is the cautious middle of the answers:
    # a sentence that calls the levels agreed says the other case too.
    people = [
        Respondent("Ann Lee", "producer", answers(producer)),
        Respondent("Bo Chen", "creator", answers(creator)),
    ]
    decision = evaluate_respondents(people, {}, what_if=True)
    assert decision.alignment is not None and not decision.alignment.agreed
    html = charter.to_html(decision, make_details())
    chart = re.findall(r"<title>(Radar chart[^<]*)</title>", html)
    said = [b for b in [*blocks(html), *chart] if AGREED.search(b)]
    assert said, "the charter says what the levels are"
    assert [b for b in said if "cautious middle" not in b] == []


def test_mediation_starts_on_the_same_trust_ratings_the_trust_check_takes(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # The trust check rates three qualities of the partnership, each out of 10; the mediation
    # trigger says which of those ratings starts it, not a score of its own.
    for html in every_model.values():
        text = blocks(html)
        trust = next(b for b in text if b.startswith("A rating below") and "any of the three" in b)
        assert "out of 10" in trust
        [trigger] = [b for b in text if b.endswith("; or") and "trust check (clause" in b]
        assert re.search(r"a rating below \d+ out of 10 on any of the three", trigger), trigger


def test_the_score_table_points_to_where_the_points_are_listed(
    every_model: dict[tuple[str, ...], str],
) -> None:
    for html in every_model.values():
        [where] = re.findall(r"Scores are the sum of the [a-z ]+ in ([^;]+);", html)
        if where.startswith("Appendix"):
            letter = where.split()[-1]
            part = html.split(f'<span class="num">Appendix {letter}</span>', 1)[1]
            part = part.split("</section>", 1)[0]
        else:
            part = html.split(f'<span class="pn">{where}</span>', 1)[1].split("</ul>", 1)[0]
        assert 'class="weights"' in part, where


def test_appendix_b_lists_the_rules_in_the_order_they_were_applied() -> None:
    # The scores choose the model before the protocol rules run: they test the model.
    for digits in EVERY_MODEL.values():
        decision = evaluate(answers(digits), what_if=True)
        html = charter.to_html(decision, make_details())
        trace = html.split('<table class="trace">', 1)[1].split("</table>", 1)[0]
        rows = re.findall(r'<td class="rule mono">([a-z0-9-]+)<span', trace)
        stage = {reason.rule: reason.stage for reason in decision.trace}
        assert sorted(rows) == sorted(stage)
        assert rows.index("hit-policy") < min(
            i for i, rule in enumerate(rows) if stage[rule] == "protocols"
        )
        assert rows == [r for r in rows if stage[r] == "scoring"] + [
            r for r in rows if stage[r] != "scoring"
        ]


def test_appendix_b_promises_only_what_the_answers_and_rules_decide(
    decisions: dict[str, Decision],
) -> None:
    # The same decision in another engagement's details is another charter: the appendix
    # promises the same recommendation and protocols, not the same document.
    decision = decisions["hybrid"]
    one = charter.to_html(decision, make_details())
    other = charter.to_html(decision, make_details(project="Another project"))
    assert one != other
    for html in (one, other):
        appendix = html.split('<table class="trace">', 1)[0].rsplit("<h1>", 1)[1]
        assert "always give the same recommendation and protocols" in appendix
        assert "same charter" not in appendix


def test_why_this_model_lists_every_consideration_it_says_it_lists(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # The list is every scoring rule that fired and the scores they add up to: an
    # introduction that speaks of a selection ("those that weighed most") would leave the
    # reader looking for the others.
    for components, digits in EVERY_MODEL.items():
        decision = evaluate(answers(digits))
        html = every_model[components]
        intro, reasons = html.split('<ul class="reasons">', 1)
        intro = intro.rsplit('<span class="pn">', 1)[1]
        items = re.findall(r"<li>", reasons.split("</ul>", 1)[0])
        assert len(items) == len([r for r in decision.trace if r.stage == "scoring"])
        assert "most" not in intro and "every consideration" in intro.lower()


REFERENCE = re.compile(r"\b(clause|section|Appendix)(\s)([0-9A-Z][0-9.]*)")


@pytest.mark.parametrize(("producer", "creator"), APART[:2])
def test_a_reference_never_breaks_between_its_word_and_its_number(
    every_model: dict[tuple[str, ...], str], producer: str, creator: str
) -> None:
    # "clause" at the end of one line and "7.1" at the start of the next reads as two things.
    people = [
        Respondent("Ann Lee", "producer", answers(producer)),
        Respondent("Bo Chen", "creator", answers(creator)),
    ]
    apart = charter.to_html(evaluate_respondents(people, {}, what_if=True), make_details())
    for html in [apart, *every_model.values()]:
        text = [b for b in blocks(html, ("p", "li", "td")) if REFERENCE.search(b)]
        assert text, "the charter refers to its own parts"
        spaces = {m[2] for b in text for m in REFERENCE.finditer(b)}
        assert spaces == {"\u00a0"}, [b for b in text if " " in REFERENCE.search(b)[0]][:3]


@pytest.mark.parametrize(("producer", "creator"), APART)
def test_the_alignment_workshop_takes_the_questions_the_charter_lists_as_far_apart(
    producer: str, creator: str
) -> None:
    # Section "Where the Parties started apart" lists the questions far apart as the
    # workshop's topics; the workshop clause names the same questions, not every difference.
    people = [
        Respondent("Ann Lee", "producer", answers(producer)),
        Respondent("Bo Chen", "creator", answers(creator)),
    ]
    decision = evaluate_respondents(people, {}, what_if=True)
    html = charter.to_html(decision, make_details())
    if decision.protocol("alignment_workshop") is None:
        assert 'id="section-alignment"' not in html
        return
    section = re.search(r'id="section-alignment">\s*<h1><span class="num">(\d+)</span>', html)
    assert section is not None
    workshop = html.split('id="clause-alignment-workshop"', 1)[1].split("</article>", 1)[0]
    assert f"far apart (section&nbsp;{section[1]})" in workshop
    assert "differed" not in workshop


def test_the_trust_check_allows_the_use_the_mediation_clause_makes_of_its_ratings(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # Mediation starts on a low trust rating: the trust check cannot say its ratings are
    # never used in a dispute without that exception.
    for html in every_model.values():
        mediation = re.search(r'<span class="num">([\d.]+) </span>Mediation protocol', html)
        assert mediation is not None
        trust = html.split('id="clause-trust-check"', 1)[1].split("</article>", 1)[0]
        said = [b for b in blocks(trust) if "dispute" in b]
        assert said and all(f"clause\u00a0{mediation[1]}" in b for b in said), said


SPELLED_QUANTITY = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+(days?|weeks?|months?)\b"
    r"|\bper\s?cent\b",
    re.IGNORECASE,
)


def test_quantities_are_written_in_figures_as_the_filled_in_parameters_are(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # "within two days" beside "within 3 days", "five per cent" beside "10%": one style for
    # the charter's own terms. The rules' reasons, quoted as written, are prose of their own.
    for components, html in every_model.items():
        reasons = [r.because for r in evaluate(answers(EVERY_MODEL[components])).trace]
        assert re.search(r"\b\d+ days\b", html)
        terms = [b for b in blocks(html) if not any(r in b for r in reasons)]
        assert [b for b in terms if SPELLED_QUANTITY.search(b)] == []


def test_who_acts_for_a_side_follows_the_lead_each_side_must_name(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # The roles make naming a lead an obligation; the parties' clause called it an option
    # ("unless the side names a lead"), leaving open who acts once a lead is named.
    base = dict.fromkeys(FACTOR_KEYS, 3)
    apart = evaluate_respondents(
        [
            Respondent("Ann Lee", "producer", base | {"creative_collaboration": 1}),
            Respondent("Bo Chen", "creator", base | {"creative_collaboration": 5}),
        ],
        {},
    )
    for html in [*every_model.values(), charter.to_html(apart, make_details())]:
        lead = re.search(r'<span class="pn">([\d.]+)</span>Each side names one lead', html)
        assert lead is not None
        parties = html.split('id="section-parties"', 1)[1].split("</section>", 1)[0]
        acting = [b for b in blocks(parties, ("p",)) if "act for it" in b]
        assert len(acting) == 1, acting
        assert "unless the side names a lead" not in acting[0]
        assert f"its lead named under clause\u00a0{lead[1]} acts for it" in acting[0], acting


def test_check_ins_the_calendar_dates_in_the_project_s_first_year_are_held_during_it(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # The calendar dates a check-in every quarter from the effective date, while the Project
    # runs; the clause held them only "between projects".
    checked = 0
    for html in every_model.values():
        if 'id="clause-quarterly-checkins"' not in html:
            continue
        checked += 1
        calendar = html.split('id="section-calendar"', 1)[1]
        assert "Partnership check-in" in calendar
        clause = html.split('id="clause-quarterly-checkins"', 1)[1].split("</article>", 1)[0]
        (said,) = [b for b in blocks(clause, ("li",))]
        assert "during the Project" in said and not said.startswith("Between projects"), said
    assert checked


def test_the_strategic_charter_s_deadline_counts_from_a_date(
    every_model: dict[tuple[str, ...], str],
) -> None:
    # "Within 3 months of this charter": of its issue, its signature or its taking effect?
    checked = 0
    for html in every_model.values():
        if 'id="clause-strategic-partnership-charter"' not in html:
            continue
        checked += 1
        clause = html.split('id="clause-strategic-partnership-charter"', 1)[1]
        said = " ".join(blocks(clause.split("</article>", 1)[0], ("li",)))
        assert "of this charter they agree" not in said, said
        assert "Within 3 months of the date this charter takes effect" in said, said
    assert checked
