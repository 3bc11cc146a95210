"""marshmallow schemas for every JSON API payload; the OpenAPI document is built from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    missing,
    validate,
    validates_schema,
)

from assess.alignment import ALIGNED, JOINT, MINOR, SIDES, SIGNIFICANT
from assess.factors import FACTOR_KEYS, FACTORS
from assess.listing import SEARCH_MAX
from assess.models import (
    EVENT_ACTIONS,
    NAME_MAX,
    ORGANISATION_MAX,
    PARTY_SIDES,
    PROJECT_MAX,
    ROLE_MAX,
    SIDE_LABELS,
    SIGNOFF_DECLINED,
    SIGNOFF_PENDING,
    SIGNOFF_PREPARING,
    SIGNOFF_SIGNED,
    SIGNOFF_WITHDRAWN,
    STATUSES,
    VIA_API,
    VIA_WEB,
)
from assess.partnership import MODEL_KEYS
from assess.protocols import PROTOCOL_IDS
from assess.questionnaire import answers_seen
from assess.schemas import AnswersSchema, Checked, RespondentsSchema, level_field, one_of
from assess.signoff import SIGNATORY_STATES
from assess.text import PRINTABLE, PRINTABLE_NOT_BLANK, Text

__all__ = ["AnswersSchema", "RespondentsSchema"]

SIGNOFF_STATUSES = (
    SIGNOFF_PREPARING,
    SIGNOFF_PENDING,
    SIGNOFF_SIGNED,
    SIGNOFF_DECLINED,
    SIGNOFF_WITHDRAWN,
)


F = TypeVar("F", bound=Callable[..., Any])


class ApiText(Text):
    """One line of text, documented as a string with its limit.

    The rules are those of the web form's fields (``assess.text``: the same cleaning, and
    limits from the same constants); only the wording differs. The forms speak to a person
    under a label ("Enter the project name."); a program reads the field's name in the
    errors, and after it the rule broken ("must be at most 200 characters").
    """

    def __init__(self, max_length: int, *, required: bool = True, printed: bool = False) -> None:
        pattern = PRINTABLE_NOT_BLANK if required else PRINTABLE
        metadata = {"maxLength": max_length, "pattern": pattern}
        if printed:
            metadata["description"] = (
                "printed on the charter: a character none of its fonts has (most emoji) is refused"
            )
        if required:
            super().__init__(max_length, required=True, metadata=metadata, printed=printed)
        else:
            super().__init__(max_length, load_default="", metadata=metadata, printed=printed)


PartialAnswersSchema = Checked.from_dict(
    {f.key: level_field(metadata={"description": f.scale}) for f in FACTORS},
    name="PartialAnswersSchema",
)


class ErrorSchema(Schema):
    code = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    status = fields.String(required=True, metadata={"description": "the status name"})
    message = fields.String(metadata={"description": "what went wrong, for a person"})
    errors = fields.Dict(
        metadata={
            "description": 'per-field messages: for what the request sent, by location ("json", '
            '"query") then field; for stored data that stops the request, by what it is '
            '("answers" not all given, "engagement" details that cannot make a charter) then '
            "field"
        }
    )


class ChangeSchema(Schema):
    factor = fields.String(required=True, validate=validate.OneOf([f.key for f in FACTORS]))
    submitted = fields.Integer(required=True, metadata={"description": "the answer submitted"})
    current = fields.Integer(
        required=True, metadata={"description": "the answer changed to since, not submitted"}
    )


class UnseenChangesErrorSchema(ErrorSchema):
    """An error, and for answers changed since they were reopened, what closing them again
    would discard."""

    changes = fields.List(
        fields.Nested(ChangeSchema),
        metadata={"description": "the answers changed since reopening, factor by factor"},
    )
    answers_seen = fields.String(
        metadata={"description": "send it back as answers_seen to discard exactly these changes"}
    )


# A 429 says how long to wait, as a 503 from an unavailable database does.
RETRY_AFTER = {
    "Retry-After": {
        "description": "the seconds to wait before calling again",
        "schema": {"type": "integer"},
    }
}


def refusals(blp: Any, limited: str) -> Callable[[F], F]:
    """Document what every route can refuse: an Accept header that rules out its answer
    (406), and too many calls (429, described by ``limited``)."""

    def decorate(view: F) -> F:
        view = blp.alt_response(
            406,
            schema=ErrorSchema,
            description="The Accept header rules out the type this route answers with",
        )(view)
        documented: F = blp.alt_response(
            429, schema=ErrorSchema, description=limited, headers=RETRY_AFTER
        )(view)
        return documented

    return decorate


# Marks a view that reads a JSON body: a body sent to any other is not asked for as JSON.
TAKES_JSON = "takes_json_body"


def body_refusals(blp: Any, *, sent_anyway: bool = False) -> Callable[[F], F]:
    """Document the 400, 413 and 415 a body that is not JSON, too large or of another type
    gets; ``sent_anyway`` for a route that takes none, where a JSON body is read and left
    unused, and any other refused."""
    aside = "; this route takes no body" if sent_anyway else ""

    def decorate(view: F) -> F:
        view = blp.alt_response(
            400,
            schema=ErrorSchema,
            description="The request body is not valid JSON: broken, not UTF-8, nested too "
            "deeply, or giving a key twice in one object" + aside,
        )(view)
        view = blp.alt_response(
            415, schema=ErrorSchema, description="The request body is not JSON" + aside
        )(view)
        documented: F = blp.alt_response(
            413, schema=ErrorSchema, description="The request body is larger than 64 KiB" + aside
        )(view)
        return documented

    return decorate


def json_body(blp: Any, schema: type[Schema] | Schema, **kwargs: Any) -> Callable[[F], F]:
    """Take a JSON request body with ``schema`` (a class, or an instance made partial); document
    its example, and the 400, 413 and 415 a body that is not JSON, too large or of another
    type gets."""
    example = EXAMPLES[schema if isinstance(schema, type) else type(schema)]

    def decorate(view: F) -> F:
        view = body_refusals(blp)(view)
        setattr(view, TAKES_JSON, True)  # carried to the route's view by functools.wraps
        # An instance, made once: given a class, webargs builds a new schema per request.
        instance = schema() if isinstance(schema, type) else schema
        taken: F = blp.arguments(instance, example=example, **kwargs)(view)
        return taken

    return decorate


class Number(fields.Float):
    """A JSON number and nothing else: marshmallow would also take "3" or true, which a page
    formatting the value as a number cannot show. (Responses dump as a float does.)"""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        result: float = super()._deserialize(value, attr, data, **kwargs)
        return result


def whole(**kwargs: Any) -> fields.Integer:
    """A JSON whole number and nothing else (not "3", not 3.5)."""
    return fields.Integer(strict=True, **kwargs)


# The decision document's schemas describe the API's responses, and are also what a stored
# decision is checked against when an export is imported: every value a page or the charter
# shows must be of the type and among the keys described here.
MODEL = validate.OneOf(MODEL_KEYS, error="must be one of: " + ", ".join(MODEL_KEYS))
PROTOCOL = validate.OneOf(PROTOCOL_IDS, error="is not a known protocol")
FACTOR = validate.OneOf(FACTOR_KEYS, error="unknown factor")
# A decision's model is one of the models, or a hybrid of two of them (its components).
OUTCOMES = (*MODEL_KEYS, "hybrid")
GAP_LEVELS = (ALIGNED, MINOR, SIGNIFICANT)
OUTCOME = validate.OneOf(OUTCOMES, error="must be one of: " + ", ".join(OUTCOMES))


def components_field() -> fields.List[Any]:
    return fields.List(
        fields.String(validate=MODEL),
        required=True,
        metadata={"description": "the two models a hybrid combines; otherwise the model alone"},
    )


def check_components(data: dict[str, Any]) -> None:
    # The title of a hybrid names both its parts; the charter reads any other model's one
    # part as its primary.
    hybrid = data.get("model") == "hybrid"
    if "components" in data and len(data["components"]) != (2 if hybrid else 1):
        problem = "must name the two models of the hybrid" if hybrid else "must name the model"
        raise ValidationError(problem, "components")


class ProtocolSchema(Schema):
    id = fields.String(required=True, validate=PROTOCOL)
    params = fields.Dict(keys=fields.String(), values=whole(), required=True)


class TierSchema(Schema):
    tier = whole(required=True)
    name = fields.String(required=True)
    max_days = whole(required=True)


class OutweighedSchema(Schema):
    protocol = fields.String(required=True, validate=PROTOCOL)
    param = fields.String(required=True)
    given = whole(required=True, metadata={"description": "the value this rule gave"})
    applies = whole(required=True, metadata={"description": "the stricter value the decision uses"})


class ReasonSchema(Schema):
    rule = fields.String(required=True)
    file = fields.String(required=True)
    because = fields.String(required=True)
    stage = fields.String(
        metadata={"description": "scoring (why this model) or protocols (how they were set)"}
    )
    points = fields.Dict(
        keys=fields.String(validate=MODEL),
        values=Number(),
        metadata={
            "description": "what a scoring rule added to each model's score (negative: took "
            "away); absent for the other reasons"
        },
    )
    outweighed = fields.List(
        fields.Nested(OutweighedSchema),
        metadata={
            "description": "parameter values this rule gave that a stricter rule replaced; "
            "absent when every value it gave applies"
        },
    )


class TippingPointSchema(Schema):
    factor = fields.String(required=True, validate=FACTOR)
    from_ = whole(required=True, attribute="from", data_key="from")
    to = whole(required=True)
    model = fields.String(required=True, validate=OUTCOME)
    components = components_field()

    @validates_schema
    def hybrid_parts(self, data: dict[str, Any], **_: Any) -> None:
        check_components(data)


class FactorAlignmentSchema(Schema):
    values = fields.List(level_field(), required=True, metadata={"description": "each answer"})
    gap = whole(required=True, metadata={"description": "the highest answer less the lowest"})
    level = fields.String(required=True, validate=validate.OneOf(GAP_LEVELS))


class AlignedRespondentSchema(Schema):
    name = fields.String(required=True)
    # An intake session in the web app answers for both sides together ("joint").
    side = fields.String(required=True, validate=validate.OneOf((*SIDES, JOINT)))


class IndividualSchema(AlignedRespondentSchema):
    model = fields.String(required=True, validate=OUTCOME)
    components = components_field()

    @validates_schema
    def hybrid_parts(self, data: dict[str, Any], **_: Any) -> None:
        check_components(data)


class AlignmentSchema(Schema):
    """How far several respondents' answers agree, and what was taken between them."""

    factors = fields.Dict(
        keys=fields.String(validate=FACTOR),
        values=fields.Nested(FactorAlignmentSchema),
        required=True,
    )
    significant = fields.List(
        fields.String(validate=FACTOR),
        metadata={"description": "factors with a significant gap, the largest first"},
    )
    individual = fields.List(
        fields.Nested(IndividualSchema),
        required=True,
        metadata={"description": "the model each respondent's own answers point to"},
    )
    consensus = fields.Dict(
        keys=fields.String(validate=FACTOR), values=level_field(), required=True
    )
    agreed = fields.Dict(
        keys=fields.String(validate=FACTOR),
        values=level_field(),
        metadata={"description": "the values agreed between the respondents, by factor"},
    )
    notes = fields.Dict(
        keys=fields.String(validate=FACTOR),
        values=fields.String(),
        metadata={"description": "why a factor's consensus is what it is, by factor"},
    )
    respondents = fields.List(fields.Nested(AlignedRespondentSchema), required=True)

    @validates_schema
    def every_factor_for_every_respondent(self, data: dict[str, Any], **_: Any) -> None:
        """Pages show each factor's answers and consensus, one answer and one model of their
        own per respondent: a stored alignment without them could not be shown."""
        errors: dict[str, Any] = {}
        count = len(data["respondents"])
        for name in ("factors", "consensus"):
            missing = {key: ["is required"] for key in FACTOR_KEYS if key not in data[name]}
            if missing:
                errors[name] = missing
        uneven = {
            key: {"values": [f"must give one answer per respondent ({count})"]}
            for key, factor in data["factors"].items()
            if len(factor["values"]) != count
        }
        if uneven:
            errors.setdefault("factors", {}).update(uneven)
        if len(data["individual"]) != count:
            errors["individual"] = [f"must give one model per respondent ({count})"]
        if errors:
            raise ValidationError(errors)


