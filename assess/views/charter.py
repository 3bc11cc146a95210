"""The charter for consultants: fill-in fields, HTML preview, PDF and calendar downloads.

The consultant edits the fields, previews the charter in a new tab with the same templates as
the PDF, and downloads the PDF and the review calendar. Valid fields are stored with the
engagement whenever the form is saved, previewed, downloaded or frozen, and fill the form
when it is opened again; a freeze for sign-off reads the stored fields. Validation is the
charter's own marshmallow schema, one message per field.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from marshmallow import ValidationError

from assess import charter, signoff
from assess.charter import CharterDetails
from assess.charter.details import STORED_FIELDS
from assess.charter.render import stylesheet_text
from assess.decision import Decision
from assess.extensions import db
from assess.forms import as_now, changed_both_ways, opened_with
from assess.models import VERSIONS_WITH_SIGN_OFFS, DecisionRecord, Engagement, utcnow
from assess.text import is_blank
from assess.views.auth import require_consultant
from assess.views.engagements import owned_engagement, refuse_if_archived
from assess.views.results import owned_decision

bp = Blueprint("charter", __name__)
bp.before_request(require_consultant)

BASE = "/engagements/<int:engagement_id>/decisions/<int:decision_id>/charter"
MEDIATOR_SLOTS = 3
PREVIEW_BANNER = (
    "Draft preview, made from the fields in the form; it is not for signature. Freeze the "
    "charter for sign-off to make the version the parties approve. Close this tab to go "
    "back to the form."
)

# Form field -> (label, where the schema reports its problems).
LABELS: dict[str, str] = {
    "effective_date": "Effective from",
    "project_summary": "The project in a few lines",
    **{f"mediator_internal_{i}": f"Internal mediator {i}" for i in range(1, MEDIATOR_SLOTS + 1)},
    **{f"mediator_external_{i}": f"External mediator {i}" for i in range(1, MEDIATOR_SLOTS + 1)},
    "revenue_producer": "Producer side share (%)",
    "revenue_creator": "Creator side share (%)",
    "arbitration": "Arbitration institution and seat",
    "data_storage": "Neutral storage for exports",
}


def _whole_or_text(value: str) -> int | str:
    """Pass a whole number on as an int, a negative one too so that the schema names the
    range; anything else as text, for the schema to name the problem."""
    value = value.strip()
    digits = value.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return value
    # Ten digits and more are out of range whatever they say: not worth parsing thousands.
    number = int(digits) if len(digits) < 10 else 10**10
    return -number if value.startswith("-") else number


def filled_mediator_slots(form: Mapping[str, str], kind: str) -> list[int]:
    """Return the numbers of the mediator inputs of this kind that hold a name."""
    slots = range(1, MEDIATOR_SLOTS + 1)
    return [i for i in slots if not is_blank(form.get(f"mediator_{kind}_{i}", ""))]


def fields_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Turn the flat form into the charter schema's fields; blank inputs are left out."""
    fields: dict[str, Any] = {}
    for name in ("effective_date", "project_summary", "arbitration", "data_storage"):
        if not is_blank(form.get(name, "")):
            fields[name] = form[name]
    for kind in ("internal", "external"):
        slots = filled_mediator_slots(form, kind)
        fields[f"mediators_{kind}"] = [form[f"mediator_{kind}_{i}"] for i in slots]
    producer, creator = form.get("revenue_producer", ""), form.get("revenue_creator", "")
    if not (is_blank(producer) and is_blank(creator)):
        # The labels say "(%)": a share typed as "45%" means 45.
        fields["revenue_split"] = {
            "producer": _whole_or_text(producer.strip().removesuffix("%")),
            "creator": _whole_or_text(creator.strip().removesuffix("%")),
        }
    return fields


# What the charter takes from the engagement rather than from this form.
ENGAGEMENT_FIELDS = {"project": "project name", "parties": "parties", "consultant": "your name"}


def _first_message(value: Any) -> str:
    """Return the first message in a schema's nested messages."""
    if isinstance(value, str):
        return value
    items = value.values() if isinstance(value, Mapping) else value
    return next((_first_message(item) for item in items), "not valid")


def form_errors(messages: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, list[str]]:
    """Map the schema's messages onto the form's field names."""
    errors: dict[str, list[str]] = {}

    def add(name: str, value: Any) -> None:
        texts = value if isinstance(value, list) else [value]
        errors.setdefault(name, []).extend(_sentence(t) for t in texts if isinstance(t, str))

    for key, value in messages.items():
        if key == "revenue_split":
            if isinstance(value, dict):
                for side, problem in value.items():
                    known = side in ("producer", "creator")
                    name = f"revenue_{side}" if known else "revenue_producer"
                    if known and is_blank(form.get(name, "")):
                        # The other share is filled in: this one is missing, not malformed.
                        problem = f"Enter the {side} side's share as well, or neither."
                    add(name, problem)
            else:
                add("revenue_producer", value)
        elif key in ("mediators_internal", "mediators_external"):
            kind = key.split("_")[1]
            # Blank inputs are left out, so the n-th name is not always in the n-th input.
            slots = filled_mediator_slots(form, kind) or [1]
            if isinstance(value, dict):
                for index, problem in value.items():
                    add(f"mediator_{kind}_{slots[min(int(index), len(slots) - 1)]}", problem)
            else:
                add(f"mediator_{kind}_{slots[0]}", value)
        elif key in ("parties", "project", "consultant"):
            add(
                "_schema",
                f"The engagement cannot make a charter yet ({ENGAGEMENT_FIELDS[key]}: "
                f"{_first_message(value)}); edit the engagement first.",
            )
        else:
            add(key, value)
    return errors


