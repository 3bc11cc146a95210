"""marshmallow schemas for the web forms: what a browser posts, checked field by field."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from assess import emails, text
from assess.factors import FACTORS
from assess.models import (
    EMAIL_MAX,
    NAME_MAX,
    ORGANISATION_MAX,
    PARTY_SIDES,
    PROJECT_MAX,
    ROLE_MAX,
    utcnow,
)

Errors = dict[str, list[str]]

CHOOSE_LEVEL = "Choose one of the five levels."
LEVEL_RANGE = "Choose a level from 1 to 5."


class Text(text.Text):
    """One line of user text (see ``assess.text``) in a web form, its problems as sentences."""

    def __init__(
        self, label: str, max_length: int, *, required: bool = True, printed: bool = False
    ) -> None:
        # "the project name", but "your full name" where the form speaks to the person.
        self.label = label if label.startswith("your ") else f"the {label}"
        as_text = f"Enter {self.label} as text."
        messages = {"required": f"Enter {self.label}.", "invalid": as_text, "null": as_text}
        if required:
            super().__init__(max_length, required=True, error_messages=messages, printed=printed)
        else:
            super().__init__(max_length, load_default="", error_messages=messages, printed=printed)

    def unusable(self, reason: str) -> str:
        return f"{self.label[:1].upper()}{self.label[1:]} {reason}."

    def empty(self) -> str:
        return f"Enter {self.label}."

    def too_long(self, length: int) -> str:
        return f"Keep {self.label} to {self.max_length} characters or fewer (it has {length})."


class EmailAddress(fields.String):
    """An email address in a web form (see ``assess.emails``), its problems as sentences."""

    def __init__(self, label: str, *, to_store: bool = True) -> None:
        self.to_store = to_store
        invalid = "Enter an email address like name@example.com."
        super().__init__(
            required=True,
            error_messages={"required": f"Enter the {label}.", "invalid": invalid, "null": invalid},
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        pasted = str(super()._deserialize(value, attr, data, **kwargs))
        try:
            return emails.normalise(pasted, to_store=self.to_store)
        except emails.AddressError as error:
            if error.reason == "too_long":
                raise ValidationError(
                    f"Keep the email address to {EMAIL_MAX} characters or fewer"
                    f" (it has {error.length})."
                ) from None
            raise self.make_error(error.reason) from None


def level(required: bool) -> fields.Integer:
    """Return a form field for one answer: a level 1-5 sent as text."""
    return fields.Integer(
        required=required,
        validate=validate.Range(min=1, max=5, error=LEVEL_RANGE),
        error_messages={"required": CHOOSE_LEVEL, "invalid": LEVEL_RANGE, "null": CHOOSE_LEVEL},
    )


class LoginSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = EmailAddress("email address", to_store=False)
    password = fields.String(
        required=True,
        validate=validate.Length(max=1024, error="Passwords have 1024 characters or fewer."),
        error_messages={"required": "Enter your password."},
    )


PASSWORD_MIN = 10
PASSWORD_MAX = 1024


def _more_than_spaces(password: str) -> None:
    # Length alone lets through a password anyone would guess first: a row of spaces.
    if text.types_nothing(password):
        raise ValidationError("Choose a password with more than spaces in it.")


def current_password_field(required: str) -> fields.String:
    """The password the consultant signed in with, asked again before an action that
    outlasts the sign-in (a new password, an API token)."""
    return fields.String(
        required=True,
        validate=validate.Length(
            max=PASSWORD_MAX, error=f"Passwords have {PASSWORD_MAX} characters or fewer."
        ),
        error_messages={"required": required},
    )


class PasswordChangeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    current_password = current_password_field("Enter your current password.")
    new_password = fields.String(
        required=True,
        validate=validate.And(
            validate.Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                error=f"Choose a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
            _more_than_spaces,
        ),
        error_messages={"required": "Choose a new password."},
    )
    confirm_password = fields.String(
        required=True, error_messages={"required": "Type the new password again."}
    )

    # Checked beside the fields' own problems: the form empties every field when it comes
    # back, so each problem left for a later round means typing all three again.
    @validates_schema(skip_on_field_errors=False)
    def _new_and_confirmed(self, data: dict[str, Any], **_: Any) -> None:
        # As passwords are hashed: accents typed either way are the same password.
        new, again, current = (
            unicodedata.normalize("NFC", data[name]) if name in data else None
            for name in ("new_password", "confirm_password", "current_password")
        )
        if new is None or again is None:  # the field says what is wrong with it
            return
        if again != new:
            raise ValidationError("The two new passwords differ.", "confirm_password")
        if new == current:
            raise ValidationError("Choose a password other than the current one.", "new_password")


class EngagementSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # All printed on the charter's cover and in its parties clause.
    project_name = Text("project name", PROJECT_MAX, printed=True)
    client_organisation = Text("client organisation", ORGANISATION_MAX, printed=True)
    producer_name = Text("producer side's name", NAME_MAX, printed=True)
    producer_role = Text("producer side's role", ROLE_MAX, required=False, printed=True)
    creator_name = Text("creator side's name", NAME_MAX, printed=True)
    creator_role = Text("creator side's role", ROLE_MAX, required=False, printed=True)


def _tomorrow_to_a_year_ahead(value: date) -> None:
    today = utcnow().date()
    if value <= today:
        # The link works through the chosen day in UTC, which may not be the consultant's.
        raise ValidationError(
            f"Choose an expiry date after today: it is {text.day_text(today)} in UTC."
        )
    if value > today + timedelta(days=366):
        raise ValidationError("Choose an expiry date within a year.")


def choice(options: Sequence[str], message: str, *, missing: str | None = None) -> fields.String:
    """A required choice among a form's options. ``message`` answers a value that is none of
    them, and a missing one too unless ``missing`` is given."""
    return fields.String(
        required=True,
        validate=validate.OneOf(options, error=message),
        error_messages={"required": missing or message},
    )


def link_expiry() -> fields.Date:
    """An optional expiry date for a personal link: from tomorrow up to a year ahead."""
    return text.CalendarDate(
        load_default=None,
        allow_none=True,
        validate=_tomorrow_to_a_year_ahead,
        error_messages={
            "invalid": "Enter the expiry date as YYYY-MM-DD.",
            "no_such_day": "Enter a day of the calendar: {input} is not one.",
        },
    )


class InvitationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    respondent_name = Text("respondent's name", NAME_MAX, printed=True)
    side = choice(PARTY_SIDES, "Choose the producer side or the creator side.")
    expires_on = link_expiry()


def answers_schema(keys: Iterable[str], *, required: bool) -> Schema:
    """Return a schema for the answers to the given factors."""
    return Schema.from_dict({key: level(required) for key in keys}, name="AnswersForm")(
        unknown=EXCLUDE
    )


def load_form(schema: Schema, form: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Validate posted form data; return (data, {}) or ({}, errors per field)."""
    # Empty inputs count as absent, so optional fields get their defaults and required
    # ones get the "required" message rather than a type error.
    data = {key: value for key, value in form.items() if value != ""}
    try:
        return schema.load(data), {}
    except ValidationError as error:
        return {}, _messages(error.messages)