class DecisionSchema(Schema):
    """The decision document, the same JSON as `assess evaluate` prints."""

    model = fields.String(required=True, validate=OUTCOME)
    components = components_field()
    scores = fields.Dict(keys=fields.String(validate=MODEL), values=Number(), required=True)
    protocols = fields.List(fields.Nested(ProtocolSchema), required=True)
    escalation = fields.List(fields.Nested(TierSchema), required=True)
    trace = fields.List(fields.Nested(ReasonSchema), required=True)
    what_if = fields.List(fields.Nested(TippingPointSchema), required=True)
    rules_version = fields.String(required=True)
    answers = fields.Dict(keys=fields.String(validate=FACTOR), values=level_field(), required=True)
    alignment = fields.Nested(
        AlignmentSchema, metadata={"description": "present when several respondents answered"}
    )

    @validates_schema
    def hybrid_parts(self, data: dict[str, Any], **_: Any) -> None:
        check_components(data)


class PartySchema(Schema):
    side = fields.String(required=True, validate=validate.OneOf(PARTY_SIDES))
    name = fields.String(required=True)
    role = fields.String(required=True)


class EngagementCreateSchema(Checked):
    # All printed on the charter's cover and in its parties clause.
    project_name = ApiText(PROJECT_MAX, printed=True)
    client_organisation = ApiText(ORGANISATION_MAX, printed=True)
    producer_name = ApiText(NAME_MAX, printed=True)
    producer_role = ApiText(ROLE_MAX, required=False, printed=True)
    creator_name = ApiText(NAME_MAX, printed=True)
    creator_role = ApiText(ROLE_MAX, required=False, printed=True)


