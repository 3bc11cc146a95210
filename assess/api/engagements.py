"""Consultants' engagements over the API: respondents, invitations, answers, decisions, charter.

Every route looks objects up through the token's consultant: another consultant's ids
answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request, url_for
from flask_smorest import abort
from flask_smorest.pagination import PaginationMetadataSchema, PaginationParameters
from marshmallow import Schema, ValidationError, validate
from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from webargs.flaskparser import FlaskParser

from assess import deletion, questionnaire, respondents, signoff
from assess.alignment import in_sentence
from assess.api import ApiBlueprint, Handler, require_acceptable_answer, require_json_body
from assess.api.auth import (
    asks_what_a_route_takes,
    authenticate,
    current_consultant,
    presented_secret,
    presented_token,
)
from assess.api.schemas import (
    AnswersUpdateSchema,
    CloseAgainSchema,
    DecisionRecordSchema,
    EngagementCreateSchema,
    EngagementDeleteQuerySchema,
    EngagementEventSchema,
    EngagementQuerySchema,
    EngagementSchema,
    EngagementUpdateSchema,
    ErrorSchema,
    InvitationCreateSchema,
    InvitationLinkSchema,
    PageQuerySchema,
    RespondentCreateSchema,
    RespondentRecordSchema,
    SignOffSchema,
    UnseenChangesErrorSchema,
    body_refusals,
    json_body,
    refusals,
)
from assess.extensions import db, limiter
from assess.listing import engagement_page, engagements_query
from assess.models import (
    CREATOR,
    MAX_ID,
    PRODUCER,
    RESPONDENTS_WITH_LINKS,
    VERSIONS_WITH_SIGN_OFF_HISTORY,
    VIA_API,
    CharterVersion,
    DecisionRecord,
    Engagement,
    EngagementEvent,
    Party,
    Respondent,
    utcnow,
)
from assess.questionnaire import missing
from assess.text import join_names
from assess.views import link_for, served_in_parts


class PageArgumentsParser(FlaskParser):
    """Reads "page" and "page_size" with messages worded as every other field's ("must be
    an integer"), where flask-smorest's schema gives marshmallow's own sentences."""

    def _get_schema(self, argmap: Any, req: Any) -> Schema:
        schema: Schema = super()._get_schema(argmap, req)
        for field in schema.fields.values():
            field.error_messages = {**field.error_messages, "invalid": "must be an integer"}
            field.validators = [_worded(rule) for rule in field.validators]
        return schema


def _worded(rule: Any) -> Any:
    if not isinstance(rule, validate.Range):
        return rule
    if rule.max is None:
        return validate.Range(min=rule.min, error=f"must be {rule.min} or more")
    return validate.Range(rule.min, rule.max, error=f"must be {rule.min} to {rule.max}")


class PagedBlueprint(ApiBlueprint):
    """Documents the X-Pagination header as what it is: JSON text, not a bare object."""

    PAGINATION_ARGUMENTS_PARSER = PageArgumentsParser()

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination as JSON: total, total_pages, first_page, last_page, "
            "page, previous_page, next_page",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }


blp = PagedBlueprint(
    "engagements_api",
    __name__,
    url_prefix="/api/v1/engagements",
    description="A consultant's engagements; needs an API token (Authorization: Bearer).",
)

# The bounds of an id are in the routes, and so in the OpenAPI document.
ID = f"id(min=1, max={MAX_ID})"
ENGAGEMENT = f"/<{ID}:engagement_id>"
RESPONDENT = f"{ENGAGEMENT}/respondents/<{ID}:respondent_id>"
DECISION = f"{ENGAGEMENT}/decisions/<{ID}:decision_id>"

F = TypeVar("F", bound=Callable[..., Any])


def _token_key() -> str:
    """Count calls per token, known from the header before the database is asked."""
    secret = presented_secret() or ""
    return "api-token:" + hashlib.sha256(secret.encode()).hexdigest()[:24]


def _token_limit() -> str:
    return str(current_app.config["API_TOKEN_RATE_LIMIT"])


def _bad_token_limit() -> str:
    return str(current_app.config["API_BAD_TOKEN_RATE_LIMIT"])


def _valid_token() -> bool:
    """Say whether the request presents an active token. It must not raise: the limiter
    would take any error for its storage failing."""
    try:
        return presented_token() is not None
    except SQLAlchemyError:  # counted as not valid; authentication then reports the database
        db.session.rollback()
        return False


# OPTIONS is exempt from both limits: it is answered from the routes alone, presents no
# token to count or refuse, and without one it would share a single count with every
# other client's.
limiter.limit(_token_limit, key_func=_token_key, exempt_when=asks_what_a_route_takes)(blp)
# A new made-up secret each time would escape the per-token count: refused tokens are also
# counted per client address. Valid tokens are exempt, so a guesser sharing an office's
# address cannot lock its integrations out.
limiter.limit(
    _bad_token_limit,
    scope="api-bad-token",
    deduct_when=lambda response: response.status_code == 401,
    exempt_when=lambda: asks_what_a_route_takes() or _valid_token(),
)(blp)
blp.before_request(authenticate)
blp.before_request(require_acceptable_answer)
blp.before_request(require_json_body)


