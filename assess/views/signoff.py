"""Sign-off in the web app: consultants freeze and send a charter, signatories approve it.

Two blueprints: ``bp`` for the consultant (signed in, their own engagements only) and
``public`` for signatories, who have no account and act through a personal link whose
token only the hash of is stored. Forms are marshmallow schemas with one message per field;
the workflow itself is ``assess.signoff``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.wrappers import Response as BaseResponse

from assess import signoff
from assess.extensions import db, link_lookups, personal_link_limit
from assess.forms import EmailAddress, Text, choice, link_expiry, load_form
from assess.models import (
    MAX_ID,
    NAME_MAX,
    PUBLIC_URL_MAX,
    REASON_MAX,
    ROLE_MAX,
    SIGNOFF_PENDING,
    SIGNOFF_SIGNED,
    SIGNOFF_WITHDRAWN,
    VERSIONS_WITH_SIGN_OFFS,
    CharterVersion,
    Engagement,
    Signatory,
    SignOff,
    hash_token,
    utcnow,
)
from assess.security import frame_on_own_pages
from assess.signing import SealingFailed
from assess.signing.keys import SealKeys, check_certificate, from_config
from assess.views import (
    kept_for_request,
    link_for,
    opened_from_session,
    sealed_for_session,
    served_in_parts,
    unsent_at,
)
from assess.views.auth import require_consultant
from assess.views.engagements import owned_engagement, refuse_if_archived
from assess.views.template_helpers import isolated

bp = Blueprint("signoff", __name__, url_prefix="/engagements/<int:engagement_id>/charter")
bp.before_request(require_consultant)
public = Blueprint("sign", __name__, url_prefix="/sign")
personal_link_limit(public)

MAX_VERSION = 9999
LINK_DAYS_DEFAULT = 14
SEAL_UNAVAILABLE = (
    "Your approval was not recorded: the signed charter cannot be made right now. "
    "Nothing was saved; please approve again later. The problem is logged for the "
    "service's operator."
)


# Forms --------------------------------------------------------------------------------


class SignatorySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # Printed on the signed charter's audit page.
    name = Text("signatory's full name", NAME_MAX, printed=True)
    email = EmailAddress("signatory's email address")
    role = Text("signatory's role", ROLE_MAX, required=False, printed=True)


class StartSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    order = choice(("sequential", "parallel"), "Choose in order, or all at once.")
    expires_on = link_expiry()


class ResendSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    expires_on = link_expiry()


class ApproveSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    full_name = Text("your full name", NAME_MAX)
    consent = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="Tick the box to confirm your approval."),
        error_messages={
            "required": "Tick the box to confirm your approval.",
            "invalid": "Tick the box to confirm your approval.",
        },
    )


class DeclineSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = Text("reason for declining", REASON_MAX)


SIGNATORY_LABELS = {
    "name": ("Full name", "field-name"),
    "email": ("Email address", "field-email"),
    "role": ("Role", "field-role"),
    "order": ("Order of approval", "order-sequential"),
    "expires_on": ("Links expire on", "field-expires_on"),
}
SIGN_LABELS = {
    "full_name": ("Your full name", "field-full_name"),
    "consent": ("Confirmation", "field-consent"),
    "reason": ("Reason", "field-reason"),
}


def _one_line(form: Any) -> dict[str, str]:
    """Return the form with line breaks of text areas turned into spaces."""
    return {key: " ".join(str(value).split()) for key, value in form.items()}


def _links_expire_at(day: date | None) -> datetime:
    """Links work through the whole of the expiry day chosen, in UTC; without one, for the
    configured number of days."""
    if day is not None:
        return datetime.combine(day + timedelta(days=1), time(), UTC)
    return utcnow() + timedelta(days=_link_days())


def _link_days() -> int:
    """How long a link made without an expiry day works, in days (SIGNOFF_LINK_DAYS)."""
    return int(current_app.config.get("SIGNOFF_LINK_DAYS", LINK_DAYS_DEFAULT))


# Shared helpers ----------------------------------------------------------------------


def source() -> signoff.Actor:
    """Return where this request came from (the proxy-corrected client address)."""
    return signoff.Actor(ip=request.remote_addr or "", user_agent=request.user_agent.string)


def seal_keys() -> SealKeys:
    """Load the service's seal key once per application; check its certificate at every
    seal, since it may have expired since the start (a seal made with it would never
    verify: the last approval waits instead, as when the key is missing)."""
    keys: SealKeys | None = current_app.extensions.get("assess.seal_keys")
    if keys is None:
        keys = from_config(current_app.config, current_app.instance_path)
        current_app.extensions["assess.seal_keys"] = keys
    check_certificate(keys.certificate, str(keys.cert_file), datetime.now(UTC))
    return keys


def tsa_roots() -> list[Any] | None:
    """Load the time-stamping authorities to trust (``SEAL_TSA_ROOT_FILE``) once per app."""
    path = current_app.config.get("SEAL_TSA_ROOT_FILE")
    if not path:
        return None
    cached: tuple[str, list[Any]] | None = current_app.extensions.get("assess.tsa_roots")
    if cached is None or cached[0] != path:
        from assess.signing.timestamps import load_roots

        cached = (path, load_roots(path))
        current_app.extensions["assess.tsa_roots"] = cached
    return cached[1]


def public_url() -> str | None:
    """Return the service's address as this request reached it, if it is short enough to keep."""
    url = request.url_root.rstrip("/")
    return url if len(url) <= PUBLIC_URL_MAX else None