NOTHING_TO_CHANGE = "must be a JSON object with at least one field to change"


class JsonBoolean(fields.Boolean):
    """true or false and nothing else: marshmallow would also take 1, "yes" or "on", which in
    JSON are more likely a mistake than a choice."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class EngagementUpdateSchema(EngagementCreateSchema):
    """The details to change, each as when creating; those left out keep their value.
    Used with partial=True: no field is required, but at least one must be sent."""

    class Meta(EngagementCreateSchema.Meta):
        # Read by the API's spec plugin: JSON Schema says "at least one field" itself.
        json_schema = {"minProperties": 1}

    archived = JsonBoolean(
        metadata={
            "description": "true archives the engagement (its invitation links stop opening, "
            "nothing in it can change, and nobody can approve or decline its charter); false "
            "restores it"
        }
    )

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        super().on_bind_field(field_name, field_obj)
        # Left out means unchanged, so no default: a generated client would send a role's
        # "" and clear it.
        field_obj.load_default = missing

    @validates_schema(pass_original=True)
    def change_something(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        # A request that changes nothing is more likely a client's mistake (a body lost on
        # the way, or sent under another name) than a wish to be told the engagement again.
        if not original:
            raise ValidationError(NOTHING_TO_CHANGE)


class PageQuerySchema(Schema):
    """The query of a list read a page at a time: "page" and "page_size" (read by the
    pagination beside these fields), and nothing unknown or given twice."""

    class Meta:
        unknown = EXCLUDE  # the page arguments are read beside these

    @validates_schema(pass_original=True)
    def refuse_unknown(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        # EXCLUDE lets the page arguments through to their own schema; anything else is a
        # mistake the client should hear about, as with every other payload.
        known = set(self.fields) | {"page", "page_size"}
        unknown = sorted(set(original) - known)
        if unknown:
            raise ValidationError({key: ["unknown field"] for key in unknown})
        # Only the first would count: which one was meant is the client's to say, as for a
        # JSON key given twice.
        # A plain dict, as a test may load, holds each key once.
        given: Callable[[str], list[Any]] = getattr(original, "getlist", lambda key: [])
        twice = sorted(key for key in known if len(given(key)) > 1)
        if twice:
            raise ValidationError({key: ["is given more than once"] for key in twice})
        # int() would also read " 1" or other scripts' digits; the range is checked beside.
        unwritten = [key for key in ("page", "page_size") if not _written_whole(original, key)]
        if unwritten:
            raise ValidationError({key: ["must be an integer"] for key in unwritten})


def _written_whole(query: Any, key: str) -> bool:
    value = query.get(key, "0")
    return not isinstance(value, str) or re.fullmatch(r"-?[0-9]+", value) is not None


class EngagementQuerySchema(PageQuerySchema):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=SEARCH_MAX, error=f"must be at most {SEARCH_MAX} characters"),
        metadata={
            "description": "words that must all appear in the project, the client or a party's name"
        },
    )
    archived = fields.Boolean(
        load_default=None,
        # Exactly what the message and the document say: marshmallow would also take 1, yes, on.
        truthy={"true"},
        falsy={"false"},
        error_messages={"invalid": "must be true or false"},
        metadata={"description": "only archived (true) or only current (false) engagements"},
    )


class EngagementDeleteQuerySchema(Schema):
    """The query of an engagement's DELETE: nothing unknown or given twice."""

    contract_ended = fields.Boolean(
        load_default=False,
        truthy={"true"},
        falsy={"false"},
        error_messages={"invalid": "must be true or false"},
        metadata={
            "description": "true states that the contract a signed charter is annexed to has "
            "ended: an archived engagement whose charter was signed is deleted only with it, "
            "its signed charter, sign-off history and sealed PDFs with it (the verify page then "
            "checks the parties' copies on their seal alone); it changes nothing for one "
            "whose charter was not signed"
        },
    )

    class Meta:
        unknown = EXCLUDE  # refused below, with the same message as in every other payload

    @validates_schema(pass_original=True)
    def refuse_unknown(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        unknown = sorted(set(original) - set(self.fields))
        if unknown:
            raise ValidationError({key: ["unknown field"] for key in unknown})
        given: Callable[[str], list[Any]] = getattr(original, "getlist", lambda key: [])
        twice = sorted(key for key in self.fields if len(given(key)) > 1)
        if twice:
            raise ValidationError({key: ["is given more than once"] for key in twice})


def decision_of_record_id() -> fields.Integer:
    return fields.Integer(
        allow_none=True,
        required=True,
        metadata={
            "description": "the engagement's decision, which its charter is made from: with "
            "two or more answer sets, the newest on their consensus; never a what-if (a "
            "respondent's own decision beside a consensus, an adjusted copy, an older "
            "consensus); null while there is none (answers reopened, or a consensus to decide)"
        },
    )


def engagement_status() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": 'how far the engagement has come, in this order; "invited" '
            'while a respondent\'s link works ("new" again once every link expired or was '
            'revoked, or while the engagement is archived); "awaiting sign-off" while the '
            "newest charter version's sign-off has started and can complete (\"charter "
            'drafted" again if it is declined, withdrawn or stale: a newer decision overtook '
            'it); without a decision (answers reopened, or a consensus to decide) "in '
            'progress" or "answered" again, charter or not; once signed, "signed" even while '
            "an amendment is prepared or awaits sign-off"
        },
    )