def documented(*codes: int) -> Callable[[F], F]:
    """Document the token requirement and the error responses a route can give."""
    descriptions = {
        401: "No valid API token",
        403: "The token is read-only",
        404: "No such object among this consultant's engagements",
        409: "The engagement or respondent is in a state that does not allow this",
        416: "The range asked for is not within the document",
        422: "The stored details cannot make this document",
    }

    def decorate(view: F) -> F:
        for code in (401, *codes):
            view = blp.alt_response(code, schema=ErrorSchema, description=descriptions[code])(view)
        view = refusals(
            blp, "Too many calls with this token, or from this address with tokens not valid"
        )(view)
        decorated: F = blp.doc(security=[{"token": []}])(view)
        return decorated

    return decorate


def revalidated(view: F) -> F:
    """Tag a GET's answer (ETag) and answer 304 without a body when the copy the client holds
    (If-None-Match) is still current: integrations poll the sign-off status and fetch the
    same charter, a few hundred kilobytes, again.

    An answer is tagged with the hash of its body unless its view tagged it already: a view
    whose body is costly to make names it first, and asks ``current_copy`` before making it.
    """

    @wraps(view)
    def tagged(*args: Any, **kwargs: Any) -> Response:
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200:
            if response.get_etag()[0] is None:
                # A page's totals can change while its items do not.
                paging = response.headers.get("X-Pagination", "")
                response.set_etag(body_tag(response.get_data(), paging))
            response.make_conditional(request)
        return response

    # flask-smorest's own ETag documentation: the If-None-Match parameter, 304 and the header.
    tagged._apidoc = {**getattr(view, "_apidoc", {}), "etag": True}  # type: ignore[attr-defined]
    return tagged  # type: ignore[return-value]


def tagged_as_read(view: F) -> F:
    """Tag a change's answer, the object as its GET now shows it, with the ETag that GET
    gives: a tool making one change after another names the copy its last change made in
    the next one's If-Match, without reading it again in between."""

    @wraps(view)
    def tagged(*args: Any, **kwargs: Any) -> Response:
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200:
            response.set_etag(body_tag(response.get_data()))
        return response

    return tagged  # type: ignore[return-value]


# The 200 of a change tagged_as_read documents its ETag as a GET's does.
AS_READ = {"ETag": "ETAG"}


def body_tag(body: bytes, paging: str = "") -> str:
    """Return the ETag of a JSON answer: the hash of its body (and of a page's totals)."""
    return hashlib.sha256(body + paging.encode()).hexdigest()[:32]


# A change may name the copy it was made on (If-Match, the ETag of the object's GET).
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "the ETag of the copy read before this change: 412 if the object changed "
    "since, or if it names no ETag; without it, the change is made whatever changed",
}


def if_match(view: F) -> F:
    """Document the optional If-Match a change takes and the 412 it may give."""
    view = blp.alt_response(
        412,
        schema=ErrorSchema,
        description="The object changed since the copy named in If-Match",
    )(view)
    documented: F = blp.doc(parameters=[IF_MATCH])(view)
    return documented


def still_current(kind: str, schema: Schema, body: dict[str, Any]) -> None:
    """Refuse (412) a change made on a copy that is no longer current: the If-Match it sends
    names another ETag than the object's GET answers with now, so a tool does not overwrite
    what another changed meanwhile unseen. Without If-Match, nothing is checked."""
    if "If-Match" not in request.headers:
        return
    if not request.if_match:  # given, but empty or without a tag: no copy can match it
        abort(
            412,
            message="If-Match names no ETag, so no copy matches it: send the ETag the GET "
            "answered with, or * for any copy.",
        )
    tag = body_tag(jsonify(schema.dump(body)).get_data())
    if request.if_match.contains(tag):
        return
    if request.if_match.contains_weak(tag):  # marked weak on its way (a proxy compressing it)
        abort(
            412,
            message="If-Match names the current copy's ETag as weak (W/), which no change can "
            "be made on: send it as the GET answered with it.",
        )
    abort(
        412,
        message=f"The {kind} changed since the copy named in If-Match: read it again (its "
        "ETag), then make the change.",
    )


def current_copy(tag: str) -> Response | None:
    """Return a 304 when the copy the client holds (If-None-Match) is the one tagged ``tag``,
    for a view that can name its answer before it makes it."""
    # Weakly, as make_conditional compares too (RFC 9110 for If-None-Match).
    if not request.if_none_match.contains_weak(tag):
        return None
    response = Response(status=304)
    response.set_etag(tag)
    return response


# A 201 says where the new object lives, so a client need not build the address itself.
CREATED_AT = {
    "Location": {
        "description": "the address of what was created (for an invitation, its respondent)",
        "schema": {"type": "string"},
    }
}
Created = tuple[dict[str, Any], dict[str, str]]


def created(body: dict[str, Any], view: Callable[..., Any], **ids: Any) -> Created:
    """Return a 201's body with the Location of the object at ``view``."""
    return body, {"Location": url_for(f"{blp.name}.{view.__name__}", **ids)}


# --- lookups: always through the consultant -------------------------------------------------