def _sentence(message: str) -> str:
    """Shown under its field's label, a schema message reads as a sentence of its own."""
    message = message.strip()
    ending = "" if message.endswith((".", "?", "!")) else "."
    return message[:1].upper() + message[1:] + ending


def charter_data(
    engagement: Engagement, consultant: str, issued_at: datetime, form: Mapping[str, str]
) -> dict[str, Any]:
    """Gather what the charter states besides the decision, for ``charter.load_details``."""
    data: dict[str, Any] = {
        "project": engagement.project_name,
        "parties": [{"side": p.side, "name": p.name, "role": p.role} for p in engagement.parties],
        "consultant": consultant[:120],
        "client": engagement.client_organisation,
        "issued_at": issued_at.isoformat(),
        "version": next_version(engagement),
        **fields_from_form(form),
    }
    # An amendment keeps the first version's id: its draft and calendar name it too.
    if engagement.charter_versions:
        data["document_id"] = engagement.charter_versions[0].document_id
    return data


def next_version(engagement: Engagement) -> int:
    """The number the next freeze gives: drafts carry it, as nobody chooses it."""
    versions = engagement.charter_versions
    return versions[-1].number + 1 if versions else 1


def details_for(
    engagement: Engagement, form: Mapping[str, str]
) -> tuple[CharterDetails | None, dict[str, list[str]]]:
    """Combine the engagement with the form's fields; return details or per-field errors."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # Issued at the start of the day: preview and download on the same day match.
    data = charter_data(engagement, current_user.display_name, today, form)
    try:
        return charter.load_details(data), {}
    except ValidationError as error:
        messages = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        return None, form_errors(messages, form)


def stored_form(stored: Mapping[str, Any] | None) -> dict[str, str]:
    """Turn the stored fill-in fields back into the form's inputs."""
    form: dict[str, str] = {}
    if not stored:
        return form
    for name in ("effective_date", "project_summary", "arbitration", "data_storage"):
        form[name] = str(stored.get(name) or "")
    for kind in ("internal", "external"):
        names = list(stored.get(f"mediators_{kind}") or [])[:MEDIATOR_SLOTS]
        for i, name in enumerate(names, start=1):
            form[f"mediator_{kind}_{i}"] = str(name)
    split = stored.get("revenue_split")
    if isinstance(split, Mapping):
        form["revenue_producer"] = str(split.get("producer", ""))
        form["revenue_creator"] = str(split.get("creator", ""))
    return form