class EngagementSchema(Schema):
    id = fields.Integer(required=True)
    project_name = fields.String(required=True)
    client_organisation = fields.String(required=True)
    status = engagement_status()
    decision_of_record_id = decision_of_record_id()
    archived = fields.Boolean(required=True)
    parties = fields.List(fields.Nested(PartySchema), required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    charter_drafted_at = fields.AwareDateTime(allow_none=True, required=True)
    signed_at = fields.AwareDateTime(allow_none=True, required=True)


class EngagementEventSchema(Schema):
    action = fields.String(
        required=True,
        validate=validate.OneOf(EVENT_ACTIONS),
        metadata={"description": "what was done"},
    )
    at = fields.AwareDateTime(required=True)
    actor = fields.String(required=True, metadata={"description": "the consultant who did it"})
    via = fields.String(
        required=True,
        validate=validate.OneOf((VIA_WEB, VIA_API)),
        metadata={"description": "the engagement page or the API"},
    )
    respondent_name = fields.String(required=True)
    side = fields.String(required=True, validate=validate.OneOf(list(SIDE_LABELS)))
    answered = fields.Integer(
        required=True,
        metadata={
            "description": "how many answers the respondent had saved then (for a removal, "
            "deleted with them)"
        },
    )


def link_days(**options: Any) -> fields.Integer:
    """The days a questionnaire link works for; null: it never expires."""
    return fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(1, 366, error="must be 1 to 366 days"),
        **options,
    )


