"""What counts as user text, the same in forms, the JSON API, the CLI and the charter.

Text is NFC-normalised, line breaks are made ``\\n`` (browsers send a textarea's as
``\\r\\n``; Unicode has line and paragraph separators too), tabs become spaces, and outer
white space is trimmed. Control characters, and lone surrogates (what a non-UTF-8
command-line argument or a broken ``\\ud800`` JSON escape turns into), are refused. Text
made only of white space and invisible characters (zero-width spaces, a byte-order mark)
counts as empty. A length limit holds for the text as sent and as stored, so that every
layer agrees on it: the forms, the API and its document, the CLI, a browser's maxlength.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import ValidationError, fields

# Characters that show nothing: soft hyphen, zero-width spaces and joiners, direction marks
# and isolates, word joiner, byte-order mark. Written as a regex class body that Python and
# JSON Schema (ECMA 262) read alike, so the OpenAPI document states the same rule.
INVISIBLE = r"\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
# Unicode's line and paragraph separators are line breaks too: in a one-line text they
# would start a new line where the page expects none. Text is refused for any of them but
# the tab, which it takes as a space.
REFUSED_CONTROLS = r"\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029"
CONTROLS = rf"\t{REFUSED_CONTROLS}"
BLANK = re.compile(rf"[\s{INVISIBLE}]*")
UNTYPED = re.compile(rf"[\s{INVISIBLE}{CONTROLS}]*")
# One of them, to take out where text is matched rather than shown (a name typed to sign,
# an email address).
UNSEEN = re.compile(f"[{INVISIBLE}]")
# For API documentation: text without control characters, and with something visible.
PRINTABLE = rf"^[^{REFUSED_CONTROLS}]*$"
PRINTABLE_NOT_BLANK = rf"^[^{REFUSED_CONTROLS}]*[^\s{INVISIBLE}{CONTROLS}][^{REFUSED_CONTROLS}]*$"


# What steers a terminal or the direction of text instead of showing as itself: control
# characters (escape sequences, line breaks, line and paragraph separators), and the
# bidirectional marks and overrides.
STEERING = re.compile(rf"[{CONTROLS}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """Return text someone else wrote (a file's names, a request's headers) for a line of
    output or of the audit trail, each character in STEERING as '?': it can neither steer a
    terminal nor add a line, and a NUL, which PostgreSQL does not store, is gone."""
    return STEERING.sub("?", text)


class TextError(ValueError):
    """The text cannot be accepted; the message says why, as a phrase ('must ...')."""


def clean(value: str, *, multiline: bool = False) -> str:
    """Return the text as stored, or raise ``TextError``."""
    text = value.replace("\r\n", "\n").replace("\t", " ")
    text = re.sub("[\r\u2028\u2029]", "\n", text)
    if any(unicodedata.category(c) == "Cs" for c in text):
        raise TextError("must be valid Unicode text")
    allowed = "\n" if multiline else ""
    # Checked before the trimming, which takes some (U+001C to U+001F, U+0085) for white
    # space: refused anywhere, as the API document says.
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise TextError("must not contain control characters")
    return unicodedata.normalize("NFC", text).strip()


def join_names(names: Sequence[str]) -> str:
    """Return the names as a sentence lists them: "Ann, Bo and Cy"."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def short_names(names: Sequence[str]) -> list[str]:
    """Return a short form of each name that still tells the people apart: its first word
    (after a title such as "Dr."); where two first words are alike, with the initials of the
    other words after it ("Ann L."); where those are alike too, the whole name."""

    def words_of(name: str) -> list[str]:
        words = name.split()
        while len(words) > 1 and words[0].endswith("."):
            words = words[1:]
        return words

    def unique(forms: list[str]) -> list[bool]:
        seen = Counter(form.casefold() for form in forms)
        return [seen[form.casefold()] == 1 for form in forms]

    parts = [words_of(name) for name in names]
    first = [words[0] if words else name for words, name in zip(parts, names, strict=True)]
    initials = [
        " ".join([words[0], *(w[0] + "." for w in words[1:])]) if words else name
        for words, name in zip(parts, names, strict=True)
    ]
    alone, alone_with_initials = unique(first), unique(initials)
    return [
        f if f_ok else (i if i_ok else name)
        for name, f, i, f_ok, i_ok in zip(
            names, first, initials, alone, alone_with_initials, strict=True
        )
    ]


