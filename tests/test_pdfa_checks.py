"""The PDF/A-3b checks find what they are meant to find.

A small document made by the charter's own PDF/A writer passes them; each change below
breaks one requirement of the standard and must be reported.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pdfa import pdfa_3b_problems
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Text
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from assess.charter import pdf as charter_pdf

SPECIMEN = """<html><head><title>Specimen</title><meta name="author" content="Ann Lee">
<meta name="description" content="A page"></head>
<body><h1 id="top">Specimen</h1><p><a href="#top">Back to the top</a>,
<a href="https://example.org/">a site</a>.</p></body></html>"""


@pytest.fixture(scope="module")
def specimen() -> bytes:
    return charter_pdf.write_pdf(
        SPECIMEN,
        document_id="PC-SPECIMEN",
        attachment=b'{"answers": {}}',
        attachment_time=datetime(2026, 3, 2, 9, tzinfo=UTC),
        fetcher=charter_pdf.BundledAssetFetcher(),
    )


def rewritten(pdf: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def catalog(writer: PdfWriter) -> DictionaryObject:
    return writer.root_object


def drop_identifier(writer: PdfWriter) -> None:
    writer._ID = None


def forged_intent(writer: PdfWriter) -> None:
    intent = catalog(writer)["/OutputIntents"][0].get_object()
    intent[NameObject("/S")] = NameObject("/GTS_PDFX")


def unembedded_font(writer: PdfWriter) -> None:
    for page in writer.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                descriptor.pop("/FontFile2", None)
                descriptor.pop("/FontFile3", None)


def script(writer: PdfWriter) -> None:
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1;")}
    )
    scripts = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("a"), action])})
    catalog(writer)["/Names"][NameObject("/JavaScript")] = scripts


def page_actions(writer: PdfWriter) -> None:
    action = DictionaryObject({NameObject("/S"): NameObject("/Launch")})
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})


def note_without_appearance(writer: PdfWriter) -> None:
    writer.add_annotation(0, Text(rect=(50, 550, 200, 650), text="A note"))


def hidden_link(writer: PdfWriter) -> None:
    for annotation in writer.pages[0]["/Annots"]:
        annotation.get_object()[NameObject("/F")] = NumberObject(2)


def other_part(writer: PdfWriter) -> None:
    metadata = catalog(writer)["/Metadata"].get_object()
    xml = metadata.get_data().replace(b'pdfaid:part="3"', b'pdfaid:part="2"')
    replacement = DecodedStreamObject()
    replacement.set_data(xml)
    replacement.update({k: v for k, v in metadata.items() if k not in ("/Filter", "/Length")})
    catalog(writer)[NameObject("/Metadata")] = writer._add_object(replacement)


def retitled(writer: PdfWriter) -> None:
    writer._info.get_object()[NameObject("/Title")] = TextStringObject("Another title")


def unassociated_file(writer: PdfWriter) -> None:
    catalog(writer)[NameObject("/AF")] = ArrayObject()


def file_without_date(writer: PdfWriter) -> None:
    names = catalog(writer)["/Names"]["/EmbeddedFiles"]["/Names"]
    stream = names[1].get_object()["/EF"]["/F"].get_object()
    del stream["/Params"]


def huge_number(writer: PdfWriter) -> None:
    writer.pages[0][NameObject("/Rotate")] = NumberObject(2**32)


def cmyk(writer: PdfWriter) -> None:
    spaces = DictionaryObject({NameObject("/CS9"): NameObject("/DeviceCMYK")})
    writer.pages[0]["/Resources"][NameObject("/ColorSpace")] = spaces


def lzw_stream(writer: PdfWriter) -> None:
    stream = DecodedStreamObject()
    stream.set_data(b"data")
    stream[NameObject("/Filter")] = NameObject("/LZWDecode")
    catalog(writer)[NameObject("/Extra")] = writer._add_object(stream)


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        (drop_identifier, "trailer: no /ID"),
        (forged_intent, "output intent: none with /S /GTS_PDFA1"),
        (unembedded_font, "is not embedded"),
        (script, "catalog: document-level JavaScript"),
        (script, "/JavaScript action is not allowed"),
        (page_actions, "additional actions (/AA)"),
        (page_actions, "/Launch action is not allowed"),
        (note_without_appearance, "/Text annotation is not set to print"),
        (note_without_appearance, "/Text annotation needs a normal appearance"),
        (hidden_link, "/Link annotation is not set to print and show (/F 2)"),
        (other_part, "not PDF/A-3B"),
        (retitled, "metadata: /Title 'Another title' differs from the XMP"),
        (unassociated_file, "embedded file assessment.json: not an associated file"),
        (file_without_date, "embedded file assessment.json: no modification date"),
        (huge_number, "integer 4294967296 is beyond 2^31 - 1"),
        (cmyk, "colour: /DeviceCMYK is used without an output intent of 4 components"),
        (lzw_stream, "stream uses /LZWDecode"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_a_broken_requirement_is_reported(
    specimen: bytes, change: Callable[[PdfWriter], None], reported: str
) -> None:
    problems = pdfa_3b_problems(rewritten(specimen, change))
    assert any(reported in problem for problem in problems), problems


def test_the_specimen_passes_as_written_and_as_rewritten(specimen: bytes) -> None:
    assert pdfa_3b_problems(specimen) == []
    assert pdfa_3b_problems(rewritten(specimen, lambda writer: None)) == []


def test_a_header_without_binary_bytes_is_reported(specimen: bytes) -> None:
    first_line = specimen.index(b"\n") + 1
    second_line = specimen.index(b"\n", first_line)
    plain = specimen[:first_line] + b"%" + b"a" * (second_line - first_line - 1)
    problems = pdfa_3b_problems(plain + specimen[second_line:])
    assert "header: second line is not a comment of four binary bytes" in problems