class RespondentCreateSchema(Checked):
    name = ApiText(NAME_MAX, printed=True)
    side = fields.String(
        required=True,
        validate=one_of(PARTY_SIDES),
    )
    expires_in_days = link_days(
        load_default=None,
        metadata={"description": "the link stops working after this many days; null: never"},
    )


class RespondentRecordSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    side = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("not started", "in progress", "answered"))
    )
    answers = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    submitted_at = fields.AwareDateTime(allow_none=True, required=True)
    invitation = fields.String(
        required=True,
        validate=validate.OneOf(("active", "expired", "revoked", "none")),
        metadata={
            "description": (
                "state of the newest invitation link; while the engagement is archived, "
                "no link opens, active or not"
            )
        },
    )
    link_expires_at = fields.AwareDateTime(
        allow_none=True,
        required=True,
        metadata={
            "description": "when the newest invitation link stops (or stopped) working; "
            "null: it does not expire, or none was issued"
        },
    )


class InvitationLinkSchema(Schema):
    respondent = fields.Nested(RespondentRecordSchema, required=True)
    url = fields.String(
        required=True, metadata={"description": "the questionnaire link; shown only this once"}
    )
    expires_at = fields.AwareDateTime(allow_none=True, required=True)


class InvitationCreateSchema(Checked):
    expires_in_days = link_days(
        metadata={
            "description": "the new link stops working after this many days; null: never; "
            "omitted: when the working link it replaces would have, or never when no link "
            "works, as a first invitation's link"
        }
    )


