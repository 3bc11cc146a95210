"""Checks of PDF files by the Debian tools a reader's software is built on (poppler, qpdf)."""

from __future__ import annotations

import subprocess
from pathlib import Path


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