def owned_engagement(
    engagement_id: int, *, versions: bool = False, hold: bool = False
) -> Engagement:
    """Return the token owner's engagement, or 404 for anyone else's, with its respondents
    and their links (its status reads them); with its charter versions, their sign-offs and
    their history too when ``versions``. The frozen charters' PDFs are deferred columns (see
    the models): listing the versions, numbering the next or comparing an ETag loads none.

    With ``hold`` its row is held first, until the commit (``hold_engagement``), and read
    after: a change checked against it rests on what a request sent at the same instant (a
    retry, the web page) committed, and that request waits for this one."""
    if hold:
        questionnaire.hold_engagement(db.session, engagement_id)
    options = [RESPONDENTS_WITH_LINKS]
    if versions:
        options.append(VERSIONS_WITH_SIGN_OFF_HISTORY)
    engagement = db.session.get(Engagement, engagement_id, options=options)
    if engagement is None or engagement.consultant_id != current_consultant().id:
        abort(404, message="No such engagement.")
    assert engagement is not None
    return engagement


def owned_respondent(
    engagement_id: int, respondent_id: int, *, hold: bool = False
) -> tuple[Engagement, Respondent]:
    engagement = owned_engagement(engagement_id, hold=hold)
    respondent = next((r for r in engagement.respondents if r.id == respondent_id), None)
    if respondent is None:
        abort(404, message="No such respondent in this engagement.")
    assert respondent is not None
    return engagement, respondent


def owned_decision(
    engagement_id: int, decision_id: int, *, versions: bool = False
) -> tuple[Engagement, DecisionRecord]:
    engagement = owned_engagement(engagement_id, versions=versions)
    record = db.session.get(DecisionRecord, decision_id)
    if record is None or record.engagement_id != engagement.id:
        abort(404, message="No such decision in this engagement.")
    assert record is not None
    return engagement, record


def not_archived(engagement: Engagement) -> None:
    if engagement.archived_at is not None:
        abort(409, message='The engagement is archived; restore it first ("archived": false).')


def not_a_session(respondent: Respondent) -> None:
    """An intake session is answered with the client on its page, not over the API."""
    if respondent.facilitated:
        abort(409, message="This is an intake session; it is answered on its session page.")


def respondent_to_change(
    engagement_id: int, respondent_id: int, *, hold: bool = False
) -> Respondent:
    """The consultant's respondent whose link or answers a call changes: 404 when not theirs,
    409 when the engagement is archived or the respondent is an intake session."""
    engagement, respondent = owned_respondent(engagement_id, respondent_id, hold=hold)
    not_archived(engagement)
    not_a_session(respondent)
    return respondent


# --- representations ------------------------------------------------------------------------


def _id_of(record: DecisionRecord | None) -> int | None:
    return record.id if record is not None else None


def engagement_json(engagement: Engagement) -> dict[str, Any]:
    return {
        "id": engagement.id,
        "project_name": engagement.project_name,
        "client_organisation": engagement.client_organisation,
        "status": engagement.status,
        "decision_of_record_id": _id_of(engagement.decision_of_record),
        "archived": engagement.archived_at is not None,
        "parties": [{"side": p.side, "name": p.name, "role": p.role} for p in engagement.parties],
        "created_at": engagement.created_at,
        "updated_at": engagement.updated_at,
        "charter_drafted_at": engagement.charter_drafted_at,
        "signed_at": engagement.signed_at,
    }


def respondent_json(respondent: Respondent) -> dict[str, Any]:
    newest = respondent.invitations[-1] if respondent.invitations else None
    return {
        "id": respondent.id,
        "name": respondent.name,
        "side": respondent.side,
        "status": respondent.status,
        "answers": dict(respondent.answers),
        "submitted_at": respondent.submitted_at,
        "invitation": newest.state if newest else "none",
        "link_expires_at": newest.expires_at if newest else None,
    }


def decision_json(record: DecisionRecord, of_record: DecisionRecord | None) -> dict[str, Any]:
    """The stored decision, marked when it is ``of_record``, the engagement's decision (read
    once by the caller: a list would otherwise work it out again for every decision)."""
    return {
        "id": record.id,
        "of_record": of_record is not None and record.id == of_record.id,
        "respondent_id": record.respondent_id,
        "model": record.model,
        "rules_version": record.rules_version,
        "note": record.note,
        "created_at": record.created_at,
        "decision": record.data,
    }


def decision_created(record: DecisionRecord) -> Created:
    ids = {"engagement_id": record.engagement_id, "decision_id": record.id}
    body = decision_json(record, record.engagement.decision_of_record)
    return created(body, get_decision, **ids)


# --- lists, a page at a time ---------------------------------------------------------------

# Every list reads "page" and "page_size" alike: a client pages through all of them one way.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def paginated(view: F) -> F:
    """Read "page" and "page_size" (50 by default, at most 200) and answer with the page's
    items and the X-Pagination header; the view sets the total and returns the page."""
    paged: F = blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)(view)
    return paged


def engagement_list(path: str, items: Schema) -> Callable[[F], Handler]:
    """Route a GET of one of an engagement's lists, a page of ``items`` at a time, tagged
    for revalidation (404 for an engagement not the token's consultant's)."""

    def decorate(view: F) -> Handler:
        # As they would be stacked on the view, the innermost first.
        view = documented(404)(view)
        view = paginated(view)
        view = blp.response(200, items)(view)
        view = blp.arguments(PageQuerySchema, location="query", as_kwargs=True)(view)
        view = revalidated(view)
        return blp.route(f"{ENGAGEMENT}{path}", methods=["GET"])(view)

    return decorate


T = TypeVar("T")


