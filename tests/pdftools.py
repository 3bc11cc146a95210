"""PDF files in the tests: checked by the Debian tools a reader's software is built on
(poppler, qpdf), fetched as a viewer does, and changed as an editor would."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

# The environment variable naming a folder shared by the test processes of one run.
RUN_FOLDER = "ASSESS_TEST_RUN_FOLDER"


def fonts_of(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """List the fonts as pdffonts reports them: name, embedded and unicode map (yes/no)."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert rows, out
    fonts = []
    for row in rows:
        # name type encoding emb sub uni object ID: the three yes/no columns precede the object id.
        fields = row.split()
        fonts.append({"name": fields[0], "emb": fields[-5], "uni": fields[-3]})
    return fonts


def structure_problems(pdf: bytes, tmp_path: Path) -> str:
    """Return what ``qpdf --check`` finds wrong in syntax, xref and streams ('' if nothing)."""
    path = tmp_path / "checked.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    if result.returncode == 0 and "No syntax or stream encoding errors found" in result.stdout:
        return ""
    return (result.stdout + result.stderr).strip() or f"qpdf exited {result.returncode}"


@dataclass
class Element:
    """An element of a tagged PDF's structure tree: its role, the text under it, the page
    (0-based) its content is on, and its alternate text; a table's header cell has an id,
    and a data cell the ids of the header cells it is announced with."""

    role: str
    text: str = ""
    page: int | None = None
    alt: str | None = None
    kids: list[Element] = field(default_factory=list)
    id: str | None = None
    headers: list[str] = field(default_factory=list)

    def walk(self) -> Iterator[Element]:
        yield self
        for kid in self.kids:
            yield from kid.walk()


def read_aloud(pdf: bytes, tmp_path: Path) -> list[Element]:
    """Return the structure tree's elements in reading order with their text, as poppler
    reads them for assistive technology (``pdfinfo -struct-text``)."""
    out = _struct_text(pdf, tmp_path)
    root = Element("")
    open_elements: list[tuple[int, Element]] = [(-1, root)]
    for line in out.splitlines():
        depth = len(line) - len(line.lstrip())
        content = line.strip()
        if not content:
            continue
        while open_elements[-1][0] >= depth:
            open_elements.pop()
        if content.startswith("/"):  # an attribute of the element above it
            if content.startswith("/Headers"):
                open_elements[-1][1].headers = re.findall(r"\(([^)]*)\)", content)
            continue
        if content.startswith('"'):
            for _, element in open_elements:  # lines of a paragraph are separate texts
                element.text = " ".join((element.text + " " + content[1:-1]).split())
            continue
        element = Element(content.split()[0].rstrip(":"))
        if ident := re.search(r"<([^>]*)>", content):
            element.id = ident[1]
        open_elements[-1][1].kids.append(element)
        open_elements.append((depth, element))
    return list(root.walk())[1:]


def _struct_text(pdf: bytes, tmp_path: Path) -> str:
    """Run ``pdfinfo -struct-text`` once per distinct file in a test run, whichever test
    process asks first: poppler reads a page's content again for each element, seconds
    per charter, and several tests read the same charter."""
    kept = Path(os.environ[RUN_FOLDER]) / f"struct-text-{hashlib.sha256(pdf).hexdigest()}"
    if kept.exists():
        return kept.read_text()
    path = tmp_path / "tagged.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True
    ).stdout
    written = kept.with_name(f"{kept.name}.{os.getpid()}")
    written.write_text(out)
    written.replace(kept)  # whole or not at all, for a process reading it meanwhile
    return out


def announced(elements: list[Element]) -> list[tuple[str, list[str]]]:
    """Each table data cell's text, with the texts of the header cells it is announced with."""
    header_cells = {e.id: e.text for e in elements if e.role == "TH" and e.id}
    return [(e.text, [header_cells[h] for h in e.headers]) for e in elements if e.role == "TD"]


