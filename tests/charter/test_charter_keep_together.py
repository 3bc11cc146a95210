"""A table's caption is printed on the page where its table starts, never left behind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ANSWERS, make_details
from weasyprint.formatting_structure import boxes

from assess import charter
from assess.charter import pdf as charter_pdf
from assess.engine import evaluate
from assess.factors import FACTOR_KEYS

# A hybrid whose roles of the primary model end low on their page: the secondary model's
# table no longer fits below them.
LOW_ON_THE_PAGE = dict(zip(FACTOR_KEYS, (4, 4, 4, 3, 4, 4, 4, 2), strict=True))


def descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from descendants(child)


def captions_left_alone(answers: dict[str, int], **details: Any) -> tuple[int, list[int]]:
    """Count the captioned tables; return the pages that hold a caption without its table."""
    html = charter.to_html(evaluate(answers, what_if=True), make_details(**details))
    font_config, stylesheet = charter_pdf._fonts_and_css()
    document = charter_pdf.CharterHTML(
        string=html, url_fetcher=charter_pdf.BundledAssetFetcher(), base_url=None
    ).render(stylesheets=[stylesheet], font_config=font_config)
    captioned, alone = 0, []
    for number, page in enumerate(document.pages, 1):
        for box in descendants(page._page_box):
            if not getattr(box, "is_table_wrapper", False):
                continue
            parts = list(box.children)
            if not any(isinstance(part, boxes.TableCaptionBox) for part in parts):
                continue
            captioned += 1
            rows = [
                row
                for table in parts
                if isinstance(table, boxes.TableBox)
                for row in descendants(table)
                if isinstance(row, boxes.TableRowBox)
            ]
            if not rows:
                alone.append(number)
    return captioned, alone


@pytest.mark.parametrize(
    ("answers", "details"),
    [
        (LOW_ON_THE_PAGE, {"mediators_internal": [], "mediators_external": []}),
        (LOW_ON_THE_PAGE, {}),
        (ANSWERS["hybrid"], {}),
    ],
    ids=["low-on-the-page", "low-with-mediators", "hybrid"],
)
def test_every_caption_is_on_the_page_where_its_table_starts(
    answers: dict[str, int], details: dict[str, Any]
) -> None:
    captioned, alone = captions_left_alone(answers, **details)
    assert captioned >= 2  # the roles of both models of the hybrid
    assert alone == [], f"a caption without its table on pages {alone}"


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