def page_of(query: Select[T], pagination_parameters: PaginationParameters) -> list[T]:
    """Return one page of the query's rows (empty past the last one), counting them all for
    the X-Pagination header."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pagination_parameters.item_count = total or 0
    offset = (pagination_parameters.page - 1) * pagination_parameters.page_size
    if offset >= pagination_parameters.item_count:  # an absurd page never reaches the database
        return []
    return list(db.session.scalars(query.limit(pagination_parameters.page_size).offset(offset)))


# --- engagements ----------------------------------------------------------------------------


@blp.route("", methods=["GET"])
@revalidated
@blp.arguments(EngagementQuerySchema, location="query", as_kwargs=True)
@blp.response(200, EngagementSchema(many=True))
@paginated
@documented()
def list_engagements(
    pagination_parameters: PaginationParameters, q: str, archived: bool | None
) -> list[dict[str, Any]]:
    """List the consultant's engagements, a page at a time.

    Newest activity first; archived ones are included unless "archived" says otherwise. The
    X-Pagination header says how many there are and which page comes next.
    """
    query = engagements_query(current_consultant().id, archived=archived, search=q)
    size = pagination_parameters.page_size
    page = engagement_page(db.session, query, pagination_parameters.page, size)
    pagination_parameters.item_count = page.total
    return [engagement_json(e) for e in page.items]


@blp.route("", methods=["POST"])
@json_body(blp, EngagementCreateSchema)
@blp.response(201, EngagementSchema, headers=CREATED_AT)
@documented(403)
def create_engagement(data: dict[str, Any]) -> Created:
    """Create an engagement with its two parties.

    The producer side and the creator side each have a name and an optional role; the
    engagement starts with no respondents. Its address is in the Location header.
    """
    engagement = Engagement(
        consultant_id=current_consultant().id,
        project_name=data["project_name"],
        client_organisation=data["client_organisation"],
    )
    for side in (PRODUCER, CREATOR):
        engagement.parties.append(
            Party(side=side, name=data[f"{side}_name"], role=data[f"{side}_role"])
        )
    db.session.add(engagement)
    db.session.commit()
    return created(engagement_json(engagement), get_engagement, engagement_id=engagement.id)


@blp.route(ENGAGEMENT, methods=["GET"])
@revalidated
@blp.response(200, EngagementSchema)
@documented(404)
def get_engagement(engagement_id: int) -> dict[str, Any]:
    """Show one engagement.

    Its project, client, parties, status (from new to signed), whether it is archived, and
    its decision: the one its charter is made from, never a what-if.
    """
    return engagement_json(owned_engagement(engagement_id))


@blp.route(ENGAGEMENT, methods=["PATCH"])
@tagged_as_read
@json_body(
    blp,
    EngagementUpdateSchema(partial=True),
    description="The fields to change, at least one; those left out keep their value. "
    "Without a body, or with {}, the answer is 422.",
)
@blp.response(200, EngagementSchema, headers=AS_READ)
@documented(403, 404, 409)
@if_match
def update_engagement(data: dict[str, Any], engagement_id: int) -> dict[str, Any]:
    """Change an engagement's project, client or parties, or archive or restore it.

    Only the fields sent change, and at least one must be sent (422 otherwise). An archived
    engagement takes no other change until it is restored ("archived": false), which may
    come in the same request.
    """
    engagement = owned_engagement(engagement_id, hold=True)
    still_current("engagement", EngagementSchema(), engagement_json(engagement))
    archive = data.pop("archived", None)
    if archive is False and engagement.archived_at is not None:
        engagement.archived_at = None
        engagement.updated_at = utcnow()
    if data:
        not_archived(engagement)
        for key in ("project_name", "client_organisation"):
            setattr(engagement, key, data.get(key, getattr(engagement, key)))
        for party in engagement.parties:
            party.name = data.get(f"{party.side}_name", party.name)
            party.role = data.get(f"{party.side}_role", party.role)
        engagement.updated_at = utcnow()
    if archive and engagement.archived_at is None:
        engagement.archived_at = utcnow()
    db.session.commit()
    return engagement_json(engagement)


CONTRACT_ENDED_HINT = (
    'Once the contract has ended, "DELETE" with "contract_ended=true" in the query deletes it, '
    "the signed charter with it."
)


@blp.route(ENGAGEMENT, methods=["DELETE"])
@blp.arguments(EngagementDeleteQuerySchema, location="query", as_kwargs=True)
@blp.response(204, description="Deleted, with everything in it")
@documented(403, 404, 409)
@if_match
def delete_engagement(engagement_id: int, contract_ended: bool) -> None:
    """Delete an archived engagement for good.

    As on the engagement page: its parties, respondents with their answers and links,
    decisions, charter versions with their sign-offs, and history all go with it. Only an
    archived engagement can be deleted ("archived": true first). One whose charter was signed
    is refused (409 says why) unless "contract_ended=true" in the query states that the
    contract the signed charter is annexed to has ended: its signed charter, sign-off history
    and sealed PDFs then go too, and the verify page checks the parties' copies on their seal
    alone. Deleting one already deleted is a 404.
    """
    engagement = owned_engagement(engagement_id)
    still_current("engagement", EngagementSchema(), engagement_json(engagement))
    refusal = deletion.delete_engagement(db.session, engagement, contract_ended=contract_ended)
    if refusal == deletion.SIGNED:
        abort(409, message=f"{refusal} {CONTRACT_ENDED_HINT}")
    if refusal is not None:
        abort(409, message=refusal)
    db.session.commit()


@engagement_list("/history", EngagementEventSchema(many=True))
def engagement_history(
    pagination_parameters: PaginationParameters, engagement_id: int
) -> list[dict[str, Any]]:
    """Read the engagement's history, a page at a time.

    Oldest first, by whom, when and from where: each respondent removed, and submitted
    answers reopened and closed again. Decisions and sign-offs keep their own records.
    The X-Pagination header says how many entries there are and which page comes next.
    """
    engagement = owned_engagement(engagement_id)
    query = (
        select(EngagementEvent)
        .where(EngagementEvent.engagement_id == engagement.id)
        .order_by(EngagementEvent.id)
    )
    return [
        {
            "action": e.action,
            "at": e.at,
            "actor": e.actor,
            "via": e.via,
            "respondent_name": e.respondent_name,
            "side": e.side,
            "answered": e.answered,
        }
        for e in page_of(query, pagination_parameters)
    ]


@blp.route(f"{ENGAGEMENT}/signoff", methods=["GET"])
@revalidated
@blp.response(200, SignOffSchema)
@documented(404)
def signoff_status(engagement_id: int) -> dict[str, Any]:
    """Follow the engagement towards a signed charter.

    The engagement's decision and the newest one stored, and each charter version frozen for
    sign-off (newest first) with the state of its sign-off and what each signatory did and
    when.
    """
    engagement = owned_engagement(engagement_id, versions=True)
    versions = sorted(engagement.charter_versions, key=lambda v: -v.number)
    return {
        "status": engagement.status,
        "charter_drafted_at": engagement.charter_drafted_at,
        "signed_at": engagement.signed_at,
        "decision_of_record_id": _id_of(engagement.decision_of_record),
        "latest_decision_id": _id_of(engagement.latest_decision),
        "versions": [version_json(v) for v in versions],
    }


def version_json(version: CharterVersion) -> dict[str, Any]:
    sign_off = version.sign_off
    standing = signoff.standing(db.session, version)
    decline = standing.decline
    return {
        "number": version.number,
        "document_id": version.document_id,
        "decision_id": version.decision_id,
        "sha256": version.sha256,
        "frozen_at": version.frozen_at,
        "sign_off": sign_off.status,
        "stale": standing.stale,
        "stale_because_decision_id": (
            standing.stale_because.id if standing.stale_because is not None else None
        ),
        "why": standing.why,
        "declined": {
            "name": decline.signatory.name,
            "role": decline.signatory.role,
            "position": decline.signatory.position,
            "reason": decline.reason,
            "declined_at": decline.at,
        }
        if decline is not None
        else None,
        "sequential": sign_off.sequential,
        "started_at": sign_off.started_at,
        "closed_at": sign_off.closed_at,
        "sealed_sha256": sign_off.sealed_sha256,
        "signatories": [
            {
                "name": s.name,
                "role": s.role,
                "position": s.position,
                "state": signoff.signatory_state(sign_off, s),
                "invited_at": s.invited_at,
                "action": s.action,
                "acted_at": s.acted_at,
                "link": s.link_state,
                "link_expires_at": s.link_expires_at,
            }
            for s in sorted(sign_off.signatories, key=lambda s: s.position)
        ],
    }


# A PDF is served whole, or a byte range at a time (Range, If-Range) as PDF viewers fetch it.
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
ACCEPT_RANGES = {"description": "bytes", "schema": {"type": "string"}}
PART = {
    "description": "The part of the PDF its Range asked for",
    "content": PDF,
    "headers": {
        "ETag": "ETAG",
        "Content-Range": {
            "description": "which bytes of how many: bytes first-last/length",
            "schema": {"type": "string"},
        },
    },
}


def pdf_responses(whole: str) -> dict[str, Any]:
    """Document a PDF download: the whole PDF (described by ``whole``) or the part asked for."""
    return {
        "200": {
            "description": whole,
            "content": PDF,
            "headers": {"ETag": "ETAG", "Accept-Ranges": ACCEPT_RANGES},
        },
        "206": PART,
    }


@blp.route(f"{ENGAGEMENT}/versions/<{ID}:number>/signed.pdf", methods=["GET"])
@revalidated
@blp.doc(responses=pdf_responses("The sealed charter: the frozen version with the service's seal"))
@documented(404, 416)
def signed_pdf(engagement_id: int, number: int) -> Response:
    """Download the signed charter of a frozen version.

    The version's PDF sealed by the service once every signatory approved it; 404 until
    then. Its ETag is its SHA-256, the sealed_sha256 of the sign-off status.
    """
    engagement = owned_engagement(engagement_id, versions=True)
    version = next((v for v in engagement.charter_versions if v.number == number), None)
    digest = version.sign_off.sealed_sha256 if version else None
    if version is None or digest is None:
        abort(404, message="No signed charter for this version.")
    assert version is not None and digest is not None
    unchanged = current_copy(digest)
    if unchanged is not None:
        return unchanged
    filename = f"{version.document_id}-v{version.number}-signed.pdf"
    response = Response(
        version.sign_off.sealed_pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    return served_in_parts(response, digest)


# --- respondents, invitations and answers ---------------------------------------------------


def _issue_link(respondent: Respondent, data: dict[str, Any]) -> tuple[str, datetime | None]:
    """Replace the respondent's links with a new one; return its URL and expiry."""
    if "expires_in_days" not in data:
        expires_at = respondent.renewed_expiry()
    elif (days := data["expires_in_days"]) is None:
        expires_at = None
    else:
        expires_at = utcnow() + timedelta(days=days)
    token = respondent.issue_link(expires_at)
    return link_for("survey.start", token=token), expires_at


