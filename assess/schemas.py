"""marshmallow schemas for what users send: answers first."""

from __future__ import annotations

import json
from typing import IO, Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from assess.alignment import SIDES, Respondent, missing_sides
from assess.factors import FACTORS, SCALE
from assess.text import PRINTABLE_NOT_BLANK, Text, same_name

# marshmallow's own messages, phrased as every other message here: "field: problem".
PLAIN_MESSAGES = {
    "Missing data for required field.": "is required",
    "Field may not be null.": "must not be null",
    "Invalid value.": "is not valid",
    "Not a valid boolean.": "must be true or false",
    "Not a valid integer.": "must be an integer",
    "Not a valid number.": "must be a number",
    "Number too large.": "is too large",
    "Special numeric values (nan or infinity) are not permitted.": "must be a finite number",
    "Not a valid string.": "must be text",
    "Not a valid utf-8 string.": "must be text",
    "Not a valid list.": "must be a list",
    "Not a valid mapping type.": "must be an object",
    "Invalid type.": "must be an object",
    "Not a valid date.": "must be a date (YYYY-MM-DD)",
}


def _plain(field: fields.Field[Any]) -> None:
    field.error_messages = {
        key: PLAIN_MESSAGES.get(text, text) if isinstance(text, str) else text
        for key, text in field.error_messages.items()
    }
    for part in ("inner", "key_field", "value_field"):
        inner = getattr(field, part, None)
        if isinstance(inner, fields.Field):
            _plain(inner)


class Checked(Schema):
    """A schema for machine input (JSON, YAML): unknown keys are refused and every message
    reads "field: problem", whether it is ours or marshmallow's."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": "must be an object", "unknown": "unknown field"}

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        _plain(field_obj)

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **_: Any) -> None:
        # marshmallow finds unknown keys as a set, whose order changes from one run to the
        # next: report them in the order they were given, after the known fields' problems.
        messages = error.messages
        if many or not isinstance(messages, dict) or not isinstance(data, dict):
            return
        given = list(data)
        known = {field.data_key or name for name, field in self.load_fields.items()}
        unknown = sorted(
            (key for key in messages if key not in known and key in given), key=given.index
        )
        if len(unknown) > 1:
            ordered = {key: value for key, value in messages.items() if key not in unknown}
            ordered |= {key: messages[key] for key in unknown}
            raise ValidationError(ordered, valid_data=error.valid_data) from None


class Entries(fields.Dict):
    """A mapping whose problems name the entry at fault ("score.integrated: ..."), rather
    than marshmallow's "score.integrated.key" or "score.integrated.value" of it: an entry
    with an unknown key is reported for its key alone."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]
        except ValidationError as error:
            messages = error.messages
            if isinstance(messages, dict):
                messages = {
                    entry: problems.get("key", problems.get("value"))
                    for entry, problems in messages.items()
                }
            raise ValidationError(messages, valid_data=error.valid_data) from None


def one_of(choices: tuple[str, ...] | list[str]) -> validate.OneOf:
    """Return a validator that names the allowed values when it refuses one."""
    return validate.OneOf(choices, error="must be one of: " + ", ".join(choices))


LEVEL = validate.Range(min=SCALE.start, max=SCALE.stop - 1, error="must be an integer from 1 to 5")


def level_field(**kwargs: Any) -> fields.Integer:
    """Return a field for one answer on the 1-5 scale: ints only, no strings or bools."""
    return fields.Integer(
        strict=True,
        validate=LEVEL,
        error_messages={
            "invalid": "must be an integer from 1 to 5",
            "required": "is required",
            "null": "must be an integer from 1 to 5",
        },
        **kwargs,
    )


def whole_number_field(low: int, high: int, **kwargs: Any) -> fields.Integer:
    """Return a field for a whole number from ``low`` to ``high``: ints only, no strings
    or bools."""
    return fields.Integer(
        strict=True,
        validate=validate.Range(low, high, error=f"must be {low} to {high}"),
        error_messages={"invalid": "must be a whole number"},
        **kwargs,
    )


AnswersSchema = Checked.from_dict(
    {f.key: level_field(required=True, metadata={"description": f.scale}) for f in FACTORS},
    name="AnswersSchema",
)


def load_answers(data: Any) -> dict[str, int]:
    """Validate a complete answer set; raise ValidationError with one message per field."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["answers must be a JSON object of factor: level"]})
    result: dict[str, int] = AnswersSchema().load(data)
    return result


def shown_key(key: Any) -> str:
    """Write a key as given, or escaped when it holds a line break or a control character:
    a problem stays on one line, and says nothing to a terminal."""
    text = str(key)
    return text if text.isprintable() else repr(key)


def flatten_errors(messages: dict[str, Any] | list[Any] | str, prefix: str = "") -> list[str]:
    """Turn marshmallow's nested messages into 'field: problem' lines."""
    if isinstance(messages, str):
        return [f"{prefix}: {messages}" if prefix else messages]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten_errors(m, prefix)]
    lines: list[str] = []
    for key, value in messages.items():
        name = (
            prefix
            if key == "_schema"
            else (f"{prefix}.{shown_key(key)}" if prefix else shown_key(key))
        )
        lines.extend(flatten_errors(value, name))
    return lines


