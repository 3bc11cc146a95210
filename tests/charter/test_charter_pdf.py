"""The charter PDF: content, attachment, PDF/A, fonts, reproducibility, safety, scripts."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CountingServer, make_details
from pdfa import pdfa_3b_problems
from pdftools import (
    announced,
    fonts_of,
    read_aloud,
    structure_problems,
    structure_tree,
    unresolved_header_cells,
)
from PIL import Image
from pypdf import PdfReader
from weasyprint.formatting_structure import boxes

from assess import charter, partnership, serving
from assess.alignment import Respondent
from assess.charter import pdf as charter_pdf
from assess.charter import render
from assess.charter.errors import CharterError
from assess.decision import Decision
from assess.engine import evaluate_respondents
from assess.factors import FACTOR_KEYS, FACTORS
from assess.protocols import BY_ID, CATALOGUE

# All PDF tests on one worker: they share the rendered standard charter.
pytestmark = pytest.mark.xdist_group("charter-pdf")


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_the_text_names_model_parties_and_exactly_the_chosen_clauses(
    decisions: dict[str, Decision], standard_pdf: bytes
) -> None:
    decision = decisions["standard"]
    text = text_of(standard_pdf)
    assert partnership.BY_KEY[decision.model].title in text
    for name in ("Ann Lee", "Bo Chen", "Northern Lights: an immersive documentary"):
        assert name in text
    chosen = {p.id for p in decision.protocols}
    for protocol in CATALOGUE:
        heading = re.compile(rf"\d+\.\d+ {re.escape(protocol.title)}\b")
        assert bool(heading.search(text)) == (protocol.id in chosen), protocol.id


def test_the_attachment_is_the_decision(
    decisions: dict[str, Decision], standard_pdf: bytes
) -> None:
    reader = PdfReader(io.BytesIO(standard_pdf))
    assert list(reader.attachments) == ["assessment.json"]
    (data,) = reader.attachments["assessment.json"]
    assert json.loads(data) == decisions["standard"].to_dict()
    assert Decision.from_dict(json.loads(data)).to_dict() == decisions["standard"].to_dict()


def test_pdf_a_3b_identification_and_metadata(standard_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(standard_pdf))
    assert standard_pdf.startswith(b"%PDF-1.7")
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part="3"', xmp) and re.search(r'pdfaid:conformance="B"', xmp)
    root = reader.trailer["/Root"]
    assert "/OutputIntents" in root and "/AF" in root
    info = reader.metadata
    assert info is not None
    assert info.title == "Partnership Charter: Northern Lights: an immersive documentary"
    assert "Ann Lee" in (info.author or "") and "Clara Diaz" in (info.author or "")
    assert "Integrated Co-Creation" in (info.subject or "")
    assert "partnership charter" in (info.get("/Keywords") or "")
    assert info.get("/CreationDate") == "D:20260302090000Z"


def test_the_pdf_a_3b_requirements_that_can_be_read_off_the_file_hold(
    standard_pdf: bytes,
) -> None:
    assert pdfa_3b_problems(standard_pdf) == []


def test_every_font_is_embedded(standard_pdf: bytes, tmp_path: Path) -> None:
    fonts = fonts_of(standard_pdf, tmp_path)
    assert all(f["emb"] == "yes" and f["uni"] == "yes" for f in fonts), fonts
    families = {f["name"].split("+", 1)[1].split("-")[1] for f in fonts}
    assert families == {"Serif", "Sans", "Mono"}  # only the charter's bundled fonts


def test_the_text_copies_and_searches_as_printed(standard_pdf: bytes, tmp_path: Path) -> None:
    """Labels in capitals come out as words, and no hidden text sits on the cover."""
    path = tmp_path / "charter.pdf"
    path.write_bytes(standard_pdf)

    def text(*pages: str) -> str:
        command = ["pdftotext", *pages, str(path), "-"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    cover = text("-f", "1", "-l", "1")
    for label in ("PARTNERSHIP CHARTER", "PRODUCER SIDE", "CREATOR SIDE", "DOCUMENT ID"):
        assert label in cover
    assert cover.count("Northern Lights") == 1  # the running header's text is not hidden there
    assert not re.search(r"\b[A-Z] [A-Z] [A-Z] [A-Z]\b", text())


def test_qpdf_finds_no_structural_error(standard_pdf: bytes, tmp_path: Path) -> None:
    assert structure_problems(standard_pdf, tmp_path) == ""
    broken = standard_pdf.replace(b"startxref", b"startxrex")
    assert "startxref" in structure_problems(broken, tmp_path)


def test_page_one_renders(standard_pdf: bytes, tmp_path: Path) -> None:
    source = tmp_path / "charter.pdf"
    source.write_bytes(standard_pdf)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")],
        check=True,
    )
    (png,) = tmp_path.glob("page-*.png")
    image = Image.open(png).convert("L")
    assert image.size == (331, 468)  # A4 at 40 dpi
    dark = sum(image.histogram()[:128])
    assert 500 < dark < image.size[0] * image.size[1] // 4  # ink, but not a black page


def test_same_inputs_give_the_same_bytes(
    decisions: dict[str, Decision], standard_pdf: bytes
) -> None:
    assert charter.to_pdf(decisions["standard"], make_details()) is standard_pdf  # cached
    charter_pdf.clear_cache()
    fresh = charter.to_pdf(decisions["standard"], make_details())
    assert fresh == standard_pdf and fresh is not standard_pdf
    later = charter.to_pdf(decisions["standard"], make_details(issued_at="2026-03-03T09:00:00Z"))
    assert later != standard_pdf


def test_a_fresh_process_gives_the_same_bytes(
    decisions: dict[str, Decision], standard_pdf: bytes, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(decisions["standard"].answers))
    fields = tmp_path / "details.json"
    fields.write_text(
        json.dumps(
            {
                "mediators_internal": ["Dana Holt"],
                "mediators_external": ["Elif Kaya"],
                "revenue_split": {"producer": 55, "creator": 45},
            }
        )
    )
    output = tmp_path / "charter.pdf"
    script = "from assess.charter.command import charter_command; charter_command.main()"
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(answers),
            "--details",
            str(fields),
            "--project",
            "Northern Lights: an immersive documentary",
            "--party",
            "Producer side: Ann Lee (Executive Producer)",
            "--party",
            "Creator side: Bo Chen (Director)",
            "--consultant",
            "Clara Diaz",
            "-o",
            str(output),
        ],
        check=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1772442000"},
    )
    assert output.read_bytes() == standard_pdf


HOSTILE = '<img src="file:///etc/passwd"> <script>alert(1)</script> <style>*{{background:url(http://127.0.0.1:{port}/css)}}</style>'


def test_hostile_fields_render_as_text_and_fetch_nothing(
    decisions: dict[str, Decision], trap_server: CountingServer
) -> None:
    port = trap_server.server_address[1]
    hostile = HOSTILE.format(port=port)
    details = make_details(
        project=hostile[:200],
        consultant=f'<img src="http://127.0.0.1:{port}/img">',
        parties=[
            {"side": "producer", "name": f"url(http://127.0.0.1:{port}/name)"},
            {"side": "creator", "name": "<script>document.write(1)</script>"},
        ],
        project_summary=hostile,
    )
    pdf = charter.to_pdf(decisions["integrated"], details)
    text = text_of(pdf)
    assert '<img src="file:///etc/passwd">' in text
    assert "<script>document.write(1)</script>" in text
    assert "root:x:0:0" not in text
    assert trap_server.requests == []


def test_the_fetcher_refuses_files_and_urls_even_in_raw_html(trap_server: CountingServer) -> None:
    port = trap_server.server_address[1]
    fetcher = charter_pdf.BundledAssetFetcher()
    raw = f"""<html><head><style>
      body {{ background: url(http://127.0.0.1:{port}/css) }}
      @import url(http://127.0.0.1:{port}/import.css);
      @font-face {{ font-family: X; src: url(file:///etc/passwd) }}
    </style><link rel="stylesheet" href="http://127.0.0.1:{port}/link.css">
    <link rel="attachment" href="file:///etc/passwd"></head>
    <body><img src="file:///etc/passwd"><img src="http://127.0.0.1:{port}/img">
    <img src="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'/>">
    <object data="http://127.0.0.1:{port}/object"></object>
    <img src="charter-asset:../../../../etc/passwd"><p style="font-family: X">x</p></body></html>"""
    document = charter_pdf.render_document(raw, fetcher)
    pdf = document.write_pdf()
    assert trap_server.requests == []
    refused = " ".join(fetcher.refused)
    for url in ("file:///etc/passwd", f"http://127.0.0.1:{port}/img", "data:image/svg+xml"):
        assert url in refused
    assert "charter-asset:../../../../etc/passwd" in refused
    assert b"root:x:0:0" not in pdf


def test_the_fetcher_serves_bundled_fonts_only() -> None:
    fetcher = charter_pdf.BundledAssetFetcher()
    response = fetcher.fetch("charter-asset:fonts/inter-regular.otf")
    assert response.read(4) == b"OTTO"
    response.close()
    with pytest.raises(ValueError, match="bundled assets only"):
        fetcher.fetch("charter-asset:fonts/../../etc/passwd")


LONG = ("Συμπαραγωγή 合作制作项目 مشروع الإنتاج المشترك Northern Lights " * 4)[:200]


def overflowing(document: Any) -> list[str]:
    """Return what sticks out of the page's content area: text, cells, rules, shading."""
    problems: list[str] = []

    def walk(box: Any, bounds: tuple[float, float], number: int) -> None:
        if isinstance(box, boxes.MarginBox):
            return  # the running header and footer live in the margins
        if not isinstance(box, boxes.PageBox) and box.width is not None:
            low, high = bounds
            left, width = box.border_box_x(), box.border_width()
            if left < low - 1 or left + width > high + 1:
                text = box.text if isinstance(box, boxes.TextBox) else box.element_tag
                past = (left - low, left + width - high)
                problems.append(f"page {number}: {text} ({past[0]:+.0f}, {past[1]:+.0f} pt)")
        for child in box.all_children():
            walk(child, bounds, number)

    for number, page in enumerate(document.pages, 1):
        page_box = page._page_box
        left = page_box.content_box_x()
        walk(page_box, (left, left + page_box.width), number)
    return problems


def test_long_and_non_latin_input_fits_and_keeps_its_glyphs(
    decisions: dict[str, Decision], tmp_path: Path
) -> None:
    names = {"producer": "Ζωή Παπαδοπούλου", "creator": "王小明", "third": "فاطمة الزهراء"}
    details = make_details(
        project=LONG,
        consultant="x" * 120,
        parties=[
            {"side": "producer", "name": names["producer"], "role": "Παραγωγός"},
            {"side": "creator", "name": names["creator"], "role": "导演"},
            {"side": "creator", "name": names["third"], "role": "كاتبة السيناريو"},
        ],
        mediators_internal=["M" * 120],
        project_summary="W" * 1500,
    )
    decision = decisions["hybrid"]
    html = charter.to_html(decision, details)
    assert overflowing(charter_pdf.render_document(html)) == []
    pdf = charter.to_pdf(decision, details)
    text = text_of(pdf)
    for name in names.values():
        assert name in text or name[::-1] in text, name
    assert "合作制作项目" in text
    fonts = " ".join(f["name"] for f in fonts_of(pdf, tmp_path) if f["emb"] == "yes")
    assert "Charter-CJK" in fonts and "Charter-Arabic" in fonts
    # every glyph came from a real font: no .notdef boxes were drawn
    assert all(f["emb"] == "yes" for f in fonts_of(pdf, tmp_path))


@pytest.mark.parametrize("project", [LONG, "合作制作的纪录片系列" * 10, "Northern Lights " * 12])
def test_the_running_title_is_one_line_however_wide_its_script(
    decisions: dict[str, Decision], project: str
) -> None:
    html = charter.to_html(decisions["standard"], make_details(project=project))
    page = charter_pdf.render_document(html).pages[1]._page_box
    (header,) = (
        box
        for box in page.all_children()
        if isinstance(box, boxes.MarginBox) and box.at_keyword == "@top-left"
    )
    lines = [box for box in header.descendants() if isinstance(box, boxes.LineBox)]
    assert len(lines) == 1
    assert (
        "".join(box.text for box in lines[0].descendants() if isinstance(box, boxes.TextBox))[-1]
        == "\u2026"
    )


def test_a_name_in_arabic_script_keeps_clear_of_the_role_below_it(
    decisions: dict[str, Decision], tmp_path: Path
) -> None:
    """The deep descenders of Arabic script (the tail of ي) stay clear of the role's text."""
    details = make_details(
        parties=[
            {"side": "producer", "name": "Ann Lee", "role": "Producer"},
            {"side": "creator", "name": "محمد علي", "role": "Director"},
        ]
    )
    html = charter.to_html(decisions["standard"], details)

    def inked_rows(markup: str, name: str) -> set[int]:
        """Return the rows of the cover, at 96 dpi, with ink around the role 'Director'."""
        document = charter_pdf.render_document(markup)
        role = next(
            b
            for b in document.pages[0]._page_box.descendants()
            if isinstance(b, boxes.TextBox) and b.text == "Director"
        )
        source = tmp_path / f"{name}.pdf"
        source.write_bytes(document.copy(document.pages[:1]).write_pdf())
        # At 96 dpi a pixel is a CSS pixel, the unit of the layout's positions.
        subprocess.run(
            ["pdftoppm", "-r", "96", "-png", str(source), str(tmp_path / name)], check=True
        )
        page = Image.open(next(tmp_path.glob(f"{name}*.png"))).convert("L")
        left, top = int(role.position_x), int(role.position_y) - 30
        area = page.crop((left, top, left + 80, int(role.position_y + role.height)))
        return {
            top + y
            for y in range(area.height)
            if any(area.getpixel((x, y)) < 200 for x in range(area.width))
        }

    everything = inked_rows(html, "cover")
    name_only = inked_rows(html.replace("</head>", HIDDEN_ROLE + "</head>"), "name")
    role_only = everything - name_only
    assert role_only and name_only
    assert min(role_only) - max(name_only) > 3  # pixels: a gap of 1 mm the eye sees


HIDDEN_ROLE = "<style>.side-role { color: transparent }</style>"


NAMES_OF_THE_WORLD = {
    "Hindi": "अनन्या शर्मा",
    "Thai": "สมชาย ใจดี",
    "Hebrew": "נועה כהן",
    "Korean": "김민준",
    "Japanese": "山田はなこ",
    "Russian": "Анна Иванова",
    "Armenian": "Անի Պետրոսյան",
    "Georgian": "ნინო ბერიძე",
    "Bengali": "সুমন দাস",
    "Tamil": "கார்த்திக் ராஜா",
    "Amharic": "አበበ ቢቂላ",
    "Vietnamese": "Nguyễn Thị Hương",
}


def test_names_in_many_scripts_print_with_real_glyphs(
    decisions: dict[str, Decision], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    parties = [
        {"side": "producer" if number % 2 else "creator", "name": name, "role": language}
        for number, (language, name) in enumerate(NAMES_OF_THE_WORLD.items())
    ]
    details = make_details(parties=parties)
    # WeasyPrint draws a .notdef box, and says so, for a character no font of the stack has.
    with caplog.at_level("WARNING", logger="weasyprint"):
        pdf = charter.to_pdf(decisions["standard"], details)
    missing = [r.getMessage() for r in caplog.records if ".notdef" in r.getMessage()]
    assert missing == []
    text = text_of(pdf)
    assert "Nguyễn Thị Hương" in text and "Анна Иванова" in text
    # from the charter's own last-resort font, not whatever the machine happens to have
    assert any("Charter-World" in font["name"] for font in fonts_of(pdf, tmp_path))


# Accepted although no font draws them: marks, joiners, selectors and tags lay out empty.
UNDRAWN = "a\u00adb\u034fc\u200dd\u2060e\ufe0ff\U000e0067g\u2066h\u2069i\u3164j"


def test_whatever_the_fields_accept_prints_with_real_glyphs(
    decisions: dict[str, Decision], caplog: pytest.LogCaptureFixture
) -> None:
    details = make_details(
        project="\U0001f600 e\u0301\u0302 \u2713 " + UNDRAWN,
        consultant="Zo\u00eb \u2605 \u263a\ufe0f",
        mediators_internal=["\u00c5sa \u2192 \u00d8ster\u00f8"],
    )
    with caplog.at_level("WARNING", logger="weasyprint"):
        charter.to_pdf(decisions["standard"], details)
    assert [r.getMessage() for r in caplog.records if ".notdef" in r.getMessage()] == []


def test_typed_text_in_every_type_size_prints_in_the_charter_s_own_fonts(
    tmp_path: Path,
) -> None:
    """The cover's roles and facts and the chart's key are set in the sans-serif: a script
    or symbol it lacks comes from the charter's fonts there too, not from the machine's."""
    thai, hindi = NAMES_OF_THE_WORLD["Thai"], NAMES_OF_THE_WORLD["Hindi"]
    base = dict.fromkeys(FACTOR_KEYS, 3)
    respondents = [
        Respondent(thai, "producer", base | {"innovation": 1}),
        Respondent(hindi, "creator", base | {"innovation": 5}),
    ]
    details = make_details(
        consultant=f"{thai} \u2713",
        client=f"{hindi} \u2605",
        parties=[
            {"side": "producer", "name": "Ann Lee", "role": thai},
            {"side": "creator", "name": "Bo Chen", "role": hindi},
        ],
    )
    pdf = charter.to_pdf(evaluate_respondents(respondents, {"innovation": 3}), details)
    fonts = {font["name"].split("+", 1)[1] for font in fonts_of(pdf, tmp_path)}
    assert {font for font in fonts if not font.startswith("Charter-")} == set()


def test_paragraphs_written_right_to_left_are_set_right_to_left(
    decisions: dict[str, Decision],
) -> None:
    assert [render.direction(t) for t in ("«سلام» world", "123 שלום", "Hello سلام", "42")] == [
        "rtl",
        "rtl",
        "ltr",
        "ltr",
    ]
    summary = "Six episodes, shot in Beirut.\nسلسلة وثائقية من ست حلقات، تصوّر في بيروت."
    html = charter.to_html(decisions["standard"], make_details(project_summary=summary))
    document = charter_pdf.render_document(html)

    def lines_of(box: Any) -> Any:
        if isinstance(box, boxes.LineBox):
            yield box
        for child in box.all_children():
            yield from lines_of(child)

    def edges(start: str) -> tuple[float, float, float]:
        """Return the line's left and right ends and its paragraph's right edge."""
        for page in document.pages:
            for block in page._page_box.descendants():
                if not isinstance(block, boxes.BlockBox) or block.element_tag != "p":
                    continue
                for line in lines_of(block):
                    words = [b for b in line.descendants() if isinstance(b, boxes.TextBox)]
                    if words and "".join(w.text for w in words).startswith(start):
                        left = min(w.position_x for w in words)
                        right = max(w.position_x + w.width for w in words)
                        return left, right, block.content_box_x() + block.width
        raise AssertionError(f"no line starts with {start!r}")

    left, right, edge = edges("Six episodes")
    assert right < edge - 50  # a short line in English stays at the left margin
    left, right, edge = edges("سلسلة")
    assert abs(right - edge) < 1 and left > 100  # the Arabic one starts at the right margin


RLO = "\u202e"  # right-to-left override: what follows it reads backwards, unless isolated


def test_an_override_in_typed_text_never_turns_the_charter_s_words_around(
    decisions: dict[str, Decision],
) -> None:
    details = make_details(
        project=RLO + "Tidewater",
        consultant=RLO + "Clara Diaz",
        arbitration=RLO + "the ICC rules, seated in Paris",
        data_storage=RLO + "a shared vault",
    )
    text = text_of(charter.to_pdf(decisions["integrated"], details))
    for words in (
        "to which both sides hold access.",
        "who facilitated the assessment and is not a party to this charter.",
        "(the Project). It is written to be attached",
        "(Appendix A). It sets out",
    ):
        assert words in text, words


def page_endings(document: Any) -> list[str]:
    """Return, per page, the kind of block its last line of text belongs to.

    "heading" for a section or clause heading or the introduction under it, "text" otherwise.
    """

    def last_line(box: Any, kind: str) -> str | None:
        if isinstance(box, boxes.MarginBox):
            return None
        element = getattr(box, "element", None)
        if element is not None and box.element_tag in ("h1", "h2"):
            kind = "heading"
        elif element is not None and "section-intro" in (element.get("class") or ""):
            kind = "heading"
        found = kind if isinstance(box, boxes.TextBox) and box.text.strip() else None
        for child in box.all_children():
            found = last_line(child, kind) or found
        return found

    return [last_line(page._page_box, "text") or "empty" for page in document.pages]


def sides_apart() -> Decision:
    """A decision whose charter opens with the gaps the two sides started from."""
    base = dict.fromkeys(FACTOR_KEYS, 3)
    respondents = [
        Respondent("Ann Lee", "producer", base | {"creative_collaboration": 1, "innovation": 1}),
        Respondent("Bo Chen", "creator", base | {"creative_collaboration": 5, "innovation": 4}),
    ]
    return evaluate_respondents(respondents, {"creative_collaboration": 3})


@pytest.mark.parametrize(
    "name", ["standard", "integrated", "strategic_resource", "agile", "hybrid", "sides apart"]
)
def test_pages_end_well_and_keep_to_their_margins(
    decisions: dict[str, Decision], name: str
) -> None:
    decision = sides_apart() if name == "sides apart" else decisions[name]
    html = charter.to_html(decision, make_details())
    document = charter_pdf.render_document(html)
    endings = page_endings(document)
    assert "heading" not in endings, endings
    assert overflowing(document) == []
    # The closing provenance table never stands alone: trace rows come with it.
    last_page = document.pages[-1]._page_box
    classes = {
        cls
        for box in last_page.descendants()
        if box.element is not None
        for cls in (box.element.get("class") or "").split()
    }
    assert {"trace", "provenance"} <= classes, classes


def test_every_protocol_clause_renders_in_a_pdf(decisions: dict[str, Decision]) -> None:
    base = decisions["hybrid"]
    from assess.decision import ChosenProtocol

    everything = Decision(
        answers=base.answers,
        model=base.model,
        components=base.components,
        scores=base.scores,
        protocols=tuple(
            ChosenProtocol(p.id, {q.name: q.high for q in p.params}) for p in CATALOGUE
        ),
        escalation=base.escalation,
        trace=base.trace,
        rules_version=base.rules_version,
        what_if=base.what_if,
    )
    pdf = charter.to_pdf(everything, make_details())
    text = text_of(pdf)
    for protocol in CATALOGUE:
        assert BY_ID[protocol.id].title in text
    assert pdfa_3b_problems(pdf) == []


def test_warm_up_loads_fonts_and_styles_once() -> None:
    charter_pdf.warm_up()
    assert charter_pdf._fonts_and_css() is charter_pdf._fonts_and_css()


class FakeWorker:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.log = self

    def warning(self, message: str, *args: object) -> None:
        self.warnings.append(message % args)


def test_a_serving_worker_lays_out_the_specimen_before_taking_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    laid_out: list[str] = []
    real = charter_pdf.render_document

    def recording(html: str, fetcher: Any = None) -> Any:
        laid_out.append(html)
        return real(html, fetcher)

    monkeypatch.setattr(charter_pdf, "render_document", recording)
    worker = FakeWorker()
    serving.post_worker_init(worker)
    assert laid_out == [charter_pdf.SPECIMEN]
    assert worker.warnings == []
    assert charter_pdf._fonts_and_css.cache_info().currsize == 1


def test_a_serving_worker_without_charter_fonts_still_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> None:
        raise CharterError("fonts missing for the charter; install fonts-inter")

    monkeypatch.setattr(charter_pdf, "warm_up", missing)
    worker = FakeWorker()
    serving.post_worker_init(worker)
    assert worker.warnings == [
        "charter renderer not warmed up: fonts missing for the charter; install fonts-inter"
    ]


def test_outline_and_contents_point_at_the_right_pages(standard_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(standard_pdf))
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top[:3]] == ["Cover", "Contents", "1 Parties and purpose"]
    assert "Sign-off" in [item.title for item in top]
    assert any(isinstance(item, list) for item in reader.outline)  # clauses nest under sections

    def flat(items: list[Any]) -> list[Any]:
        return [
            leaf for item in items for leaf in (flat(item) if isinstance(item, list) else [item])
        ]

    entries = flat(reader.outline)[2:]
    pages = [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]
    for item in entries:  # each bookmark lands on the page that shows its heading
        number, _, title = item.title.partition(" ")
        assert title in pages[reader.get_destination_page_number(item)], item.title
    # The contents page lists the same entries in the same order, with their page numbers.
    listed = [int(n) for n in re.match(r"^((?:\d+ )+)Contents", pages[1]).group(1).split()]
    assert listed == [reader.get_destination_page_number(item) + 1 for item in entries]
    # Its links lead to the same pages, and every page after the cover shows its number.
    destinations = reader.named_destinations
    links = [annotation.get_object()["/Dest"] for annotation in reader.pages[1]["/Annots"]]
    linked = [reader.get_destination_page_number(destinations[name]) + 1 for name in links]
    assert list(dict.fromkeys(linked)) == list(dict.fromkeys(listed))
    for number, text in enumerate(pages[1:], start=2):
        assert f"Page {number} of {len(pages)}" in text


LOADING = """
import ctypes.util, subprocess, sys
started = []
class Recorded(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        started.append(args if isinstance(args, str) else " ".join(map(str, args)))
        super().__init__(args, *rest, **kwargs)
subprocess.Popen = Recorded
search = ctypes.util.find_library
import assess.charter.pdf
assert ctypes.util.find_library is search, "the library search is not restored"
print("\\n".join(started))
"""


def test_weasyprint_loads_its_libraries_without_running_a_compiler() -> None:
    # Each of WeasyPrint's alternative library names would otherwise run ldconfig and gcc.
    run = subprocess.run(
        [sys.executable, "-c", LOADING], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "", run.stdout


def test_a_screen_reader_finds_the_sections_in_order_under_their_headings(
    standard_pdf: bytes, tmp_path: Path
) -> None:
    elements = read_aloud(standard_pdf, tmp_path)
    headings = [e.text for e in elements if e.role == "H1"]
    # The cover's heading is the project; then every section the outline lists, in its order.
    outline = PdfReader(io.BytesIO(standard_pdf)).outline
    sections = [item.title for item in outline if not isinstance(item, list)]
    assert headings == ["Northern Lights: an immersive documentary", *sections[1:]]
    clauses = [e.text for e in elements if e.role == "H2"]
    assert "4.1 Escalation ladder" in clauses, clauses
    # Lists and tables keep their roles: items, header cells and the data under them.
    roles = {e.role for e in elements}
    assert {"L", "LI", "Table", "TH", "TD", "Figure"} <= roles


@pytest.mark.parametrize("who", ["answers", "two respondents"])
def test_a_screen_reader_names_each_table_cell_by_its_header(
    decisions: dict[str, Decision], who: str, tmp_path: Path
) -> None:
    # The standard charter is the one read aloud above: poppler reads each file once a run.
    decision = sides_apart() if who == "two respondents" else decisions["standard"]
    pdf = charter.to_pdf(decision, make_details())
    cells = announced(read_aloud(pdf, tmp_path))
    assert [text for text, headers in cells if not headers] == []
    # Header cells at the start of a row name the cells beside them.
    assert ("Dana Holt", ["Internal"]) in cells
    assert ("Bo Chen", ["NAME"]) in cells
    # Each model's fit: its score is announced with the model's name.
    models = {model.title for model in partnership.MODELS}
    assert {h[0] for _, h in cells if h and h[0] in models} == models
    # A reader finds each header cell a data cell names through the tree's index of ids.
    assert unresolved_header_cells(pdf) == []


def test_blocks_set_side_by_side_are_not_announced_as_tables(
    standard_pdf: bytes, tmp_path: Path
) -> None:
    tables = [e for e in read_aloud(standard_pdf, tmp_path) if e.role == "Table"]
    assert not [t for t in tables if "WHAT THIS MODEL DOES WELL" in t.text]
    assert not [t for t in tables if any(e.role == "Figure" for e in t.walk())]


def test_the_cover_s_facts_read_as_label_then_value(standard_pdf: bytes, tmp_path: Path) -> None:
    elements = read_aloud(standard_pdf, tmp_path)
    cover = next(e for e in elements if e.role == "Sect")
    assert "PREPARED BY Clara Diaz CHARTER VERSION 1 ISSUED 2 March 2026" in cover.text
    # No table whose value cells would be announced with both labels of their row.
    assert not [e for e in cover.walk() if e.role == "Table"]


@pytest.mark.parametrize("who", ["answers", "two respondents"])
def test_the_chart_s_text_alternative_gives_every_value_drawn(
    decisions: dict[str, Decision], who: str
) -> None:
    decision = sides_apart() if who == "two respondents" else decisions["hybrid"]
    pdf = charter.to_pdf(decision, make_details())
    chart, *key = [e for e in structure_tree(pdf) if e.role == "Figure"]
    agreed = "; ".join(f"{f.label} {decision.answers[f.key]}" for f in FACTORS)
    assert chart.alt is not None and f"{agreed}." in chart.alt
    if who == "two respondents":
        assert "Levels the charter rests on:" in chart.alt
        assert "Ann Lee (producer side): Innovation requirements 1;" in chart.alt
        assert "Bo Chen (creator side): Innovation requirements 4;" in chart.alt
        # The key below says how each is drawn: Ann Lee's answers are the dashed line.
        assert [k.alt for k in key] == ["Shaded shape", "Dashed line", "Dotted line"]
    else:
        assert "Ann Lee" not in chart.alt
        assert key == []