def invitation_created(respondent: Respondent, url: str, expires_at: datetime | None) -> Created:
    body = {"respondent": respondent_json(respondent), "url": url, "expires_at": expires_at}
    ids = {"engagement_id": respondent.engagement_id, "respondent_id": respondent.id}
    return created(body, get_respondent, **ids)


@engagement_list("/respondents", RespondentRecordSchema(many=True))
def list_respondents(
    pagination_parameters: PaginationParameters, engagement_id: int
) -> list[dict[str, Any]]:
    """List the engagement's respondents, a page at a time.

    In the order they were added, each with the answers saved so far, whether they have
    submitted, and the state of their newest invitation link. The X-Pagination header says
    how many there are and which page comes next.
    """
    engagement = owned_engagement(engagement_id)
    query = (
        select(Respondent)
        .where(Respondent.engagement_id == engagement.id)
        .order_by(Respondent.id)
        .options(selectinload(Respondent.invitations))
    )
    return [respondent_json(r) for r in page_of(query, pagination_parameters)]


@blp.route(f"{ENGAGEMENT}/respondents", methods=["POST"])
@json_body(blp, RespondentCreateSchema)
@blp.response(201, InvitationLinkSchema, headers=CREATED_AT)
@documented(403, 404, 409)
def invite_respondent(data: dict[str, Any], engagement_id: int) -> Created:
    """Invite a respondent to answer the questionnaire.

    The answer holds the respondent's personal link, shown this once and never again (only
    its hash is kept); "expires_in_days" limits how long it works. The respondent's address
    is in the Location header. A person is invited once per side: the same name again
    (whatever its case or spacing) is a 409 naming the respondent, whose link is renewed at
    their "invitation" address.
    """
    engagement = owned_engagement(engagement_id, hold=True)
    not_archived(engagement)
    invited = respondents.already_invited(engagement, data["name"], data["side"])
    if invited is not None:
        # A request sent again after its answer was lost would otherwise add the same
        # person twice, the first with a link nobody saw.
        invitation = url_for(
            f"{blp.name}.{new_invitation.__name__}",
            engagement_id=engagement.id,
            respondent_id=invited.id,
        )
        abort(
            409,
            message=f"{invited.name} is already invited for the {invited.side_label.lower()} "
            f"(respondent {invited.id}); to give them a new link, POST to {invitation}.",
        )
    respondent = Respondent(name=data["name"], side=data["side"], answers={})
    engagement.respondents.append(respondent)
    url, expires_at = _issue_link(respondent, data)
    engagement.updated_at = utcnow()
    db.session.commit()
    return invitation_created(respondent, url, expires_at)


