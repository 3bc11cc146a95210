"""PDF/A-3b requirements checked by reading the file (ISO 19005-3, conformance level B).

A full validator (veraPDF) cannot be installed on these machines. These are the
requirements of the standard that a generated or sealed charter can break and that can be
read off the file's objects: file header and trailer, output intent, embedded fonts,
forbidden actions and annotations, the XMP metadata and its agreement with the
information dictionary, embedded files as associated files, stream keys and filters,
implementation limits. Page content is checked only for the device colour spaces used.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

FORBIDDEN_ACTIONS = {
    "/Launch",
    "/Sound",
    "/Movie",
    "/ResetForm",
    "/ImportData",
    "/Hide",
    "/SetOCGState",
    "/Rendition",
    "/Trans",
    "/GoTo3DView",
    "/JavaScript",
}
ALLOWED_NAMED_ACTIONS = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
FORBIDDEN_ANNOTATIONS = {"/3D", "/Sound", "/Screen", "/Movie"}
NO_APPEARANCE_NEEDED = {"/Popup", "/Link"}
FORBIDDEN_FILTERS = {"/LZWDecode"}
PRINT, HIDDEN, INVISIBLE, NO_VIEW, TOGGLE_NO_VIEW = 4, 2, 1, 32, 256
MAX_INTEGER = 2**31 - 1
MAX_NAME_BYTES = 127
MAX_STRING_BYTES = 32767
# Information dictionary entries and the XMP properties they must equal.
INFO_TO_XMP = {
    "/Title": "dc_title",
    "/Author": "dc_creator",
    "/Subject": "dc_description",
    "/Keywords": "pdf_keywords",
    "/Creator": "xmp_creator_tool",
    "/Producer": "pdf_producer",
}
# Dates compare as moments: the information dictionary and XMP write them differently.
DATES_TO_XMP = {"creation_date": "xmp_create_date", "modification_date": "xmp_modify_date"}


def walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Every object reachable from root once, with the indirect object that holds it."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, Any]] = [("trailer", root)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            where, item = f"object {item.idnum}", item.get_object()
        yield where, item
        if isinstance(item, DictionaryObject):
            stack.extend((where, value) for key, value in item.items() if key != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend((where, value) for value in item)


def header_problems(pdf: bytes) -> list[str]:
    found = []
    if not re.match(rb"%PDF-1\.[0-7]\r?\n", pdf):
        found.append("header: not %PDF-1.0 to %PDF-1.7 on the first line")
    second = pdf.split(b"\n", 2)[1] if pdf.count(b"\n") > 1 else b""
    if not (second.startswith(b"%") and sum(byte > 127 for byte in second[1:5]) == 4):
        found.append("header: second line is not a comment of four binary bytes")
    return found


def trailer_problems(reader: PdfReader) -> list[str]:
    found = []
    identifier = reader.trailer.get("/ID")
    if not isinstance(identifier, ArrayObject) or len(identifier) != 2:
        found.append("trailer: no /ID of two strings")
    if "/Encrypt" in reader.trailer:
        found.append("trailer: the file is encrypted")
    return found


def catalog_problems(catalog: DictionaryObject) -> list[str]:
    found = []
    if "/AA" in catalog:
        found.append("catalog: additional actions (/AA)")
    if "/JavaScript" in catalog.get("/Names", {}):
        found.append("catalog: document-level JavaScript")
    if "/Requirements" in catalog:
        found.append("catalog: /Requirements")
    version = catalog.get("/Version")
    if version is not None and str(version) not in {f"/1.{n}" for n in range(8)}:
        found.append(f"catalog: /Version {version} is above PDF 1.7")
    form = catalog.get("/AcroForm")
    if form is not None:
        form = form.get_object()
        if form.get("/NeedAppearances") is True or "/XFA" in form:
            found.append("catalog: interactive form with /NeedAppearances or XFA")
    return found


def output_intent_problems(catalog: DictionaryObject) -> tuple[list[str], int | None]:
    """Problems of the PDF/A output intent, and the number of its colour components."""
    intents = [i.get_object() for i in catalog.get("/OutputIntents", [])]
    pdfa = [i for i in intents if i.get("/S") == "/GTS_PDFA1"]
    if not pdfa:
        return ["output intent: none with /S /GTS_PDFA1"], None
    profile = pdfa[0].get("/DestOutputProfile")
    if profile is None:
        return ["output intent: no /DestOutputProfile"], None
    profile = profile.get_object()
    data = profile.get_data()
    found = []
    if data[36:40] != b"acsp":
        found.append("output intent: the profile is not an ICC profile")
    components = int(profile.get("/N", 0))
    spaces = {1: b"GRAY", 3: b"RGB ", 4: b"CMYK"}
    if data[16:20] != spaces.get(components):
        found.append(f"output intent: /N {components} does not match the profile's colour space")
    if len({id(i["/DestOutputProfile"].get_object()) for i in pdfa}) > 1:
        found.append("output intent: several different PDF/A profiles")
    return found, components


def font_problems(where: str, font: DictionaryObject) -> list[str]:
    subtype = font.get("/Subtype")
    if subtype in {"/Type0", "/Type3"}:
        return []  # a Type 0 font is checked through its descendant; Type 3 glyphs are content
    descriptor = font.get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor is not None else {}
    found = []
    if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
        found.append(f"{where}: font {font.get('/BaseFont')} is not embedded")
    if subtype == "/CIDFontType2" and "/CIDToGIDMap" not in font:
        found.append(f"{where}: CID font {font.get('/BaseFont')} has no /CIDToGIDMap")
    return found


def annotation_problems(where: str, annotation: DictionaryObject) -> list[str]:
    subtype = annotation.get("/Subtype")
    found = []
    if subtype in FORBIDDEN_ANNOTATIONS:
        found.append(f"{where}: annotation type {subtype} is not allowed")
    flags = int(annotation.get("/F", 0))
    if not flags & PRINT or flags & (HIDDEN | INVISIBLE | NO_VIEW | TOGGLE_NO_VIEW):
        found.append(f"{where}: {subtype} annotation is not set to print and show (/F {flags})")
    if "/CA" in annotation and float(annotation["/CA"]) != 1.0:
        found.append(f"{where}: {subtype} annotation is transparent (/CA)")
    left, bottom, right, top = (float(v) for v in annotation.get("/Rect", [0, 0, 0, 0]))
    has_area = right != left and top != bottom
    if subtype not in NO_APPEARANCE_NEEDED and has_area:
        appearance = annotation.get("/AP")
        if appearance is None or set(appearance.get_object()) != {"/N"}:
            found.append(f"{where}: {subtype} annotation needs a normal appearance only (/AP /N)")
    return found


def action_problems(where: str, action: DictionaryObject) -> list[str]:
    kind = action.get("/S")
    if kind in FORBIDDEN_ACTIONS:
        return [f"{where}: {kind} action is not allowed"]
    if kind == "/Named" and action.get("/N") not in ALLOWED_NAMED_ACTIONS:
        return [f"{where}: named action {action.get('/N')} is not allowed"]
    return []


def stream_problems(where: str, stream: StreamObject) -> list[str]:
    found = []
    for key in ("/F", "/FFilter", "/FDecodeParms"):
        if key in stream and stream.get("/Type") != "/EmbeddedFile":
            found.append(f"{where}: stream refers to an external file ({key})")
    filters = stream.get("/Filter", [])
    filters = [filters] if isinstance(filters, NameObject) else list(filters)
    for name in filters:
        if name in FORBIDDEN_FILTERS:
            found.append(f"{where}: stream uses {name}")
    return found


def limit_problems(where: str, item: Any) -> list[str]:
    if isinstance(item, NumberObject) and abs(int(item)) > MAX_INTEGER:
        return [f"{where}: integer {item} is beyond 2^31 - 1"]
    if isinstance(item, NameObject) and len(item[1:].encode()) > MAX_NAME_BYTES:
        return [f"{where}: a name is longer than 127 bytes"]
    if isinstance(item, ByteStringObject) and len(item) > MAX_STRING_BYTES:
        return [f"{where}: a string is longer than 32767 bytes"]
    if isinstance(item, TextStringObject) and len(item.get_original_bytes()) > MAX_STRING_BYTES:
        return [f"{where}: a string is longer than 32767 bytes"]
    return []


def metadata_problems(reader: PdfReader, catalog: DictionaryObject) -> list[str]:
    stream = catalog.get("/Metadata")
    if stream is None:
        return ["metadata: the catalog has no XMP metadata stream"]
    stream = stream.get_object()
    found = []  # compressed XMP is forbidden in PDF/A-1 only
    if stream.get("/Type") != "/Metadata" or stream.get("/Subtype") != "/XML":
        found.append("metadata: the XMP stream is not /Type /Metadata /Subtype /XML")
    xmp = reader.xmp_metadata
    if xmp is None:
        return [*found, "metadata: the XMP does not parse"]
    description = xmp.rdf_root.getElementsByTagName("rdf:Description")
    identification = {
        name: next((d.getAttribute(name) for d in description if d.getAttribute(name)), "")
        for name in ("pdfaid:part", "pdfaid:conformance")
    }
    if identification != {"pdfaid:part": "3", "pdfaid:conformance": "B"}:
        found.append(f"metadata: identification is {identification}, not PDF/A-3B")
    info = reader.trailer.get("/Info")
    info = info.get_object() if info is not None else {}
    for key, prop in INFO_TO_XMP.items():
        if key not in info:
            continue
        if not _same(info[key], getattr(xmp, prop)):
            found.append(f"metadata: {key} {info[key]!r} differs from the XMP ({prop})")
    document_info = reader.metadata
    for date, prop in DATES_TO_XMP.items():
        moment = getattr(document_info, date) if document_info is not None else None
        if moment is not None and not _same_moment(moment, getattr(xmp, prop)):
            found.append(f"metadata: {date} {moment} differs from the XMP ({prop})")
    return found


def _same(info_value: Any, xmp_value: Any) -> bool:
    if isinstance(xmp_value, dict):
        xmp_value = xmp_value.get("x-default")
    elif isinstance(xmp_value, list):
        xmp_value = ", ".join(xmp_value)
    return str(info_value) == (xmp_value or "")


def _same_moment(info_value: datetime | None, xmp_value: datetime | None) -> bool:
    def utc(moment: datetime | None) -> datetime | None:
        return moment and (moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    return utc(info_value) == utc(xmp_value)


def embedded_file_problems(catalog: DictionaryObject) -> list[str]:
    associated = {ref.idnum for ref in catalog.get("/AF", []) if isinstance(ref, IndirectObject)}
    found = []
    for name, reference in _name_tree(catalog.get("/Names", {}).get("/EmbeddedFiles")):
        spec = reference.get_object()
        for key in ("/F", "/UF", "/AFRelationship"):
            if key not in spec:
                found.append(f"embedded file {name}: file specification lacks {key}")
        if not isinstance(reference, IndirectObject) or reference.idnum not in associated:
            found.append(f"embedded file {name}: not an associated file of the document (/AF)")
        stream = spec.get("/EF", {}).get("/F")
        stream = stream.get_object() if stream is not None else {}
        if "/Subtype" not in stream:
            found.append(f"embedded file {name}: no MIME type (/Subtype)")
        if "/ModDate" not in stream.get("/Params", {}):
            found.append(f"embedded file {name}: no modification date (/Params /ModDate)")
    return found


def _name_tree(node: Any) -> Iterator[tuple[str, Any]]:
    if node is None:
        return
    node = node.get_object()
    names = node.get("/Names", [])
    for index in range(0, len(names), 2):
        yield str(names[index]), names[index + 1]
    for kid in node.get("/Kids", []):
        yield from _name_tree(kid)


def content_streams(reader: PdfReader, objects: list[Any]) -> Iterator[bytes]:
    """Page contents and form XObjects (appearances included): where colours are set."""
    for page in reader.pages:
        contents = page.get_contents()
        if contents is not None:
            yield contents.get_data()
    for item in objects:
        if isinstance(item, StreamObject) and item.get("/Subtype") == "/Form":
            yield item.get_data()


def colour_problems(reader: PdfReader, objects: list[Any], components: int | None) -> list[str]:
    """Device colours need an output intent of the same colour space."""
    used = {
        str(item)
        for item in objects
        if isinstance(item, NameObject) and item in {"/DeviceRGB", "/DeviceCMYK"}
    }
    for content in content_streams(reader, objects):
        if re.search(rb"(?:[-+.\d]+\s+){3}(?:rg|RG)\b", content):
            used.add("/DeviceRGB")
        if re.search(rb"(?:[-+.\d]+\s+){4}(?:k|K)\b", content):
            used.add("/DeviceCMYK")
    needs = {"/DeviceRGB": 3, "/DeviceCMYK": 4}
    return [
        f"colour: {space} is used without an output intent of {needs[space]} components"
        for space in sorted(used)
        if components != needs[space]
    ]


def pdfa_3b_problems(pdf: bytes) -> list[str]:
    """What keeps the file from meeting the checked PDF/A-3b requirements ([] if nothing)."""
    reader = PdfReader(io.BytesIO(pdf))
    catalog = reader.trailer["/Root"].get_object()
    intent, components = output_intent_problems(catalog)
    located = list(walk(reader.trailer))
    objects = [item for _, item in located]
    found = [
        *header_problems(pdf),
        *trailer_problems(reader),
        *catalog_problems(catalog),
        *intent,
        *metadata_problems(reader, catalog),
        *embedded_file_problems(catalog),
        *colour_problems(reader, objects, components),
    ]
    for where, item in located:
        found.extend(limit_problems(where, item))
        if not isinstance(item, DictionaryObject):
            continue
        if isinstance(item, StreamObject):
            found.extend(stream_problems(where, item))
        if item.get("/Type") == "/Font":
            found.extend(font_problems(where, item))
        if item.get("/Type") == "/Annot" or ("/Rect" in item and "/Subtype" in item):
            found.extend(annotation_problems(where, item))
        if "/S" in item:
            found.extend(action_problems(where, item))
        if "/AA" in item:
            found.append(f"{where}: additional actions (/AA)")
    return found