def _changed_meanwhile(
    engagement: Engagement, form: Mapping[str, str], shown: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Keep what another tab saved since the form was opened where this form left the field
    as it was; return the form so merged and, as errors, each field changed both here and
    there to different values."""
    merged = {name: form.get(name, "") for name in LABELS}
    both = changed_both_ways(shown, stored_form(engagement.charter_fields), merged, LABELS)
    conflicts = {
        name: [
            f"{as_now(now, 'Saved as')} from another tab since you opened this page. Send "
            "the form again to replace it with what is in the form."
        ]
        for name, now in both.items()
    }
    return merged, conflicts


def save_fields(
    engagement: Engagement, record: DecisionRecord, form: Mapping[str, str]
) -> tuple[CharterDetails | None, dict[str, list[str]]]:
    """Validate the posted fields and store them with the engagement (the caller commits).

    The details returned are read back from what was stored, so a freeze uses the stored
    fields; with errors nothing is stored. Fields saved from another tab since the form was
    opened are kept where the form left them as they were; where both changed a field, the
    form comes back (409) showing what each holds.
    """
    shown = opened_with(form.get("fields_opened", ""))
    if shown is not None:
        merged, conflicts = _changed_meanwhile(engagement, form, shown)
        if conflicts:
            current = json.dumps(stored_form(engagement.charter_fields))
            page, _ = edit_page(engagement, record, {**merged, "fields_opened": current}, conflicts)
            abort(make_response(page, 409))
        form = merged
    details, errors = details_for(engagement, form)
    if details is None:
        return None, errors
    data = details.to_dict()
    engagement.charter_fields = {name: data[name] for name in STORED_FIELDS}
    engagement.updated_at = utcnow()
    return details_for(engagement, stored_form(engagement.charter_fields))


def own_decision(
    engagement_id: int, decision_id: int, *, hold: bool = False
) -> tuple[Engagement, DecisionRecord]:
    engagement = owned_engagement(engagement_id, VERSIONS_WITH_SIGN_OFFS, hold=hold)
    return engagement, owned_decision(engagement, decision_id)


def edit_page(
    engagement: Engagement,
    record: DecisionRecord,
    form: Mapping[str, str],
    errors: dict[str, list[str]],
) -> tuple[str, int]:
    # Sent back with the form: what it showed when opened (carried on while it is corrected).
    opened = form.get("fields_opened") or json.dumps(stored_form(engagement.charter_fields))
    page = render_template(
        "web/charter_edit.html",
        engagement=engagement,
        record=record,
        decision=record.decision,
        form=form,
        fields_opened=opened,
        errors=errors,
        labels={name: (label, f"field-{name}") for name, label in LABELS.items()},
        mediator_slots=range(1, MEDIATOR_SLOTS + 1),
        open_sign_off=signoff.open_sign_off(engagement),
        next_version=next_version(engagement),
    )
    return page, 422 if errors else 200


@bp.get(BASE)
def edit(engagement_id: int, decision_id: int) -> tuple[str, int]:
    """Show the charter's fill-in fields for a stored decision, as last saved."""
    engagement, record = own_decision(engagement_id, decision_id)
    return edit_page(engagement, record, stored_form(engagement.charter_fields), {})


@bp.post(f"{BASE}/save")
def save(engagement_id: int, decision_id: int) -> Any:
    """Store the fill-in fields with the engagement, to come back to them later."""
    # Held while the fields saved from another tab are merged in, until they are stored.
    engagement, record = own_decision(engagement_id, decision_id, hold=True)
    refuse_if_archived(engagement)
    details, errors = save_fields(engagement, record, request.form)
    if details is None:
        return edit_page(engagement, record, request.form, errors)
    db.session.commit()
    flash("The charter's fields are saved.", "success")
    return redirect(
        url_for("charter.edit", engagement_id=engagement.id, decision_id=record.id), code=303
    )


def _issue(engagement_id: int, decision_id: int) -> tuple[Engagement, Decision, CharterDetails]:
    """Return the engagement, the decision and the posted fields to make its charter from;
    the form again, saying what to correct, when a field is not right."""
    engagement, record = own_decision(engagement_id, decision_id, hold=True)
    if engagement.archived_at is not None:  # read only: the fields are used, not stored
        details, errors = details_for(engagement, request.form)
    else:
        details, errors = save_fields(engagement, record, request.form)
    if details is None:
        abort(make_response(edit_page(engagement, record, request.form, errors)))
    db.session.commit()
    return engagement, record.decision, details


@bp.post(f"{BASE}/preview")
def preview(engagement_id: int, decision_id: int) -> str:
    """Show the charter as HTML, from the same templates as the PDF."""
    _, decision, details = _issue(engagement_id, decision_id)
    return charter.to_html(
        decision,
        details,
        stylesheet_url=url_for("charter.stylesheet"),
        banner=PREVIEW_BANNER,
    )


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        # A draft of a confidential document: not kept in shared or browser caches.
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post(f"{BASE}.pdf")
def pdf(engagement_id: int, decision_id: int) -> Response:
    """Download the charter as PDF/A-3b."""
    _, decision, details = _issue(engagement_id, decision_id)
    # Not yet frozen: the copy says it is a draft, and so does its name.
    name = f"charter-{charter.document_id(decision, details)}-draft.pdf"
    return _download(charter.to_pdf(decision, details, draft=True), "application/pdf", name)


@bp.post(f"{BASE}.ics")
def calendar(engagement_id: int, decision_id: int) -> Response:
    """Download the twelve-month review calendar as iCalendar."""
    engagement, decision, details = _issue(engagement_id, decision_id)
    # Not frozen yet: like the PDF, the calendar says it is a draft's.
    name = f"reviews-{charter.document_id(decision, details)}-draft.ics"
    # A draft is issued at the start of the day; a calendar app takes a second download
    # with the same UIDs and SEQUENCE as a change only if its DTSTAMP is later.
    stamp = utcnow().astimezone(UTC).replace(microsecond=0)
    # The version this draft would become cancels the reviews the frozen ones set and it drops.
    earlier = signoff.earlier_calendars(engagement, details.version)
    series, data = charter.kept_calendar(
        decision,
        details,
        stamped_at=stamp,
        draft=True,
        earlier=earlier,
        organizer=signoff.calendar_organizer(engagement),
    )
    # A calendar may import this file: the next draft or version cancels what it drops.
    signoff.keep_draft_calendar(engagement, details, series)
    db.session.commit()
    return _download(data, "text/calendar", name)


@bp.get("/charter/stylesheet.css")
def stylesheet() -> Response:
    """Serve the charter's print stylesheet to the browser preview, fonts from this site."""
    prefix = url_for("charter.asset", name="")
    css = stylesheet_text().replace("charter-asset:", prefix)
    return Response(css, mimetype="text/css", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/charter/assets/<path:name>")
def asset(name: str) -> Response:
    """Serve one of the charter's bundled assets (its fonts); nothing else."""
    from assess.charter.pdf import asset_paths

    path = asset_paths().get(name)
    if path is None:
        abort(404)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return send_file(path, mimetype=mimetype, max_age=86400)
