"""How the printed charter reads page by page: contents, the month table, the sign-off."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_details
from pypdf import PdfReader

from assess import charter
from assess.alignment import Respondent
from assess.charter import calendar
from assess.charter import pdf as charter_pdf
from assess.decision import Decision
from assess.engine import evaluate, evaluate_respondents
from assess.factors import FACTOR_KEYS

MM = 96 / 25.4  # CSS pixels per millimetre


def answers(digits: str) -> dict[str, int]:
    return dict(zip(FACTOR_KEYS, map(int, digits), strict=True))


def most_protocols() -> Decision:
    """The longest charter the rules give: a lasting hybrid whose partners started far apart.

    Every long-relationship clause, the alignment workshop and 21 protocols in all.
    """
    respondents = [
        Respondent("Ann Lee", "producer", answers("51155115")),
        Respondent("Bo Chen", "creator", answers("51455551")),
    ]
    agreed = {
        "creative_collaboration": 4,
        "iteration_readiness": 3,
        "planning_complexity": 2,
        "risk_tolerance": 1,
    }
    return evaluate_respondents(respondents, agreed, what_if=True)


@pytest.fixture(scope="module")
def longest() -> tuple[Decision, PdfReader]:
    decision = most_protocols()
    assert len(decision.protocols) >= 21, [p.id for p in decision.protocols]
    pdf = charter.to_pdf(decision, make_details(effective_date="2026-01-15"))
    return decision, PdfReader(io.BytesIO(pdf))


def flat(items: list[Any]) -> list[Any]:
    return [leaf for item in items for leaf in (flat(item) if isinstance(item, list) else [item])]


def test_the_contents_of_the_longest_charter_hold_on_one_page(
    longest: tuple[Decision, PdfReader],
) -> None:
    _, reader = longest
    entries = flat(reader.outline)
    titles = [item.title for item in entries]
    first_section = entries[titles.index("1 Parties and purpose")]
    # Cover, contents, then the first section: no page left with a line or two of contents.
    assert reader.get_destination_page_number(first_section) == 2, titles
    contents = re.sub(r"\s+", " ", reader.pages[1].extract_text())
    assert "How the recommendation was reached" in contents
    # Every entry's page number on the contents page is still the page of its heading.
    listed = [int(n) for n in re.match(r"^((?:\d+ )+)Contents", contents).group(1).split()]
    assert listed == [reader.get_destination_page_number(item) + 1 for item in entries[2:]]


def test_a_review_s_name_is_never_split_across_lines_of_the_month_table(
    longest: tuple[Decision, PdfReader],
) -> None:
    decision, reader = longest
    start = make_details(effective_date="2026-01-15").start
    titles = {s.title for s in calendar.review_series(decision, start)}
    months = "\n".join(
        text for page in reader.pages if "DATED REVIEWS" in (text := page.extract_text())
    )
    assert "Partnership health assessment" in titles and "Partnership check-in" in titles
    split = [
        title
        for title in titles
        for words in [title.split(" ")]
        for at in range(1, len(words))
        if " ".join(words[:at]) + "\n" + " ".join(words[at:]) in months
    ]
    assert split == [], split


def descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in box.all_children() if hasattr(box, "all_children") else ():
        yield from descendants(child)


def test_each_line_to_fill_in_at_the_sign_off_ends_where_the_signature_line_ends() -> None:
    # A party without a role: the role is a line to fill in, as the date is.
    parties = [
        {"side": "producer", "name": "Ann Lee", "role": "Executive Producer"},
        {"side": "creator", "name": "Bo Chen"},
    ]
    html = charter.to_html(most_protocols(), make_details(parties=parties))
    document = charter_pdf.render_document(html)
    for page in document.pages:
        for block in descendants(page._page_box):
            element = getattr(block, "element", None)
            if element is None or "signature" not in (element.get("class") or "").split():
                continue
            if block.element_tag != "div":
                continue
            signed, lines = None, []
            for box in descendants(block):
                classes = (
                    (box.element.get("class") or "").split() if box.element is not None else []
                )
                if "sign-here" in classes and box.element_tag == "tr":
                    cell = box.children[-1]  # the cell to sign in, right of its label
                    signed = cell.position_x + cell.margin_width()
                elif "blank" in classes and box.element_tag == "span":
                    lines.append(box.position_x + box.margin_width())
            assert signed is not None and lines
            assert all(abs(end - signed) < 0.5 * MM for end in lines), (signed, lines)


def test_a_cover_without_a_consultant_says_who_prepared_it(
    decisions: dict[str, Decision],
) -> None:
    # Attached to a signed contract, a dash where a name belongs reads as a form left unfinished.
    pdf = charter.to_pdf(decisions["standard"], make_details(consultant=""))
    cover = re.sub(r"\s+", " ", PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert "PREPARED BY The Parties CHARTER VERSION 1" in cover, cover
    assert "—" not in cover


@pytest.mark.parametrize("digits", ["54442533", "54434452"])
def test_co_creation_is_never_broken_at_its_hyphen(digits: str) -> None:
    # "Integrated Co-" at a line's end and "Creation" on the next reads as a word hyphenated
    # by the typesetter, or as two things; so does "co-" and "creation".
    decision = evaluate(answers(digits), what_if=True)
    details = make_details(project="Northern Lights VR")
    reader = PdfReader(io.BytesIO(charter.to_pdf(decision, details)))
    broken = [
        line
        for page in reader.pages
        for line in page.extract_text().splitlines()
        if re.search(r"\b[Cc]o-\s*$", line)
    ]
    assert broken == [], broken


def test_the_charter_takes_one_apostrophe_throughout(longest: tuple[Decision, PdfReader]) -> None:
    # The clauses write "the other's consent" with a straight apostrophe; a curly one here and
    # there reads as text pasted in from elsewhere.
    _, reader = longest
    text = "".join(page.extract_text() for page in reader.pages)
    assert "'" in text and "\u2019" not in text, re.findall(r".{30}\u2019.{10}", text)


@pytest.mark.parametrize(
    ("project", "running"),
    [
        (
            "Northern Lights Immersive Documentary Series for Virtual Reality Headsets and Domes",
            "Northern Lights Immersive Documentary Series for Virtual\u2026",
        ),
        ("合作制作的纪录片系列" * 10, "合作制作的纪录片系列" * 3 + "合\u2026"),
    ],
)
def test_the_running_title_is_shortened_at_a_word_s_end(project: str, running: str) -> None:
    # "Northern Ligh…" reads as a typing error; a script written without spaces is cut anywhere.
    html = charter.to_html(most_protocols(), make_details(project=project))
    assert f'data-running-title="{running}"' in html
