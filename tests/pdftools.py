"""PDF files in the tests: checked by the Debian tools a reader's software is built on
(poppler, qpdf), fetched as a viewer does, and changed as an editor would."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfWriter


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
    return data


def append_page(pdf: bytes) -> bytes:
    """Append a blank page the way an editor would: an incremental update."""
    writer = PdfWriter(BytesIO(pdf), incremental=True)
    writer.add_blank_page()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