@blp.route(RESPONDENT, methods=["GET"])
@revalidated
@blp.response(200, RespondentRecordSchema)
@documented(404)
def get_respondent(engagement_id: int, respondent_id: int) -> dict[str, Any]:
    """Show one respondent.

    The answers saved so far, whether they are submitted, and the state of the newest link.
    """
    return respondent_json(owned_respondent(engagement_id, respondent_id)[1])


@blp.route(RESPONDENT, methods=["DELETE"])
@blp.response(204, description="Removed; the engagement's history records it")
@documented(403, 404, 409)
@if_match
def remove_respondent(engagement_id: int, respondent_id: int) -> None:
    """Remove a respondent who will not answer.

    As on the engagement page: their saved answers and invitation links are deleted, the
    engagement no longer waits for them, and its history records who removed them and when.
    Submitted answers stay, and so do answers a stored decision rests on, reopened or not
    (409 says which); an unfinished intake session can be removed, a finished one stays.
    Removing someone already removed is a 404.
    """
    engagement, respondent = owned_respondent(engagement_id, respondent_id)
    still_current("respondent", RespondentRecordSchema(), respondent_json(respondent))
    not_archived(engagement)
    outcome = respondents.remove_respondent(
        db.session, respondent, current_consultant(), via=VIA_API
    )
    if outcome is respondents.GONE:  # removed a moment ago, by another request
        abort(404, message="No such respondent in this engagement.")
    if isinstance(outcome, respondents.Refusal):
        abort(409, message=outcome.text)
    db.session.commit()


@blp.route(f"{RESPONDENT}/invitation", methods=["POST"])
@json_body(blp, InvitationCreateSchema, required=False)
@blp.response(201, InvitationLinkSchema, headers=CREATED_AT)
@documented(403, 404, 409)
def new_invitation(data: dict[str, Any], engagement_id: int, respondent_id: int) -> Created:
    """Replace a respondent's invitation link with a new one.

    The old link stops working; the new one is in this answer only. Without
    "expires_in_days" it expires when the working link it replaces would have, so resending a
    link never extends or shortens it; when no link works (revoked, expired or never
    issued) it does not expire, as a respondent's first link made without "expires_in_days",
    and as the engagement page's "New link" does.
    """
    respondent = respondent_to_change(engagement_id, respondent_id, hold=True)
    url, expires_at = _issue_link(respondent, data)
    db.session.commit()
    return invitation_created(respondent, url, expires_at)


