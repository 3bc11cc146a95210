"""The fonts the charter is printed in, and which characters they can print.

Kept apart from the PDF writer: validating a charter's fields asks which characters print
without loading WeasyPrint.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from assess.text import INVISIBLE

_DEBIAN_FONTS = Path("/usr/share/fonts")

# Every file the charter may load, by the name its CSS uses, with the Debian package
# that provides it. The fetcher serves these and refuses everything else.
FONTS: dict[str, tuple[Path, str]] = {
    f"fonts/{name}": (_DEBIAN_FONTS / path, package)
    for name, path, package in (
        (
            "garamond-regular.otf",
            "opentype/ebgaramond/EBGaramond12-Regular.otf",
            "fonts-ebgaramond",
        ),
        ("garamond-italic.otf", "opentype/ebgaramond/EBGaramond12-Italic.otf", "fonts-ebgaramond"),
        ("garamond-bold.otf", "opentype/ebgaramond/EBGaramond12-Bold.otf", "fonts-ebgaramond"),
        ("inter-regular.otf", "opentype/inter/Inter-Regular.otf", "fonts-inter"),
        ("inter-italic.otf", "opentype/inter/Inter-Italic.otf", "fonts-inter"),
        ("inter-medium.otf", "opentype/inter/Inter-Medium.otf", "fonts-inter"),
        ("inter-semibold.otf", "opentype/inter/Inter-SemiBold.otf", "fonts-inter"),
        ("inter-bold.otf", "opentype/inter/Inter-Bold.otf", "fonts-inter"),
        (
            "mono-regular.ttf",
            "truetype/jetbrains-mono/JetBrainsMono-Regular.ttf",
            "fonts-jetbrains-mono",
        ),
        ("amiri-regular.ttf", "opentype/fonts-hosny-amiri/Amiri-Regular.ttf", "fonts-hosny-amiri"),
        ("amiri-bold.ttf", "opentype/fonts-hosny-amiri/Amiri-Bold.ttf", "fonts-hosny-amiri"),
        ("cjk-regular.ttc", "truetype/wqy/wqy-microhei.ttc", "fonts-wqy-microhei"),
        ("dejavu-sans.ttf", "truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
        # Last in every stack: Indic, Thai, Ethiopic and other scripts the others lack.
        ("world-regular.otf", "opentype/freefont/FreeSerif.otf", "fonts-freefont-otf"),
        ("world-bold.otf", "opentype/freefont/FreeSerifBold.otf", "fonts-freefont-otf"),
    )
}
DEBIAN_PACKAGES: tuple[str, ...] = tuple(sorted({package for _, package in FONTS.values()}))

__all__ = ["DEBIAN_PACKAGES", "FONTS", "unprintable"]

# What Pango lays out without a glyph: white space, the invisible format characters, the
# combining grapheme joiner, variation selectors and tag characters.
UNDRAWN = re.compile(rf"[\s{INVISIBLE}\u034f\ufe00-\ufe0f\U000e0000-\U000e0fff]")


@cache
def _covered() -> frozenset[int] | None:
    """Return the code points one of the charter's fonts has a glyph for; None where a font
    is missing, and the charter cannot be made anyway (the renderer says which)."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for path, _ in FONTS.values():
        try:
            font = TTFont(path, fontNumber=0, lazy=True)
        except OSError:
            return None
        with font:
            points.update(font.getBestCmap() or {})
    return frozenset(points)


def unprintable(text: str) -> list[str]:
    """Return the characters of the text, once each, that none of the charter's fonts has:
    printed, each would be an empty box."""
    covered = _covered()
    if covered is None:
        return []
    missing: list[str] = []
    for char in text:
        if ord(char) not in covered and not UNDRAWN.match(char) and char not in missing:
            missing.append(char)
    return missing
