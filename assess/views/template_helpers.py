"""Names and filters every template can use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from markupsafe import Markup

from assess import models, partnership, protocols
from assess.alignment import in_full, in_sentence, told_apart
from assess.factors import BY_KEY, FACTORS
from assess.models import JOINT, SIDE_LABELS, STATUSES
from assess.text import day_text, join_names, link_end_text, short_names, time_text


def globals_for_templates() -> dict[str, Any]:
    """Return the domain texts templates render from."""
    return {
        "FACTORS": FACTORS,
        "FACTOR_BY_KEY": BY_KEY,
        "MODELS": partnership.BY_KEY,
        "PROTOCOLS": protocols.BY_ID,
        "SIDE_LABELS": SIDE_LABELS,
        "STATUSES": STATUSES,
        # The history's actions, named as the engagement records them.
        "REMOVED": models.RESPONDENT_REMOVED,
        "REOPENED": models.ANSWERS_REOPENED,
        "CLOSED_DISCARDING": models.ANSWERS_CLOSED_DISCARDING,
    }


def _moment(value: datetime | date | str | None) -> datetime | date | None:
    """Return a time given as itself or as ISO 8601 text (how a seal's audit data keeps it),
    in UTC when it knows its zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def when(value: datetime | date | str | None) -> str:
    """Format a time for people: '23 Nov 2026, 16:05 UTC'."""
    moment = _moment(value)
    if moment is None:
        # Text that is no time at all (an altered file's audit data) is shown as it is.
        return value if isinstance(value, str) else ""
    if isinstance(moment, datetime):
        return time_text(moment)
    return day_text(moment)


def iso(value: datetime | date | str | None) -> str:
    """Format a time for machines, as a <time datetime> value: '2026-11-23T16:05:09+00:00'."""
    moment = _moment(value)
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    return moment.isoformat() if moment is not None else ""


def day(value: datetime | date | None) -> str:
    """Format a date for people: '23 Nov 2026'."""
    if value is None:
        return ""
    return day_text(value)


def link_end(value: datetime | None) -> str:
    """Say when a link stops working as it was chosen (see ``link_end_text``)."""
    return link_end_text(value) if value is not None else ""


def model_title(model: str, components: list[str] | tuple[str, ...]) -> str:
    """Return the display title of a model, naming both parts of a hybrid."""
    return partnership.title(model, components)


def sentence(text: str) -> str:
    """End free text typed by a person with a full stop unless it already ends a sentence."""
    text = text.rstrip()
    return text if not text or text[-1] in ".!?…\"”')" else text + "."


def names(people: Sequence[str]) -> Markup:
    """List names in a sentence, each isolated for bidirectional text: two Arabic names in
    a row would otherwise be read as one right-to-left run and swap places."""
    return Markup(join_names([str(bdi(name)) for name in people]))


def told(named: tuple[str, str]) -> Markup:
    """Name someone as `told_apart` does, the name isolated alone and the side after it: a
    right-to-left name isolated with its side would set the side on its left."""
    name, side = named
    return Markup("{} ({})").format(bdi(name), side) if side else bdi(name)


def told_names(people: Sequence[tuple[str, str]]) -> Markup:
    """List names as `told` gives each, as a sentence does."""
    return Markup(join_names([str(told(named)) for named in people]))


def plain_told_names(people: Sequence[tuple[str, str]]) -> str:
    """List names as `told_names` does, where no markup goes (an SVG's title, an attribute)."""
    return join_names([in_full(*named) for named in people])


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def side(self) -> str: ...


def named(respondent: Named, start: bool = False) -> Markup:
    """Name a respondent in a sentence: a person by name, isolated as `names` does, and an
    intake session as the session it is. ``start``: the name opens the sentence."""
    if respondent.side == JOINT:
        return Markup.escape(in_sentence(respondent.name, respondent.side, start=start))
    return bdi(respondent.name)


def respondent_names(respondents: Sequence[Named], start: bool = False) -> Markup:
    """List respondents in a sentence, each named as `named` does; a name that answers for
    each side is followed by the side, or the sentence would name one person twice."""
    apart = told_apart([(r.name, r.side) for r in respondents])
    said = [
        Markup("{} ({})").format(named(r), apart[i][1])
        if r.side != JOINT and apart[i][1]
        else named(r, start and i == 0)
        for i, r in enumerate(respondents)
    ]
    return Markup(join_names([str(s) for s in said]))


def about(sentence: str, respondent: Named) -> Markup:
    """Fill a sentence with ``{}`` where the respondent is named, as `named` does."""
    return Markup(sentence).format(named(respondent, start=sentence.startswith("{}")))


def bdi(text: str) -> Markup:
    """Isolate text people typed from the text around it (HTML ``<bdi>``)."""
    return Markup("<bdi>{}</bdi>").format(text)


def isolated(sentence: str, *typed: str) -> Markup:
    """Fill a sentence with text people typed, each isolated: a name ending in an unclosed
    right-to-left mark would otherwise turn the rest of the sentence around."""
    return Markup(sentence).format(*(bdi(text) for text in typed))


def in_parts(text: str) -> Markup:
    """Keep each part of a date and time on one line ('20 Dec 2026,' and '23:04 UTC'): a
    narrow column may break between them, never inside one."""
    return Markup(", ").join(
        Markup('<span class="no-break">{}</span>').format(part) for part in text.split(", ")
    )


def status_class(status: str) -> str:
    """Return a CSS class name for a status label."""
    return "status-" + status.replace(" ", "-")


FILTERS: dict[str, Callable[..., str | list[str]]] = {
    "when": when,
    "iso": iso,
    "day": day,
    "link_end": link_end,
    "in_parts": in_parts,
    "quantity": protocols.quantity,
    "status_class": status_class,
    "sentence": sentence,
    "model_title": model_title,
    "names": names,
    "told": told,
    "told_names": told_names,
    "plain_told_names": plain_told_names,
    "respondent_names": respondent_names,
    "named": named,
    "plain_names": join_names,  # where no markup goes: an SVG's title and description
    "short_names": short_names,
}
