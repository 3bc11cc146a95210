"""How the printed charter reads as a whole: columns, the pages' fill, what stays together."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ANSWERS, EVERY_MODEL, make_details
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from weasyprint.formatting_structure import boxes

from assess import charter, partnership
from assess.alignment import Respondent
from assess.charter import pdf as charter_pdf
from assess.charter import render
from assess.engine import evaluate, evaluate_respondents
from assess.factors import FACTOR_KEYS

MM = 96 / 25.4  # CSS pixels per millimetre


def descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in box.all_children() if hasattr(box, "all_children") else ():
        yield from descendants(child)


def laid_out(kind: str, **details: Any) -> Any:
    html = charter.to_html(evaluate(ANSWERS[kind], what_if=True), make_details(**details))
    return charter_pdf.render_document(html)


def column_widths(document: Any, table_class: str) -> list[float]:
    """The widths in millimetres of the first table carrying ``table_class``."""
    for page in document.pages:
        for box in descendants(page._page_box):
            if (
                isinstance(box, boxes.TableBox)
                and table_class in (box.element.get("class") or "").split()
            ):
                return [round(width / MM, 1) for width in box.column_widths]
    raise AssertionError(f"no table {table_class}")


def test_columns_take_the_widths_their_content_needs() -> None:
    document = laid_out("hybrid")
    factor, level, meaning = column_widths(document, "answers")
    # The level is a number and five dots; the meaning of the level is the longest text.
    assert level < 26 and meaning > factor > level, (factor, level, meaning)
    rule, reason = column_widths(document, "trace")
    assert rule < 60 < reason, (rule, reason)
    side, name, role = column_widths(document, "parties")
    assert side < 40 < name, (side, name, role)


def pages_holding(document: Any, found: Any) -> list[int]:
    """The numbers of the pages with a box for which ``found(box)`` is true."""
    return [
        number
        for number, page in enumerate(document.pages, 1)
        if any(found(box) for box in descendants(page._page_box))
    ]


def has_class(box: Any, name: str) -> bool:
    element = getattr(box, "element", None)
    return element is not None and name in (element.get("class") or "").split()


def test_the_note_under_the_review_months_never_stands_alone_on_a_page() -> None:
    # A hybrid with a project summary, effective from April: the month table ends its page.
    document = laid_out(
        "hybrid", effective_date="2026-04-01", project_summary="A documentary.\nShot in Tromsø."
    )
    note = pages_holding(
        document, lambda box: isinstance(box, boxes.TextBox) and "first table only" in box.text
    )
    months = pages_holding(document, lambda box: has_class(box, "months"))
    assert len(note) == 1 and note[0] in months, (note, months)


FOUR_PARTIES = [
    {"side": "producer", "name": "Ann Lee", "role": "Executive Producer"},
    {"side": "producer", "name": "Dev Patel"},
    {"side": "creator", "name": "Bo Chen", "role": "Director"},
    {"side": "creator", "name": "Carla Díaz"},
]


def test_signatures_sit_two_to_a_row_and_four_share_one_page() -> None:
    document = laid_out("standard", parties=FOUR_PARTIES)
    blocks = [
        (number, round(box.position_y), round(box.position_x))
        for number, page in enumerate(document.pages, 1)
        for box in descendants(page._page_box)
        if has_class(box, "signature")
    ]
    assert len(blocks) == 4, blocks
    assert len({number for number, _, _ in blocks}) == 1, blocks
    rows = {y for _, y, _ in blocks}
    assert len(rows) == 2 and len({x for _, _, x in blocks}) == 2, blocks


def test_parties_and_signatures_are_grouped_by_side_as_on_the_cover() -> None:
    # Typed in the order the respondents answered: producer, creator, creator, producer.
    typed = [FOUR_PARTIES[0], FOUR_PARTIES[2], FOUR_PARTIES[3], FOUR_PARTIES[1]]
    html = charter.to_html(evaluate(ANSWERS["standard"]), make_details(parties=typed))
    table = html.split('<table class="parties', 1)[1].split("</table>", 1)[0]
    signoff = html.split('id="section-signoff"', 1)[1].split("</section>", 1)[0]
    for part in (table, signoff):
        names = [p["name"] for p in FOUR_PARTIES]
        assert sorted(names, key=part.index) == names, part


def test_each_label_of_the_cover_facts_holds_on_one_line() -> None:
    document = laid_out("standard", client="Northlight Films")
    cover = document.pages[0]._page_box
    labels = [
        box
        for box in descendants(cover)
        if isinstance(box, boxes.TableCellBox) and box.element.get("class") in ("key", "key second")
    ]
    assert len(labels) == 6
    lines = {
        " ".join(b.text for b in descendants(label) if isinstance(b, boxes.TextBox)): sum(
            isinstance(b, boxes.LineBox) for b in descendants(label)
        )
        for label in labels
    }
    assert set(lines.values()) == {1}, lines


def first_page(document: Any, found: Any) -> int:
    return pages_holding(document, found)[0]


@pytest.mark.parametrize(
    ("kind", "details"),
    [
        ("standard", {}),
        ("standard", {"consultant": "", "mediators_internal": [], "revenue_split": None}),
        ("hybrid", {"project_summary": "A documentary.\nShot in Tromsø."}),
    ],
    ids=["standard", "standard-unfilled", "hybrid-with-summary"],
)
def test_a_section_or_clause_that_opens_on_a_table_starts_on_the_page_of_its_table(
    kind: str, details: dict[str, Any]
) -> None:
    # A heading and the sentence introducing the table "below", left at the foot of a page
    # while the table opens the next.
    document = laid_out(kind, **details)
    for title, table in (
        ("Roles and responsibilities", "roles"),
        ("Escalation ladder", "ladder"),
        ("Communication tiers", "tiers"),
        ("Review calendar", "series"),
    ):
        # The contents page names each section too; the heading comes later.
        heading = pages_holding(
            document,
            lambda box, title=title: isinstance(box, boxes.TextBox) and box.text.strip() == title,
        )[-1]
        starts = first_page(
            document,
            lambda box, table=table: isinstance(box, boxes.TableBox) and has_class(box, table),
        )
        assert heading == starts, (title, heading, starts)


def roles_introduction(kind: str) -> str:
    html = charter.to_html(evaluate(ANSWERS[kind]), make_details())
    section = html.split('id="section-roles"', 1)[1]
    text = section.split('<span class="pn">', 1)[1].split("</p>", 1)[0]
    return unbroken(text)


def unbroken(html: str) -> str:
    """The HTML without the spans that keep "Co-Creation" on one line."""
    return re.sub(r'<span class="compound">([^<]*)</span>', r"\1", html)


def test_the_roles_name_the_model_as_a_sentence_would() -> None:
    assert roles_introduction("integrated").startswith(
        "3.1</span>Under the Integrated Co-Creation model, each side takes on"
    )
    # Not "Under the Hybrid: Integrated Co-Creation with Agile Production Partnership model".
    hybrid = roles_introduction("hybrid")
    assert "Hybrid:" not in hybrid
    assert (
        "Under the hybrid of Integrated Co-Creation (primary) and Agile Production Partnership"
        " (secondary), each side takes on"
    ) in hybrid, hybrid


def test_a_clause_refers_to_another_by_its_number() -> None:
    decision = evaluate(ANSWERS["hybrid"])
    details = make_details()
    html = charter.to_html(decision, details)
    number = render.context(decision, details)["clause_numbers"]

    def clause(protocol_id: str) -> str:
        anchor = protocol_id.replace("_", "-")
        return " ".join(html.split(f'id="clause-{anchor}"', 1)[1].split("</article>", 1)[0].split())

    # A no-break space keeps "clause" on the line of its number.
    ladder = f"escalation ladder (clause&nbsp;{number['escalation_ladder']})"
    assert ladder in clause("creative_tension_review")
    assert ladder in clause("creative_veto")
    assert f"creative tension review (clause&nbsp;{number['creative_tension_review']})" in clause(
        "creative_veto"
    )
    assert f"communication tiers (clause&nbsp;{number['communication_tiers']})" in clause(
        "sprint_cadence"
    )
    assert f"trust check (clause&nbsp;{number['trust_check']})" in clause("communication_tiers")


def weights_of(pdf: bytes, page_text: str) -> dict[str, int]:
    """The weight class (400 regular, 700 bold) of the font each run of text on the page
    holding ``page_text`` is drawn in, read from the font program embedded in the PDF."""
    reader = PdfReader(io.BytesIO(pdf))
    page = next(p for p in reader.pages if page_text in p.extract_text())
    weights: dict[str, int] = {}

    def weight(font: Any) -> int:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        program = (descriptor.get("/FontFile3") or descriptor["/FontFile2"]).get_object()
        return int(TTFont(io.BytesIO(program.get_data()))["OS/2"].usWeightClass)

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip() and font is not None:
            weights[text.strip()] = weight(font)

    page.extract_text(visitor_text=visit)
    return weights


def test_bold_in_the_body_text_prints_in_the_bold_face(standard_pdf: bytes) -> None:
    # The Debian bold of the serif covers fewer languages than its regular, so a font
    # matcher that weighs language over weight took the regular face for bold text.
    weights = weights_of(standard_pdf, "Candidate mediators.")
    for run in ("Agreed in advance.", "Candidate mediators.", "Triggers."):
        assert weights[run] >= 700, (run, weights[run])
    assert weights_of(standard_pdf, "(the Parties)")["Parties"] >= 700


def test_the_clauses_read_as_a_lawyer_would_write_them() -> None:
    decision = evaluate(ANSWERS["agile"])
    text = " ".join(charter.to_html(decision, make_details()).split())
    # Two sides: "neither", not "no side"; "are each", not "each are".
    assert "Neither side may skip a tier" in text and "No side may" not in text
    assert "Penalties and bonuses are each capped at" in text
    # The Project is a defined term (clause 1.1), capitalised wherever it means this one.
    assert "Work on the Project continues during mediation" in text
    assert "What it costs the Project while the issue stays open" in text
    clauses = text.split('id="section-conflict"', 1)[1].split('id="section-general"', 1)[0]
    assert " the project " not in clauses.replace("<", " ").replace(">", " ")


def test_a_clause_title_lines_up_with_the_clause_text() -> None:
    document = laid_out("standard")
    for page in document.pages:
        texts = [b for b in descendants(page._page_box) if isinstance(b, boxes.TextBox)]
        titles = [b for b in texts if b.element_tag == "h2" and "Escalation" in b.text]
        if titles:
            break
    (title,) = titles
    first_line = next(b for b in texts if b.text.startswith("A disagreement that affects"))
    # A space after the number pushed the title right of the text column it heads.
    assert title.text == "Escalation ladder", repr(title.text)
    assert abs(title.position_x - first_line.position_x) < 0.2 * MM


def test_every_bulleted_list_takes_the_same_bullet() -> None:
    document = laid_out("standard")
    bullets = {
        box.style["list_style_type"]
        for page in document.pages
        for box in descendants(page._page_box)
        if box.element_tag == "li" and box.style["list_style_type"] not in ("none", "decimal")
    }
    # The clauses' lists (mediation's triggers and ground rules) took hollow circles.
    assert bullets == {"disc"}, bullets


def test_the_standing_of_the_charter_says_where_the_tipping_points_are() -> None:
    decision = evaluate(ANSWERS["hybrid"], what_if=True)
    assert decision.what_if
    text = " ".join(charter.to_html(decision, make_details()).split())
    general = text.split('id="section-general"', 1)[1].split("</section>", 1)[0]
    assert "in one of the directions named under Tipping points in section&nbsp;2." in general


UNFILLED = {
    "consultant": "",
    "mediators_internal": [],
    "mediators_external": [],
    "revenue_split": None,
}


@pytest.mark.parametrize("kind", ["standard", "hybrid"])
def test_a_clause_s_short_list_stays_whole_with_the_words_that_lead_into_it(kind: str) -> None:
    # Left unfilled, the mediators' table is two blank lines each: the mediation triggers
    # came to the foot of a page, one of three there and two on the next.
    document = laid_out(kind, **UNFILLED)
    lead_in = pages_holding(
        document, lambda box: isinstance(box, boxes.TextBox) and box.text == "Triggers."
    )
    conditions = [
        number
        for start in ("a disagreement stays", "either side gives", "either side asks")
        for number in pages_holding(
            document,
            lambda box, start=start: isinstance(box, boxes.TextBox) and box.text.startswith(start),
        )
    ]
    assert len(conditions) == 3 and set(conditions) == set(lead_in), (lead_in, conditions)


def test_a_tipping_point_names_a_hybrid_as_a_sentence_would() -> None:
    decision = evaluate(ANSWERS["hybrid"], what_if=True)
    text = " ".join(charter.to_html(decision, make_details()).split())
    tipping = unbroken(text.split('<ul class="tipping">', 1)[1].split("</ul>", 1)[0])
    assert "Hybrid:" not in tipping, tipping
    assert (
        "If timeline pressure were 4 instead of 3, the recommendation would be the hybrid of"
        " Agile Production Partnership (primary) and Integrated Co-Creation (secondary)."
    ) in tipping, tipping
    assert (
        "If timeline pressure were 2 instead of 3, the recommendation would be Integrated"
        " Co-Creation."
    ) in tipping, tipping


def test_without_named_rules_the_arbitrator_is_appointed_by_the_contract_s_institution() -> None:
    text = " ".join(charter.to_html(evaluate(ANSWERS["agile"]), make_details()).split())
    assert (
        "A sole arbitrator agreed by both sides or, failing agreement, appointed by the"
        " institution named in the partnership contract."
    ) in text


def test_the_project_s_name_prints_in_one_weight_whatever_its_letters(
    decisions: dict[str, Any],
) -> None:
    # The serif's bold has no accented letters: set in bold, "Café" lost the weight at "é".
    project = "Café Müller à Tromsø"
    pdf = charter.to_pdf(decisions["standard"], make_details(project=project))
    runs = weights_of(pdf, "This charter records how")
    name = {weight for run, weight in runs.items() if run.strip("\u2068\u2069") in project}
    assert len(name) == 1, {run: w for run, w in runs.items() if run in project}


def test_a_numbered_heading_is_read_before_the_text_under_it() -> None:
    """Copied or read aloud, a page gives each numbered heading before the text under it,
    with its number apart from its title: the clauses and the questions the Parties
    started apart on."""
    apart = [
        Respondent("Ann Lee", "producer", {**ANSWERS["integrated"], "iteration_readiness": 5}),
        Respondent("Bo Chen", "creator", {**ANSWERS["integrated"], "iteration_readiness": 1}),
    ]
    decision = evaluate_respondents(apart)
    reader = PdfReader(io.BytesIO(charter.to_pdf(decision, make_details())))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    gap = text.index("3.2 Readiness for rapid iteration · gap of")
    assert gap < text.index("Ann Lee Producer side 5", gap)
    ladder = re.search(r"\d\.1 Escalation ladder", text[gap:])
    assert ladder is not None
    assert ladder.start() < text[gap:].index("A disagreement that affects the Project moves up")


def test_a_tier_s_name_wrapped_onto_two_lines_stays_right_of_its_number() -> None:
    document = laid_out("standard")
    cells = [
        box
        for page in document.pages
        for box in descendants(page._page_box)
        if has_class(box, "tier") and box.element_tag == "td"
    ]
    strategic = next(cell for cell in cells if "Strategic" in "".join(cell.element.itertext()))
    words = {
        box.text.strip(): box.position_x
        for box in descendants(strategic)
        if isinstance(box, boxes.TextBox) and box.text.strip() in ("Strategic and", "creative")
    }
    # "Strategic and / creative": the second line ran back under the tier's number.
    assert len(words) == 2, words
    assert abs(words["creative"] - words["Strategic and"]) < 0.2 * MM, words


def test_each_signature_block_labels_the_line_to_sign_on(standard_pdf: bytes) -> None:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(standard_pdf)).pages]
    (signoff,) = [text for text in pages if "By signing, each person confirms" in text]
    # An unlabelled rule above the name left a signer to guess what goes on it.
    labels = [line.split()[0].upper() for line in signoff.splitlines() if line.strip()]
    assert labels.count("SIGNATURE") == 2, signoff
    assert labels.count("NAME") == 2, signoff


@pytest.mark.parametrize(
    "components", [("agile", "integrated"), ("strategic_resource", "integrated")], ids="-".join
)
def test_a_title_never_breaks_a_model_s_name_across_lines(components: tuple[str, str]) -> None:
    answers = dict(zip(FACTOR_KEYS, map(int, EVERY_MODEL[components]), strict=True))
    decision = evaluate(answers, what_if=True)
    assert tuple(decision.components) == components
    document = charter_pdf.render_document(charter.to_html(decision, make_details()))
    titles = [
        box
        for page in document.pages
        for box in descendants(page._page_box)
        if isinstance(box, boxes.BlockBox)
        and (has_class(box, "cover-model") or has_class(box, "model-title"))
    ]
    assert len(titles) == 2
    for title in titles:
        lines = [
            "".join(b.text for b in descendants(line) if isinstance(b, boxes.TextBox))
            for line in descendants(title)
            if isinstance(line, boxes.LineBox)
        ]
        # "Integrated Co-" at one line's end and "Creation" at the next read as two things.
        for name in (partnership.BY_KEY[key].title for key in components):
            assert any(name in line for line in lines), (name, lines)