class DecisionRecordSchema(Schema):
    id = fields.Integer(required=True)
    of_record = fields.Boolean(
        required=True,
        metadata={
            "description": "true for the engagement's decision (its decision_of_record_id); "
            "false for a what-if kept for reference"
        },
    )
    respondent_id = fields.Integer(allow_none=True, required=True)
    model = fields.String(required=True)
    rules_version = fields.String(required=True)
    note = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    decision = fields.Nested(DecisionSchema, required=True)


class SignatoryStatusSchema(Schema):
    name = fields.String(required=True)
    role = fields.String(required=True)
    position = fields.Integer(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf(SIGNATORY_STATES),
        metadata={
            "description": "approved or declined once they acted; else invited (their link "
            "is out and it is their turn), waiting (in order, for those before them), not "
            "sent (the sign-off has not started) or closed (it was declined or withdrawn "
            "without them)"
        },
    )
    invited_at = fields.AwareDateTime(allow_none=True, required=True)
    action = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "approved or declined; null while waiting"},
    )
    acted_at = fields.AwareDateTime(allow_none=True, required=True)
    link = fields.String(
        required=True,
        validate=validate.OneOf(("active", "expired", "revoked", "none")),
        metadata={"description": "their personal link: none until the sign-off starts"},
    )
    link_expires_at = fields.AwareDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "when their link stops working; null: it does not expire"},
    )


class DeclinedSchema(Schema):
    name = fields.String(required=True, metadata={"description": "the signatory who declined"})
    role = fields.String(required=True)
    position = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"description": "as they wrote it"})
    declined_at = fields.AwareDateTime(required=True)