def same_name(one: str, other: str) -> bool:
    """Say whether two typed names are the same name, whatever their case and spacing."""
    return " ".join(one.split()).casefold() == " ".join(other.split()).casefold()


def shows_as(typed: str, text: str) -> bool:
    """Say whether typed text is the text as a page shows it, case and all: the same once
    accents are composed alike (NFC), characters that show nothing (a copied label's
    isolates, a soft hyphen) are left out and each run of white space is one space."""

    def seen(value: str) -> str:
        return " ".join(unicodedata.normalize("NFC", UNSEEN.sub("", value)).split())

    return seen(typed) == seen(text)


def is_blank(text: str) -> bool:
    """Return whether nothing in the text would be visible."""
    return BLANK.fullmatch(text) is not None


def types_nothing(text: str) -> bool:
    """Return whether the text holds nothing a keyboard types visibly: spaces, characters
    that show nothing, control characters (a row of NULs is no password)."""
    return UNTYPED.fullmatch(text) is not None


class Text(fields.String):
    """A user text field: cleaned, bounded, and non-blank when required."""

    def __init__(
        self, max_length: int, *, multiline: bool = False, printed: bool = False, **kwargs: Any
    ) -> None:
        """``max_length`` bounds the characters sent and those stored after normalising.
        ``printed`` text ends up in the charter: each character must be in one of its fonts,
        or the contract would carry an empty box where the character was meant to be."""
        self.max_length = max_length
        self.multiline = multiline
        self.printed = printed
        kwargs["error_messages"] = {
            "required": "is required",
            "null": "must be text",
            "invalid": "must be text",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = str(super()._deserialize(value, attr, data, **kwargs))
        try:
            text = clean(raw, multiline=self.multiline)
        except TextError as error:
            raise ValidationError(self.unusable(str(error))) from None
        if is_blank(text):
            text = ""
        if self.required and not text:
            raise ValidationError(self.empty())
        # The limit holds for the text as sent (a line break counting one character), as the
        # API document and a browser's maxlength count it, and for the text as stored.
        length = max(len(raw.replace("\r\n", "\n")), len(text))
        if length > self.max_length:
            raise ValidationError(self.too_long(length))
        if self.printed:
            from assess.charter.fonts import unprintable  # the fonts' module needs this one

            missing = unprintable(text)
            if missing:
                shown = ", ".join(f"{char} (U+{ord(char):04X})" for char in missing[:3])
                reason = f"must not contain characters the charter's fonts lack: {shown}"
                raise ValidationError(self.unusable(reason))
        return text

    # The messages, as phrases after the field name; web forms say them as sentences.
    def unusable(self, reason: str) -> str:
        return reason

    def empty(self) -> str:
        return "must not be empty"

    def too_long(self, length: int) -> str:
        return f"must be at most {self.max_length} characters"


def day_text(moment: date) -> str:
    """Format a day for people: '3 Dec 2026' (no zero-padded day, on any platform)."""
    return f"{moment.day} {moment:%b %Y}"


def time_text(moment: datetime, *, seconds: bool = False) -> str:
    """Format a UTC time for people: '3 Dec 2026, 16:05 UTC'."""
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{day_text(moment)}, {clock} UTC"


def link_end_text(moment: datetime) -> str:
    """Say when a link stops working as it was chosen, with its zone: a link chosen to work
    through a day stops at the midnight (UTC) after it, so that day is named, '12 Dec 2026,
    end of day UTC'; any other end is named exactly, '3 Jan 2027, 16:25 UTC'."""
    moment = moment.astimezone(UTC)
    if moment.time() == time():
        return f"{day_text(moment - timedelta(days=1))}, end of day UTC"
    return time_text(moment)


class CalendarDate(fields.Date):
    """A date written YYYY-MM-DD, as the field asks, that says so when it is written right
    but names no day (2026-02-30): "must be YYYY-MM-DD" would send the person looking for a
    mistake of format. ISO 8601's other forms (20270301, 2027-W09-1) are refused as not
    written so, rather than read as a day the person may not have meant."""

    default_error_messages = {"no_such_day": "{input} is not a day of the calendar"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if isinstance(value, str):
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                raise self.make_error("invalid")
            try:
                date.fromisoformat(value)
            except ValueError:
                raise self.make_error("no_such_day", input=value) from None
        return super()._deserialize(value, attr, data, **kwargs)