def sealer(sign_off: SignOff) -> signoff.Sealer:
    """Seal with the configured address, else the one the consultant started the sign-off
    from: the last signatory's request (its Host header) never decides the QR code."""
    from assess.signing.timestamps import timestamper_from_config

    base_url = current_app.config.get("PUBLIC_BASE_URL") or sign_off.public_url or request.url_root
    return signoff.Sealer(
        keys=seal_keys,
        base_url=str(base_url).rstrip("/"),
        timestamper=timestamper_from_config(current_app.config),
    )


def pdf_response(data: bytes, digest: str, filename: str, *, inline: bool = False) -> Response:
    """Serve a stored PDF whose SHA-256 is ``digest``, whole or in parts."""
    disposition = "inline" if inline else "attachment"
    response = Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
    return served_in_parts(response, digest)


def _owned_version(engagement_id: int, number: int) -> tuple[Engagement, CharterVersion]:
    engagement = owned_engagement(engagement_id, VERSIONS_WITH_SIGN_OFFS)
    version = next((v for v in engagement.charter_versions if v.number == number), None)
    if version is None or number > MAX_VERSION:
        abort(404)
    return engagement, version


def _owned_signatory(version: CharterVersion, signatory_id: int) -> Signatory:
    signatory = next((s for s in version.sign_off.signatories if s.id == signatory_id), None)
    if signatory is None:
        abort(404)
    return signatory


def _changeable_signatory(
    engagement_id: int, number: int, signatory_id: int
) -> tuple[Engagement, CharterVersion, Signatory]:
    """Return a signatory of the consultant's own version, unless the engagement is archived."""
    engagement, version = _owned_version(engagement_id, number)
    refuse_if_archived(engagement)
    return engagement, version, _owned_signatory(version, signatory_id)


def _removed_already(version: CharterVersion, signatory_id: int) -> bool:
    """Whether the signatory is on no list at all: one removed leaves no row behind. One on
    another version's list is not this version's to change, and an id past any the database
    gives never named anyone (both 404)."""
    if signatory_id > MAX_ID or any(s.id == signatory_id for s in version.sign_off.signatories):
        return False
    return db.session.get(Signatory, signatory_id) is None


def _to_version(version: CharterVersion, anchor: str = "") -> BaseResponse:
    target = url_for("signoff.show", engagement_id=version.engagement_id, number=version.number)
    return redirect(target + anchor, code=303)