def structure_tree(pdf: bytes) -> list[Element]:
    """Return the structure tree's elements in order as pypdf reads them, with the page
    each is on and its alternate text; check that every page's marked content is mapped
    (its StructParents key in the parent tree, to elements on that page)."""
    reader = PdfReader(BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    pages = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages)}
    tree = root["/StructTreeRoot"]
    nums = tree["/ParentTree"]["/Nums"]
    mapped = {int(nums[i]): nums[i + 1].get_object() for i in range(0, len(nums), 2)}
    for n, page in enumerate(reader.pages):
        assert page["/StructParents"] in mapped, f"page {n + 1} has no structure"
        for owner in mapped[page["/StructParents"]]:
            assert pages[owner.get_object().raw_get("/Pg").idnum] == n, f"page {n + 1}"

    def element(node: Any, page: int | None) -> Element:
        if "/Pg" in node:
            page = pages[node.raw_get("/Pg").idnum]
        alt = node.get("/Alt")
        found = Element(str(node["/S"])[1:], page=page, alt=None if alt is None else str(alt))
        kids = node.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            kid = kid.get_object()
            if isinstance(kid, dict) and kid.get("/Type", "/StructElem") == "/StructElem":
                found.kids.append(element(kid, page))
        return found

    document = element(tree["/K"][0].get_object(), None)
    return list(document.walk())


def unresolved_header_cells(pdf: bytes) -> list[str]:
    """Return the header cell ids that data cells name but the structure tree's ID tree
    does not resolve to a header cell (an assistive technology looks ids up there)."""
    reader = PdfReader(BytesIO(pdf))
    tree = reader.trailer["/Root"]["/StructTreeRoot"]
    names = tree["/IDTree"]["/Names"] if "/IDTree" in tree else []
    ids = [str(names[i]) for i in range(0, len(names), 2)]
    assert ids == sorted(ids, key=lambda i: i.encode()), "the ID tree's keys are in order"
    resolved = {str(names[i]) for i in range(0, len(names), 2) if names[i + 1]["/S"] == "/TH"}

    def named(node: Any) -> Iterator[str]:
        attributes = node.get("/A")
        if isinstance(attributes, dict) and "/Headers" in attributes:
            yield from (str(h) for h in attributes["/Headers"])
        kids = node.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            kid = kid.get_object()
            if isinstance(kid, dict) and kid.get("/Type", "/StructElem") == "/StructElem":
                yield from named(kid)

    return [h for h in named(tree) if h not in resolved]


def served_in_parts(client: Any, path: str) -> bytes:
    """Check that ``path`` serves its PDF a byte range at a time, as a browser's PDF viewer
    and a resumed download ask for it; return the whole PDF."""
    whole = client.get(path)
    assert whole.status_code == 200, path
    assert whole.headers["Accept-Ranges"] == "bytes", path
    data: bytes = whole.data
    tag = whole.headers["ETag"]
    length = len(data)
    part = client.get(path, headers={"Range": "bytes=100-1123"})
    assert part.status_code == 206, path
    assert part.headers["Content-Range"] == f"bytes 100-1123/{length}"
    assert part.data == data[100:1124] and part.headers["Content-Length"] == "1024"
    tail = client.get(path, headers={"Range": "bytes=-10", "If-Range": tag})
    assert tail.status_code == 206 and tail.data == data[-10:], path
    # A part of another copy of the document would corrupt the one the client holds.
    changed = client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert changed.status_code == 200 and changed.data == data, path
    beyond = client.get(path, headers={"Range": f"bytes={length}-"})
    assert beyond.status_code == 416, path
    assert beyond.headers["Content-Range"] == f"bytes */{length}"
    # A suffix longer than the document asks for all of it (RFC 9110, 14.1.3).
    longer = client.get(path, headers={"Range": f"bytes=-{length + 10}"})
    assert longer.status_code == 206 and longer.data == data, path
    assert longer.headers["Content-Range"] == f"bytes 0-{length - 1}/{length}"
    # A range in another unit, several ranges, or one that cannot be read: the whole
    # document, as a server that ignores the header sends it (RFC 9110, 14.2).
    for ignored in ("items=0-1", "bytes=0-0,2-2", "bytes=5-2", "bytes=x"):
        answer = client.get(path, headers={"Range": ignored})
        assert answer.status_code == 200 and answer.data == data, (path, ignored)
    return data


def append_page(pdf: bytes) -> bytes:
    """Append a blank page the way an editor would: an incremental update."""
    writer = PdfWriter(BytesIO(pdf), incremental=True)
    writer.add_blank_page()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