def load_answers_form(
    form: Mapping[str, Any], keys: Iterable[str], *, required: bool
) -> tuple[dict[str, int], Errors]:
    """Validate the answers posted for some factors; missing ones are fine unless required."""
    keys = tuple(keys)
    data, errors = load_form(answers_schema(keys, required=required), form)
    return {k: int(v) for k, v in data.items() if v is not None}, errors


def _messages(messages: Any) -> Errors:
    if isinstance(messages, dict):
        return {
            str(key): [str(m) for m in (value if isinstance(value, list) else [value])]
            for key, value in messages.items()
        }
    return {"_schema": [str(messages)]}


FACTOR_KEYS: tuple[str, ...] = tuple(f.key for f in FACTORS)


# A form opened in one tab may be sent after another tab (or the API) saved: it carries what
# it showed, as JSON of field name to text, so that what changed meanwhile is not undone.
OPENED_MAX = 20_000


def opened_with(raw: str) -> dict[str, str] | None:
    """Read what a form showed when it was opened, as it carries it; None if it does not."""
    if not raw or len(raw) > OPENED_MAX:
        return None
    try:
        shown = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(shown, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in shown.items()
    ):
        return None
    return shown


def changed_both_ways(
    shown: Mapping[str, str], current: Mapping[str, str], sent: dict[str, Any], names: Iterable[str]
) -> dict[str, str]:
    """Keep in ``sent`` what was saved elsewhere since the form was opened where the form left
    the field as it ``shown`` it; return each field changed both here and there, to different
    values, with the value it has now."""
    conflicts: dict[str, str] = {}
    for name in names:
        then, now = shown.get(name, ""), current.get(name, "")
        mine = str(sent.get(name, "")).strip()
        if now == then or mine == now:
            continue
        if mine == then.strip():
            sent[name] = now
            continue
        conflicts[name] = now
    return conflicts


def as_now(value: str, verb: str) -> str:
    """Say what a field changed meanwhile now holds: "Saved as “…”", or "Cleared"."""
    return f"{verb} \u201c\u2068{value}\u2069\u201d" if value else "Cleared"