def _remember_links(version: CharterVersion, tokens: dict[int, str]) -> None:
    # Only the hashes are stored, so the links are shown once, on the next page. The session
    # travels in a cookie, which a browser drops unseen past about 4 KB: it carries only the
    # tokens, encrypted, and the page finds the names and builds the addresses.
    session["signoff_links"] = {
        "version_id": version.id,
        "tokens": [
            [signatory_id, sealed_for_session(token)] for signatory_id, token in tokens.items()
        ],
    }


def _links_to_show(version: CharterVersion) -> list[dict[str, str]]:
    """Return the links made by the request before, once, on their version's page only."""
    remembered = session.pop("signoff_links", None)
    if not remembered or remembered.get("version_id") != version.id:
        return []
    signatories = {s.id: s for s in version.sign_off.signatories}
    links = []
    for signatory_id, sealed in remembered.get("tokens", []):
        signatory = signatories.get(signatory_id)
        token = opened_from_session(sealed)
        # A link replaced, revoked or taken off with its signatory since would mislead.
        if signatory and signatory.matches(token) and signatory.link_state == "active":
            links.append({"name": signatory.name, "url": link_for("sign.page", token=token)})
    return links


# Consultant pages --------------------------------------------------------------------


@bp.post("/freeze/<int:decision_id>")
def freeze(engagement_id: int, decision_id: int) -> Any:
    """Freeze the charter as filled in on the charter page, as the next version."""
    from assess.views.charter import edit_page, own_decision, save_fields

    engagement, record = own_decision(engagement_id, decision_id)
    # Before anything of the engagement is read for the freeze: a freeze sent twice at once
    # then finds, the second time, the version the first one made, and the fields saved
    # from another tab meanwhile are merged in (the engagement is read afresh once held).
    signoff.hold_for_freeze(db.session, engagement)
    refuse_if_archived(engagement)
    # The posted fields are stored first; the freeze uses what was stored.
    details, errors = save_fields(engagement, record, request.form)
    if details is None:
        return edit_page(engagement, record, request.form, errors)
    # What is signed is the assessment as it stands: the engagement's decision, never a
    # respondent's own answers or a what-if stored after it.
    decided = engagement.decision_of_record
    if decided is None or decided.id != record.id:
        db.session.commit()  # the fields stay saved
        if decided is None:
            problem = (
                f"Decision #{record.id} is not the engagement's decision, and the engagement "
                "has none yet: a charter is frozen once its answers are decided."
            )
        elif decided.id > record.id:
            problem = (
                f"Decision #{record.id} has been superseded by #{decided.id}: a charter is "
                "frozen from the engagement's decision, so that what is signed is the "
                "assessment as it stands."
            )
        else:
            problem = (
                f"Decision #{record.id} is a what-if, not the engagement's decision "
                f"(#{decided.id}): a charter is frozen from the engagement's decision, so that "
                "what is signed is the assessment as it stands."
            )
        page, _ = edit_page(engagement, record, request.form, {"_schema": [problem]})
        return page, 409
    made = signoff.frozen_already(engagement, record, details)
    if made is not None:
        db.session.commit()
        flash(
            f"Version {made.number} was already frozen from this decision with these details, "
            "so no other version was made. Name who signs it, then send the links.",
            "info",
        )
        return _to_version(made)
    version = signoff.freeze(
        db.session, engagement, record, details, consultant=current_user._get_current_object()
    )
    db.session.commit()
    flash(
        f"Version {version.number} is frozen. Name who signs it, then send the links.",
        "success",
    )
    return _to_version(version)