class CharterVersionSchema(Schema):
    number = fields.Integer(required=True)
    document_id = fields.String(required=True)
    decision_id = fields.Integer(allow_none=True, required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the frozen PDF"})
    frozen_at = fields.AwareDateTime(required=True)
    sign_off = fields.String(
        required=True,
        validate=validate.OneOf(SIGNOFF_STATUSES),
        metadata={"description": "state of this version's sign-off"},
    )
    stale = fields.Boolean(
        required=True,
        metadata={
            "description": "true when a decision newer than the one frozen was made while "
            "the sign-off was open: its approvals cannot complete"
        },
    )
    stale_because_decision_id = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "the first decision newer than the one frozen, when stale"},
    )
    why = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "for a person, as the version's page says it: what the sign-off "
            "waits for, or why it cannot complete (stale, declined, withdrawn, archived); "
            "null once signed"
        },
    )
    declined = fields.Nested(
        DeclinedSchema,
        allow_none=True,
        required=True,
        metadata={"description": "who declined the version and why; null unless declined"},
    )
    sequential = fields.Boolean(required=True)
    started_at = fields.AwareDateTime(allow_none=True, required=True)
    closed_at = fields.AwareDateTime(allow_none=True, required=True)
    sealed_sha256 = fields.String(
        allow_none=True, required=True, metadata={"description": "of the signed PDF"}
    )
    signatories = fields.List(fields.Nested(SignatoryStatusSchema), required=True)


class SignOffSchema(Schema):
    status = engagement_status()
    charter_drafted_at = fields.AwareDateTime(allow_none=True, required=True)
    signed_at = fields.AwareDateTime(allow_none=True, required=True)
    decision_of_record_id = decision_of_record_id()
    latest_decision_id = fields.Integer(
        allow_none=True,
        required=True,
        metadata={
            "description": "the newest stored decision, what-if included; the charter follows "
            "decision_of_record_id"
        },
    )
    versions = fields.List(
        fields.Nested(CharterVersionSchema),
        required=True,
        metadata={"description": "frozen charter versions, newest first"},
    )


class CloseAgainSchema(Checked):
    answers_seen = fields.String(
        load_default=None,
        metadata={
            "description": "the value a 409 gave with the answers changed since reopening: "
            "closing discards exactly those changes; not needed when nothing changed"
        },
    )


def _at_least_one_answer(answers: dict[str, int]) -> None:
    # Sending none is more likely a client's mistake (answers lost on the way, or sent under
    # another name) than a wish to change nothing, as for an engagement's PATCH.
    if not answers:
        raise ValidationError("must hold at least one answer")


class AnswersUpdateSchema(Checked):
    """Some or all answers; unknown factors and values outside 1-5 are refused."""

    answers = fields.Nested(
        PartialAnswersSchema,
        required=True,
        validate=_at_least_one_answer,
        metadata={"minProperties": 1},
    )


# One request body per schema that the API accepts as it stands: the OpenAPI document shows
# it and the docs page starts from it. A new body schema without one fails at import.
_ANSWERS = {
    "innovation": 5,
    "resource_availability": 4,
    "risk_tolerance": 4,
    "relationship_duration": 3,
    "timeline_pressure": 4,
    "creative_collaboration": 4,
    "iteration_readiness": 5,
    "planning_complexity": 2,
}
EXAMPLES: dict[type[Schema], dict[str, Any]] = {
    AnswersSchema: _ANSWERS,
    RespondentsSchema: {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": _ANSWERS},
            {"name": "Bo Chen", "side": "creator", "answers": {**_ANSWERS, "innovation": 2}},
        ],
        "consensus": {"innovation": 4},
        "notes": {"innovation": "Agreed after the pilot: new format, proven crew."},
    },
    EngagementCreateSchema: {
        "project_name": "Tidewater",
        "client_organisation": "Northlight Films",
        "producer_name": "Ann Lee",
        "producer_role": "Executive producer",
        "creator_name": "Bo Chen",
        "creator_role": "Director",
    },
    EngagementUpdateSchema: {"client_organisation": "Northlight Films Ltd", "archived": False},
    RespondentCreateSchema: {"name": "Ann Lee", "side": "producer", "expires_in_days": 14},
    InvitationCreateSchema: {"expires_in_days": 14},
    AnswersUpdateSchema: {"answers": {"innovation": 4, "timeline_pressure": 2}},
    # What a 409 gives for answers changed to _ANSWERS since they were reopened.
    CloseAgainSchema: {"answers_seen": answers_seen(_ANSWERS)},
}