@blp.route(f"{RESPONDENT}/invitation", methods=["DELETE"])
@tagged_as_read
@blp.response(200, RespondentRecordSchema, headers=AS_READ)
@documented(403, 404, 409)
def revoke_invitation(engagement_id: int, respondent_id: int) -> dict[str, Any]:
    """Revoke a respondent's invitation link.

    The link stops working at once; the answers saved stay, and a new invitation can be
    issued later. Revoking again changes nothing.
    """
    respondent = respondent_to_change(engagement_id, respondent_id, hold=True)
    respondent.revoke_links()
    db.session.commit()
    return respondent_json(respondent)


@blp.route(f"{RESPONDENT}/answers", methods=["PUT"])
@tagged_as_read
@json_body(blp, AnswersUpdateSchema)
@blp.response(200, RespondentRecordSchema, headers=AS_READ)
@documented(403, 404, 409)
def save_answers(data: dict[str, Any], engagement_id: int, respondent_id: int) -> dict[str, Any]:
    """Save some or all of a respondent's answers.

    Each factor sent is saved (an integer from 1 to 5), at least one (422 otherwise); the
    others keep their value.
    Submitted answers are locked (409).
    """
    respondent = respondent_to_change(engagement_id, respondent_id)
    reopen = url_for(
        f"{blp.name}.{reopen_answers.__name__}",
        engagement_id=engagement_id,
        respondent_id=respondent_id,
    )
    locked = (
        f"The answers are submitted; reopen them first: POST {reopen}, or on the engagement page."
    )
    if respondent.locked:
        abort(409, message=locked)
    if questionnaire.save_answers(db.session, respondent, data["answers"]) is None:
        db.session.rollback()
        respondent_to_change(engagement_id, respondent_id)  # archived or removed meanwhile
        abort(409, message=locked)
    db.session.commit()
    db.session.refresh(respondent)
    return respondent_json(respondent)


@blp.route(f"{RESPONDENT}/submit", methods=["POST"])
@blp.response(201, DecisionRecordSchema, headers=CREATED_AT)
@body_refusals(blp, sent_anyway=True)
@blp.alt_response(422, schema=ErrorSchema, description="Some factors are not answered yet")
@documented(403, 404, 409)
def submit_answers(engagement_id: int, respondent_id: int) -> Created:
    """Submit a respondent's answers and decide on them.

    Every factor must be answered (422 names those missing). The answers are locked and the
    decision they produce is stored; its address is in the Location header.
    """
    respondent = respondent_to_change(engagement_id, respondent_id)
    if respondent.locked:
        abort(409, message="The answers are already submitted.")
    gaps = missing(respondent.answers)
    if gaps:
        abort(
            422,
            message="Answer every factor before submitting.",
            errors={"answers": {key: ["is required"] for key in gaps}},
        )
    record = questionnaire.submit(db.session, respondent)
    if record is None:  # submitted meanwhile: a retried request, or the link
        db.session.rollback()
        respondent_to_change(engagement_id, respondent_id)  # archived or removed meanwhile
        abort(409, message="The answers are already submitted.")
    assert record is not None
    db.session.commit()
    return decision_created(record)


@blp.route(f"{RESPONDENT}/reopen", methods=["POST"])
@tagged_as_read
@blp.response(200, RespondentRecordSchema, headers=AS_READ)
@body_refusals(blp, sent_anyway=True)
@documented(403, 404, 409)
def reopen_answers(engagement_id: int, respondent_id: int) -> dict[str, Any]:
    """Reopen a respondent's submitted answers so they can change them.

    As on the engagement page: the answers are unlocked, their link leads back to the review
    page, and the engagement has no decision until they submit again or their answers are
    closed again (see close). Its history records who reopened them and when. Answers not
    submitted are a 409.
    """
    engagement, respondent = owned_respondent(engagement_id, respondent_id)
    not_archived(engagement)
    outcome = respondents.reopen_answers(db.session, respondent, current_consultant(), via=VIA_API)
    if isinstance(outcome, respondents.Refusal):
        abort(409, message=outcome.text)
    db.session.commit()
    return respondent_json(respondent)


