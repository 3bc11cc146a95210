"""A table that reads as one is printed whole, on the page where it is introduced."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ANSWERS, EVERY_MODEL, make_details
from weasyprint.formatting_structure import boxes

from assess import charter
from assess.charter import pdf as charter_pdf
from assess.engine import evaluate
from assess.factors import FACTOR_KEYS

# A hybrid whose roles section starts low on its page: the table no longer fits below its
# heading.
LOW_ON_THE_PAGE = dict(zip(FACTOR_KEYS, (4, 4, 4, 3, 4, 4, 4, 2), strict=True))


SUMMARY = "A documentary shot over one winter.\nIn the far north of Norway."


def answers_of(components: tuple[str, ...]) -> dict[str, int]:
    return dict(zip(FACTOR_KEYS, map(int, EVERY_MODEL[components]), strict=True))


def descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from descendants(child)


def roles_pages(answers: dict[str, int], **details: Any) -> tuple[list[int], list[int]]:
    """The pages holding the roles section's heading, and those holding part of its table."""
    document = laid_out(answers, **details)
    headings, tables = [], []
    for number, page in enumerate(document.pages, 1):
        for box in descendants(page._page_box):
            if isinstance(box, boxes.TextBox) and box.text.strip() == "Roles and responsibilities":
                headings.append(number)
            if isinstance(box, boxes.TableBox) and "roles" in (box.element.get("class") or ""):
                tables.append(number)
    return headings, sorted(set(tables))


@pytest.mark.parametrize(
    ("answers", "details"),
    [
        (LOW_ON_THE_PAGE, {"mediators_internal": [], "mediators_external": []}),
        (LOW_ON_THE_PAGE, {}),
        (ANSWERS["hybrid"], {}),
        # Without being kept whole, these tables would leave their shared duties behind.
        (answers_of(("integrated", "agile")), {}),
        (answers_of(("agile", "strategic_resource")), {"project_summary": SUMMARY}),
    ],
    ids=["low-on-the-page", "low-with-mediators", "hybrid", "co-creation-in-sprints", "funded"],
)
def test_the_roles_table_is_printed_whole_on_the_page_of_its_heading(
    answers: dict[str, int], details: dict[str, Any]
) -> None:
    headings, tables = roles_pages(answers, **details)
    # The contents name the section too: its heading is the last appearance.
    assert tables == [headings[-1]], (headings, tables)


def laid_out(answers: dict[str, int], **details: Any) -> Any:
    html = charter.to_html(evaluate(answers, what_if=True), make_details(**details))
    font_config, stylesheet = charter_pdf._fonts_and_css()
    return charter_pdf.CharterHTML(
        string=html, url_fetcher=charter_pdf.BundledAssetFetcher(), base_url=None
    ).render(stylesheets=[stylesheet], font_config=font_config)


def cell_lines(document: Any, column: int) -> list[tuple[str, int]]:
    """The text of each body cell of the review series table's column, and its line count."""
    cells = []
    for page in document.pages:
        for box in descendants(page._page_box):
            if not isinstance(box, boxes.TableBox) or "series" not in (
                box.element.get("class") or ""
            ):
                continue
            for row in descendants(box):
                if isinstance(row, boxes.TableRowBox) and row.element.tag == "tr":
                    cell = row.children[column] if len(row.children) > column else None
                    if cell is None or cell.element.tag != "td":
                        continue
                    lines = [b for b in descendants(cell) if isinstance(b, boxes.LineBox)]
                    text = " ".join(
                        b.text for b in descendants(cell) if isinstance(b, boxes.TextBox)
                    )
                    cells.append((text, len(lines)))
    return cells


@pytest.mark.parametrize("kind", ["standard", "hybrid"])
def test_the_first_date_of_each_review_stays_on_one_line(kind: str) -> None:
    # Issued in December: the longest month's name, in dates such as "20 December 2026".
    cells = cell_lines(laid_out(ANSWERS[kind], issued_at="2026-12-06T09:00:00+00:00"), column=2)
    assert len(cells) >= 5
    assert all(lines == 1 for _, lines in cells), cells


def test_negative_scores_carry_a_true_minus_sign() -> None:
    # Low on every count but the one that keeps the resource model ahead: others score below 0.
    decision = evaluate(ANSWERS["strategic_resource"], what_if=True)
    assert min(decision.scores.values()) < 0
    html = charter.to_html(decision, make_details())
    scores = html.split('class="score-table"', 1)[1].split("</table>", 1)[0]
    assert "−" in scores and not re.search(r">\s*-\d", scores), scores