def _version_page(
    engagement: Engagement,
    version: CharterVersion,
    form: Any | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    links = _links_to_show(version)
    previous = version.previous_version
    changes = signoff.diff(previous, version) if previous else []
    stale = signoff.stale_because(db.session, version)
    page = render_template(
        "web/signoff/version.html",
        link_days=_link_days(),
        engagement=engagement,
        version=version,
        sign_off=version.sign_off,
        links=links,
        previous=previous,
        changes=changes,
        stale=stale,
        decline=signoff.decline_of(version.sign_off),
        withdrawn_by=signoff.withdrawn_by(version.sign_off),
        newer_version=_withdrawn_for(version),
        waiting=signoff.waiting_for(version.sign_off),
        form=form or {},
        errors=errors or {},
        labels=SIGNATORY_LABELS,
        latest=engagement.charter_versions[-1],
        named_before=signoff.named_before(version),
        replaced_by=_replaced_by(version),
    )
    return page, status


def _withdrawn_for(version: CharterVersion) -> CharterVersion | None:
    """The version whose freezing withdrew this one's sign-off, if that is what withdrew it."""
    sign_off = version.sign_off
    if sign_off.status != SIGNOFF_WITHDRAWN or sign_off.reason == signoff.WITHDRAWN_BY_HAND:
        return None
    return version.next_version


def _replaced_by(version: CharterVersion) -> CharterVersion | None:
    """The signed amendment that replaces this signed version, as the verify page says."""
    if version.sign_off.status != SIGNOFF_SIGNED:
        return None
    return signoff.superseded_by(db.session, version)


@bp.get("/v<int:number>")
def show(engagement_id: int, number: int) -> tuple[str, int]:
    """Show a frozen version: its hash, signatories, links, history and diff."""
    engagement, version = _owned_version(engagement_id, number)
    return _version_page(engagement, version)


@bp.get("/v<int:number>/amend")
def amend(engagement_id: int, number: int) -> Any:
    """Open the charter form on the latest decision, filled in as this version was."""
    from assess.views.charter import edit_page, stored_form

    engagement, version = _owned_version(engagement_id, number)
    refuse_if_archived(engagement)
    record = engagement.decision_of_record
    if record is None:
        flash("The engagement has no decision to prepare a new version from yet.", "info")
        return redirect(url_for("engagements.show", engagement_id=engagement.id) + "#charter")
    form = stored_form(version.fields)
    return edit_page(engagement, record, form, {})


@bp.get("/v<int:number>/charter.pdf")
def frozen_pdf(engagement_id: int, number: int) -> Response:
    """Download the frozen PDF exactly as the signatories see it."""
    _, version = _owned_version(engagement_id, number)
    return pdf_response(version.pdf, version.sha256, version.filename)


def calendar_response(version: CharterVersion) -> Response:
    """The review calendar a frozen version states: the file frozen with it, byte for byte
    like its PDF, whatever day it is downloaded on and whatever the scheduling rules say
    now. It is stamped with the time of the freeze and cancels the reviews of earlier
    versions this one drops."""
    data = bytes(version.calendar_ics)
    filename = f"reviews-{version.document_id}-v{version.number}.ics"
    return Response(
        data,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/v<int:number>/reviews.ics")
def frozen_calendar(engagement_id: int, number: int) -> Response:
    """Download the review calendar of a frozen version."""
    _, version = _owned_version(engagement_id, number)
    return calendar_response(version)


@bp.get("/v<int:number>/signed.pdf")
def signed_pdf(engagement_id: int, number: int) -> Response:
    """Download the sealed charter, once everyone approved."""
    _, version = _owned_version(engagement_id, number)
    sealed = version.sign_off.sealed_pdf
    digest = version.sign_off.sealed_sha256
    if version.sign_off.status != SIGNOFF_SIGNED or sealed is None or digest is None:
        abort(404)
    return pdf_response(sealed, digest, version.filename.replace(".pdf", "-signed.pdf"))


# What stops the signatory list changing: the page answering shows no form to correct.
CLOSED_TO_CHANGES = (signoff.AlreadyStarted, signoff.Archived, signoff.StaleVersion)


def _unless_closed(
    errors: dict[str, list[str]], refuse: Callable[[], None]
) -> tuple[dict[str, list[str]], int]:
    """The problems of a form sent from a page opened before the sign-off closed to it
    (started, everyone removed or overtaken by a newer decision, in another tab), with their
    status: what stops the form, when something does, rather than what to correct in a form
    the page no longer shows."""
    try:
        refuse()
    except signoff.SignOffError as error:
        return {"_schema": [str(error)]}, 409
    return errors, 422


@bp.post("/v<int:number>/signatories")
def add_signatory(engagement_id: int, number: int) -> Any:
    """Add a signatory to a version in preparation."""
    engagement, version = _owned_version(engagement_id, number)
    data, errors = load_form(SignatorySchema(), request.form)
    status = 422
    if errors:
        errors, status = _unless_closed(
            errors, partial(signoff.refuse_changes, db.session, version.sign_off)
        )
    if not errors:
        try:
            signoff.add_signatory(db.session, version.sign_off, **data)
        except CLOSED_TO_CHANGES as error:
            errors, status = {"_schema": [str(error)]}, 409
        except signoff.SignOffError as error:
            errors = {"email" if "signatory" in str(error) else "_schema": [str(error)]}
    if errors:
        db.session.rollback()
        return _version_page(engagement, version, request.form, errors, status)
    db.session.commit()
    return _to_version(version, "#signatories")


@bp.post("/v<int:number>/signatories/again")
def name_again(engagement_id: int, number: int) -> Any:
    """Name the signatories of the previous version again, in their order. Each is added as
    the form adds one, under the same rules; if one cannot be, nobody is. No link is sent."""
    engagement, version = _owned_version(engagement_id, number)
    refuse_if_archived(engagement)
    earlier = signoff.named_before(version)
    if earlier is None:
        nothing = ["No earlier version of this charter names signatories."]
        return _version_page(engagement, version, {}, {"_schema": nothing}, 409)
    people = earlier.sign_off.signatories
    # Held first, so that of a double click the second request finds what the first named.
    sign_off = signoff.lock(db.session, version.sign_off.id)
    named = [s.email.lower() for s in sign_off.signatories]
    if named and named == [s.email.lower() for s in people]:
        # A double click, or a second tab: the list is already as asked.
        flash(f"The signatories of version {earlier.number} are already named.", "info")
        return _to_version(version, "#signatories")
    errors: dict[str, list[str]] = {}
    status = 422
    for person in people:
        data, invalid = load_form(
            SignatorySchema(), {"name": person.name, "email": person.email, "role": person.role}
        )
        if invalid:
            errors = {"_schema": [_cannot_name_again(person, invalid)]}
            break
        try:
            signoff.add_signatory(db.session, sign_off, **data)
        except CLOSED_TO_CHANGES as error:
            errors, status = {"_schema": [str(error)]}, 409
            break
        except signoff.SignOffError as error:
            errors = {"_schema": [str(error)]}
            break
    if errors:
        db.session.rollback()
        return _version_page(engagement, version, {}, errors, status)
    db.session.commit()
    return _to_version(version, "#signatories")


def _cannot_name_again(person: Signatory, errors: dict[str, list[str]]) -> str:
    """Say which person of the earlier list the signatory form now refuses, and why."""
    field, messages = next(iter(errors.items()))
    label = SIGNATORY_LABELS.get(field, (field.capitalize(), ""))[0]
    return Markup("{} cannot be named again. {}: {}").format(
        isolated("{}", person.name), label, messages[0]
    )


@bp.post("/v<int:number>/signatories/<int:signatory_id>/remove")
def remove_signatory(engagement_id: int, number: int, signatory_id: int) -> Any:
    """Take a signatory off the list before the sign-off starts."""
    engagement, version = _owned_version(engagement_id, number)
    # A page opened before the archive says so, as the page opened now would.
    refuse_if_archived(engagement)
    if _removed_already(version, signatory_id):
        # A double click, or a page from before: the list is already as asked.
        flash("That signatory is no longer on the list.", "info")
        return _to_version(version, "#signatories")
    signatory = _owned_signatory(version, signatory_id)
    try:
        signoff.remove_signatory(db.session, version.sign_off, signatory)
    except signoff.SignOffError as error:
        # What stops the list changing, as the add form is told: the page shows no Remove.
        db.session.rollback()
        return _version_page(engagement, version, {}, {"_schema": [str(error)]}, 409)
    db.session.commit()
    return _to_version(version, "#signatories")


@bp.post("/v<int:number>/start")
def start(engagement_id: int, number: int) -> Any:
    """Send the version for sign-off: one personal link per signatory, shown once."""
    engagement, version = _owned_version(engagement_id, number)
    data, errors = load_form(StartSchema(), request.form)
    if errors:
        errors, status = _unless_closed(
            errors, partial(signoff.refuse_start, db.session, version.sign_off)
        )
        return _version_page(engagement, version, request.form, errors, status)
    expires_at = _links_expire_at(data["expires_on"])
    try:
        tokens = signoff.start(
            db.session,
            version.sign_off,
            sequential=data["order"] == "sequential",
            expires_at=expires_at,
            actor=current_user.display_name,
        )
    except signoff.SignOffError as error:
        db.session.rollback()
        return _version_page(engagement, version, request.form, {"_schema": [str(error)]}, 409)
    version.sign_off.public_url = public_url()
    db.session.commit()
    _remember_links(version, tokens)
    return _to_version(version, "#links")


@bp.post("/v<int:number>/signatories/<int:signatory_id>/link")
def resend(engagement_id: int, number: int, signatory_id: int) -> Any:
    """Make a new link for a signatory; the old one stops working."""
    engagement, version, signatory = _changeable_signatory(engagement_id, number, signatory_id)
    data, errors = load_form(ResendSchema(), request.form)
    if errors:
        return _version_page(engagement, version, request.form, errors, 422)
    expires_at = _links_expire_at(data["expires_on"])
    try:
        token = signoff.resend(
            db.session, signatory, expires_at=expires_at, actor=current_user.display_name
        )
    except signoff.StaleVersion as error:
        # The page shows no New link once a newer decision overtook the version.
        db.session.rollback()
        return _version_page(engagement, version, {}, {"_schema": [str(error)]}, 409)
    except signoff.SignOffError as error:
        flash(str(error), "info")
        return _to_version(version)
    db.session.commit()
    _remember_links(version, {signatory.id: token})
    return _to_version(version, "#links")


@bp.post("/v<int:number>/signatories/<int:signatory_id>/revoke")
def revoke(engagement_id: int, number: int, signatory_id: int) -> Any:
    """Stop a signatory's link from working."""
    _, version, signatory = _changeable_signatory(engagement_id, number, signatory_id)
    try:
        signoff.revoke(db.session, signatory, actor=current_user.display_name)
    except signoff.SignOffError as error:
        flash(str(error), "info")
        return _to_version(version)
    db.session.commit()
    flash(isolated("{}'s link no longer works.", signatory.name), "info")
    return _to_version(version, "#signatories")


@bp.post("/v<int:number>/withdraw")
def withdraw(engagement_id: int, number: int) -> Any:
    """Stop an open sign-off; the charter goes back to draft."""
    engagement, version = _owned_version(engagement_id, number)
    refuse_if_archived(engagement)
    try:
        signoff.withdraw(db.session, version.sign_off, actor=current_user.display_name)
    except signoff.SignOffError as error:
        flash(str(error), "info")
        return _to_version(version)
    db.session.commit()
    flash(
        f"Version {version.number} is withdrawn; its links show it as withdrawn and can no "
        "longer approve or decline it.",
        "info",
    )
    return _to_version(version)


# Signatory pages ---------------------------------------------------------------------


def find_signatory(token: str) -> Signatory | None:
    """Return the signatory a link token opens, if any."""
    return kept_for_request("signatories", token, partial(signoff.find_signatory, db.session))


link_lookups[public.name] = find_signatory


def _signatory(token: str) -> Signatory:
    signatory = find_signatory(token)
    if signatory is None:
        abort(404)
    return signatory


def _sign_page(
    signatory: Signatory,
    token: str,
    *,
    form: Any | None = None,
    errors: dict[str, list[str]] | None = None,
    problem: signoff.SignOffError | None = None,
    status: int = 200,
    unsent: str | None = None,
) -> tuple[str, int]:
    version = signatory.sign_off.version
    if problem is None:
        try:
            signoff.check_link(signatory)
            if signatory.action is None and signatory.sign_off.status == SIGNOFF_PENDING:
                signoff.check_can_act(
                    db.session, signatory.sign_off, signatory, utcnow(), approving=True
                )
        except signoff.SignOffError as error:
            problem = error
    if isinstance(problem, signoff.LinkUnusable) and problem.state == "revoked":
        # Revoked, most often, because it reached the wrong person: like a replaced link, it
        # tells them nothing more of the charter, its parties or its document id.
        gone = render_template(
            "web/error.html",
            code=410,
            title="This link no longer works",
            message=str(problem),
            home=False,
            personal_link=True,
        )
        return gone, 410
    expired = isinstance(problem, signoff.LinkUnusable) and problem.state in (
        "expired",
        "revoked",
    )
    stale = isinstance(problem, signoff.StaleVersion)
    if signatory.action == "approved" and signatory.sign_off.status == SIGNOFF_PENDING:
        # Whoever approved is told when the signed charter they wait for cannot come.
        stale = signoff.is_stale(db.session, version)
    can_act = (
        problem is None
        and signatory.action is None
        and signatory.sign_off.status == SIGNOFF_PENDING
    )
    if not can_act and status == 422:
        # The page offers no form to correct: the sign-off's state refuses it, not the input.
        status = 409
    previous = version.previous_version
    # The version frozen after this one, once the consultant has corrected a declined one.
    corrected_by = next(
        (v for v in version.engagement.charter_versions if v.number > version.number), None
    )
    page = render_template(
        "web/signoff/sign.html",
        signatory=signatory,
        sign_off=signatory.sign_off,
        version=version,
        token=token,
        problem=problem,
        expired=expired,
        stale=stale,
        can_act=can_act,
        changes=signoff.diff(previous, version) if previous else [],
        previous=previous,
        corrected_by=corrected_by,
        replaced_by=_replaced_by(version),
        still_to_approve=[s for s in signatory.sign_off.signatories if s.action is None],
        form=form or {},
        errors=errors or {},
        labels=SIGN_LABELS,
        unsent=unsent,
    )
    if expired and status == 200:
        status = 410
    return page, status


# What a signatory typed on a form sent after its session ended (the browser closed, or
# hours without opening a page): kept in the session for the page to show once, filled in,
# to be sent again. The link is named by its hash, as the session cookie is signed, not
# secret. The consent is never kept: it is given anew.
UNSENT = "unsent_sign_form"
TYPED = {"sign.approve": ("full_name", NAME_MAX), "sign.decline": ("reason", REASON_MAX)}


def keep_unsent(*, browser_closed: bool) -> None:
    """Keep what was typed on an approve or decline form whose form token was refused."""
    token = (request.view_args or {}).get("token")
    field, longest = TYPED.get(request.endpoint or "", ("", 0))
    typed = request.form.get(field, "")[:longest] if field else ""
    if not isinstance(token, str) or not typed.strip():
        return
    session[UNSENT] = {"link": hash_token(token), "form": {field: typed}, "closed": browser_closed}


def unsent_page(path: str) -> str | None:
    """Return the address of the sign page at ``path`` to open again when the session keeps
    what was last typed on it, else None."""
    found = unsent_at(path, UNSENT, "sign.page")
    return url_for("sign.page", token=found[1]["token"]) if found else None


@public.get("/<token>")
def page(token: str) -> tuple[str, int]:
    """Show the signatory the charter, its hash, and the approve and decline forms."""
    signatory = _signatory(token)
    kept = session.pop(UNSENT, None) if request.method == "GET" else None
    if isinstance(kept, dict) and kept.get("link") == hash_token(token):
        unsent = "closed" if kept.get("closed") else "open"
        return _sign_page(signatory, token, form=kept.get("form"), unsent=unsent)
    return _sign_page(signatory, token)


@public.get("/<token>/charter.pdf")
def charter_pdf(token: str) -> Response | tuple[str, int]:
    """Open the frozen charter in the browser (the bytes the approval is for)."""
    signatory = _signatory(token)
    try:
        signoff.check_link(signatory)
    except signoff.LinkUnusable as error:
        # Opened from a page loaded before the link stopped working: say why, as it would.
        return _sign_page(signatory, token, problem=error)
    version = signatory.sign_off.version
    if request.args.get("download") == "1":
        return pdf_response(version.pdf, version.sha256, version.filename)
    # Shown inside the sign page, so the signatory reads it where they approve it.
    shown = pdf_response(version.pdf, version.sha256, version.filename, inline=True)
    return frame_on_own_pages(shown)


@public.get("/<token>/signed.pdf")
def signed(token: str) -> Response:
    """Download the sealed charter; the link works for this even after it expired."""
    signatory = _signatory(token)
    sign_off = signatory.sign_off
    if signatory.revoked_at is not None or sign_off.status != SIGNOFF_SIGNED:
        abort(404)
    assert sign_off.sealed_pdf is not None and sign_off.sealed_sha256 is not None
    return pdf_response(
        sign_off.sealed_pdf,
        sign_off.sealed_sha256,
        sign_off.version.filename.replace(".pdf", "-signed.pdf"),
    )


@public.get("/<token>/reviews.ics")
def signed_calendar(token: str) -> Response:
    """Download the signed charter's review calendar, on the same terms as the signed PDF."""
    signatory = _signatory(token)
    if signatory.revoked_at is not None or signatory.sign_off.status != SIGNOFF_SIGNED:
        abort(404)
    return calendar_response(signatory.sign_off.version)


def _done_already(signatory: Signatory, error: signoff.SignOffError, action: str) -> bool:
    """Whether the signatory already did exactly this: a double click, or a second tab.

    The page then shows what was recorded, as the first submission's answer would have.
    """
    return isinstance(error, signoff.LinkUnusable) and signatory.action == action


@public.post("/<token>/approve")
def approve(token: str) -> Any:
    """Approve the frozen version: full name typed, consent ticked."""
    signatory = _signatory(token)
    data, errors = load_form(ApproveSchema(), request.form)
    typed = request.form.get("full_name", "")
    if "full_name" not in errors and not signoff.names_match(typed, signatory.name):
        errors = {
            "full_name": [signoff.type_your_name(signatory)],
            **errors,
        }
    if errors:
        return _sign_page(signatory, token, form=request.form, errors=errors, status=422)
    try:
        sealed = signoff.approve(
            db.session,
            signatory,
            typed_name=data["full_name"],
            source=source(),
            sealer=sealer(signatory.sign_off),
        )
    except signoff.SignOffError as error:
        db.session.rollback()
        if _done_already(signatory, error, "approved"):
            return redirect(url_for("sign.page", token=token), code=303)
        return _sign_page(signatory, token, problem=error, status=409)
    except (SealingFailed, OSError) as error:
        # The last approval and the seal are one transaction: without the seal (a key
        # unreadable, an instance folder that cannot be written), the approval is not
        # kept either, and the signatory can approve again later.
        db.session.rollback()
        current_app.logger.error("sealing failed, approval not recorded: %s", error, exc_info=error)
        problem = signoff.SignOffError(SEAL_UNAVAILABLE)
        page, status = _sign_page(signatory, token, problem=problem, status=503)
        return page, status, {"Retry-After": "300"}
    db.session.commit()
    if sealed:
        flash("Thank you. Everyone has approved: the signed charter is ready.", "success")
    else:
        flash("Thank you. Your approval is recorded.", "success")
    return redirect(url_for("sign.page", token=token), code=303)


@public.post("/<token>/decline")
def decline(token: str) -> Any:
    """Decline the frozen version, with a reason the consultant sees."""
    signatory = _signatory(token)
    data, errors = load_form(DeclineSchema(), _one_line(request.form))
    if errors:
        return _sign_page(signatory, token, form=request.form, errors=errors, status=422)
    try:
        signoff.decline(db.session, signatory, reason=data["reason"], source=source())
    except signoff.SignOffError as error:
        db.session.rollback()
        if _done_already(signatory, error, "declined"):
            return redirect(url_for("sign.page", token=token), code=303)
        return _sign_page(signatory, token, problem=error, status=409)
    db.session.commit()
    flash("Your decision is recorded. The consultant will see your reason.", "info")
    return redirect(url_for("sign.page", token=token), code=303)