@blp.route(f"{RESPONDENT}/close", methods=["POST"])
@tagged_as_read
@json_body(blp, CloseAgainSchema, required=False)
@blp.response(200, RespondentRecordSchema, headers=AS_READ)
@blp.alt_response(
    409,
    schema=UnseenChangesErrorSchema,
    description="The engagement is archived, the answers are not reopened or not on record as "
    "submitted, or they changed since reopening: then the changes, and the answers_seen that "
    "discards them",
)
@documented(403, 404)
def close_answers(data: dict[str, Any], engagement_id: int, respondent_id: int) -> dict[str, Any]:
    """Close reopened answers again as they were submitted.

    For a respondent who will not submit again, as on the engagement page: the answers as
    submitted are restored and locked, the engagement's decision rests on them again, and no
    new decision is stored; its history records who closed them and when. Answers changed
    since reopening are discarded only when "answers_seen" is the value a 409 gave with
    exactly those changes; otherwise the 409 lists them. To keep the changes, the respondent
    submits them instead.
    """
    engagement, respondent = owned_respondent(engagement_id, respondent_id)
    not_archived(engagement)
    outcome = respondents.close_answers_again(
        db.session, respondent, current_consultant(), via=VIA_API, seen=data.get("answers_seen")
    )
    if isinstance(outcome, respondents.Refusal):
        abort(409, message=outcome.text)
    if isinstance(outcome, respondents.Unseen):
        one = len(outcome.changes) == 1
        changed, them = ("1 answer", "it") if one else (f"{len(outcome.changes)} answers", "them")
        abort(
            409,
            message=f"{respondent.name} has changed {changed} since their answers were "
            f"reopened, without submitting {them}. To discard the changes and close the "
            'answers again as they were submitted, send "answers_seen" back.',
            details={
                "changes": [
                    {"factor": c.factor.key, "submitted": c.submitted, "current": c.current}
                    for c in outcome.changes
                ],
                "answers_seen": outcome.seen,
            },
        )
    db.session.commit()
    return respondent_json(respondent)


# --- decisions and the charter --------------------------------------------------------------


@engagement_list("/decisions", DecisionRecordSchema(many=True))
def list_decisions(
    pagination_parameters: PaginationParameters, engagement_id: int
) -> list[dict[str, Any]]:
    """List the engagement's stored decisions, a page at a time.

    Newest first: one per submitted respondent and one per consensus, each as it was made,
    and "of_record" true for the engagement's decision; every other one is a what-if. The
    X-Pagination header says how many there are and which page comes next.
    """
    engagement = owned_engagement(engagement_id)
    of_record = engagement.decision_of_record
    query = (
        select(DecisionRecord)
        .where(DecisionRecord.engagement_id == engagement.id)
        .order_by(DecisionRecord.id.desc())
    )
    return [decision_json(r, of_record) for r in page_of(query, pagination_parameters)]


@blp.route(f"{ENGAGEMENT}/decisions", methods=["POST"])
@blp.response(201, DecisionRecordSchema, headers=CREATED_AT)
@body_refusals(blp, sent_anyway=True)
@documented(403, 404, 409)
def decide_consensus(engagement_id: int) -> Created:
    """Decide on the consensus of the respondents who have submitted.

    Needs at least two submitted respondents, one on each side, and no answers reopened (409
    otherwise, or when the newest consensus already combines these answers). It keeps the
    agreed values and reasons of the newest consensus on factors whose answers (who gave
    which level) are unchanged. The decision is stored; its address is in the Location
    header.
    """
    engagement = owned_engagement(engagement_id, hold=True)
    not_archived(engagement)
    if engagement.reopened:
        names = join_names([in_sentence(r.name, r.side) for r in engagement.reopened])
        abort(409, message=questionnaire.REOPENED_BLOCK.format(names))
    blocker = questionnaire.why_no_consensus(engagement.submitted_respondents)
    if blocker:
        abort(409, message=blocker)
    decided = engagement.current_consensus
    if decided is not None:  # a retried request, or the consultant decided it on the web
        abort(409, message=f"These answers are already combined in decision {decided.id}.")
    record = questionnaire.record_consensus(db.session, engagement, current_consultant())
    db.session.commit()
    return decision_created(record)


@blp.route(DECISION, methods=["GET"])
@revalidated
@blp.response(200, DecisionRecordSchema)
@documented(404)
def get_decision(engagement_id: int, decision_id: int) -> dict[str, Any]:
    """Show one stored decision.

    Exactly as it was made, with the rules version that made it, even if the rules changed
    since.
    """
    engagement, record = owned_decision(engagement_id, decision_id)
    return decision_json(record, engagement.decision_of_record)


@blp.route(f"{DECISION}/charter.pdf", methods=["GET"])
@revalidated
@blp.doc(responses=pdf_responses("The charter, PDF/A-3b with the decision JSON attached"))
@documented(404, 416, 422)
def charter_pdf(engagement_id: int, decision_id: int) -> Response:
    """Download the partnership charter of a stored decision, as a draft.

    A PDF/A-3b with the decision JSON attached, made with the fields saved on the
    engagement's charter page and marked as a draft: the version to sign is the one frozen
    for sign-off (see signed.pdf). 422 when the saved details cannot make a charter.
    """
    from assess import charter
    from assess.views.charter import charter_data, stored_form

    # The versions are read for the number the draft carries, the next one's.
    engagement, record = owned_decision(engagement_id, decision_id, versions=True)
    # The fields saved on the charter page, and the decision's own time, which keeps the
    # same decision's charter byte-identical.
    data = charter_data(
        engagement,
        current_consultant().display_name,
        record.created_at.replace(microsecond=0),
        stored_form(engagement.charter_fields),
    )
    try:
        details = charter.load_details(data)
    except ValidationError as error:
        abort(
            422,
            message="The engagement's details cannot make a charter; correct them first.",
            errors={"engagement": error.messages},
        )
    decision = record.decision
    # Named by what makes its bytes, so a copy still current costs no layout.
    tag = charter.pdf_tag(decision, details, draft=True)
    unchanged = current_copy(tag)
    if unchanged is not None:
        return unchanged
    filename = f"charter-{engagement.id}-{record.id}-draft.pdf"
    response = Response(
        charter.to_pdf(decision, details, draft=True),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    return served_in_parts(response, tag)