class RespondentSchema(Checked):
    name = Text(120, required=True, metadata={"maxLength": 120, "pattern": PRINTABLE_NOT_BLANK})
    side = fields.String(required=True, validate=one_of(SIDES))
    answers = fields.Nested(AnswersSchema, required=True)


def repeated_people(respondents: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Name each respondent listed again under a name already given for their side, whatever
    its case and spacing: counted twice, one person's answers would outweigh the others'.

    Positions are keys as text: merged with a message on the whole list (a side missing),
    they sit beside its "_schema" key, and JSON sorts keys of one kind only."""
    errors: dict[str, dict[str, list[str]]] = {}
    for index, respondent in enumerate(respondents):
        first = next(
            earlier
            for earlier, other in enumerate(respondents)
            if other["side"] == respondent["side"] and same_name(other["name"], respondent["name"])
        )
        if first != index:
            message = (
                f"names the same person as respondents.{first} on the {respondent['side']} "
                "side; list each person once"
            )
            errors[str(index)] = {"name": [message]}
    return errors


NOTE_MAX = 280

AgreedSchema = Checked.from_dict({f.key: level_field() for f in FACTORS}, name="AgreedSchema")


# Why a factor's consensus is what it is: one short note per factor, as the page takes it.
# A note given must say something (a blank one would explain nothing).
NotesSchema = Checked.from_dict(
    {
        f.key: Text(
            NOTE_MAX,
            validate=validate.Length(min=1, error="must not be empty"),
            metadata={"maxLength": NOTE_MAX, "pattern": PRINTABLE_NOT_BLANK},
        )
        for f in FACTORS
    },
    name="NotesSchema",
)


class RespondentsSchema(Checked):
    """Several respondents' answers and optionally the values agreed between them."""

    respondents = fields.List(
        fields.Nested(RespondentSchema),
        required=True,
        validate=validate.Length(min=2, max=100, error="must list 2 to 100 respondents"),
    )
    consensus = fields.Nested(AgreedSchema, load_default=dict)
    notes = fields.Nested(NotesSchema, load_default=dict)

    @validates_schema
    def check_sides(self, data: dict[str, Any], **_: Any) -> None:
        missing = missing_sides(r["side"] for r in data.get("respondents", []))
        if missing:
            raise ValidationError(
                "needs at least one respondent on each side (missing: " + ", ".join(missing) + ")",
                "respondents",
            )

    @validates_schema
    def one_person_once(self, data: dict[str, Any], **_: Any) -> None:
        repeated = repeated_people(data.get("respondents", []))
        if repeated:
            raise ValidationError(repeated, "respondents")


def load_respondents(data: Any) -> tuple[list[Respondent], dict[str, int], dict[str, str]]:
    """Validate the several-respondents form; return respondents, agreed values and notes."""
    result = RespondentsSchema().load(data)
    respondents = [Respondent(r["name"], r["side"], r["answers"]) for r in result["respondents"]]
    return respondents, dict(result["consensus"]), dict(result["notes"])


class NotJSON(ValueError):
    """The input is not a JSON document; the message names the input and says why."""


class KeyGivenTwice(ValueError):
    """A JSON object gives one key twice; the key is the error's argument."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing a key given twice (JSON would silently keep the last)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise KeyGivenTwice(key)
        result[key] = value
    return result


# Characters of JSON input read at most: 100 respondents' answers or a charter's details
# take a small part of it (the web app takes 64 KiB), and a larger file is not read whole.
MAX_JSON = 1 << 20


def read_json(source: IO[str], label: str) -> Any:
    """Read a JSON document from a text stream, or raise ``NotJSON``."""
    try:
        text = source.read(MAX_JSON + 1)
    except UnicodeDecodeError:
        raise NotJSON(f"{label}: not UTF-8 text") from None
    if len(text) > MAX_JSON:
        raise NotJSON(f"{label}: too large to be answers or details (over {MAX_JSON >> 20} MiB)")
    try:
        # Windows editors start UTF-8 files with a byte order mark, which JSON lets a reader
        # skip.
        return json.loads(text.removeprefix("\ufeff"), object_pairs_hook=unique_keys)
    except KeyGivenTwice as error:
        raise NotJSON(f"{label}: {json.dumps(error.args[0])} is given twice") from None
    except json.JSONDecodeError as error:
        raise NotJSON(f"{label}: not valid JSON ({error.msg} at line {error.lineno})") from None
    except ValueError:  # an integer of thousands of digits, which Python refuses to read
        raise NotJSON(f"{label}: not valid JSON (a number too long)") from None
    except RecursionError:
        raise NotJSON(f"{label}: nested too deeply to be answers or details") from None
