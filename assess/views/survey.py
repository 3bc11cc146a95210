"""Clients' self-assessment from an invitation link: no account, save and resume."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from assess.extensions import db, link_lookups, personal_link_limit
from assess.forms import load_answers_form
from assess.models import DecisionRecord, Engagement, Invitation, Respondent, hash_token
from assess.questionnaire import (
    PAGES,
    REVIEW_STEP,
    STEPS,
    answers_seen,
    first_unanswered_step,
    missing,
    page_of,
    save_answers,
    submit,
)
from assess.views import kept_for_request, unsent_at
from assess.views.results import chart_for
from assess.views.template_helpers import isolated

bp = Blueprint("survey", __name__, url_prefix="/i/<token>")
personal_link_limit(bp)

# Tokens we issue are 43 characters; anything much longer is not one of ours.
TOKEN_MAX = 100
# The query parameter and form field that bring a step changed from the review back there.
RETURN_TO = "return_to"
# The review form's field naming the answers it showed.
ANSWERS_SEEN = "answers_seen"
# What a step sent after its session ended (the browser closed, or hours without opening a
# page) chose: kept in the session for the step to show once, filled in, to be sent again.
# Never stored: the link is named by its hash, as the session cookie is signed, not secret.
UNSENT = "unsent_answers"


# What a link that does not open the questionnaire answers. A closed questionnaire opens
# again when its engagement is restored, so it is refused rather than gone.
LINK_STATUS = {"expired": 410, "withdrawn": 410, "replaced": 410, "closed": 403}


class Unavailable(Exception):
    """The link exists but can no longer be used."""

    def __init__(self, reason: str, *, submitted: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.submitted = submitted


def find_invitation(token: str) -> Invitation | None:
    """Return the invitation a token opens, if any."""
    return kept_for_request("invitations", token, _look_up_invitation)


def _look_up_invitation(token: str) -> Invitation | None:
    # One round trip: every page needs the respondent and their engagement too.
    if len(token) > TOKEN_MAX:
        return None
    invitation = db.session.scalar(
        select(Invitation)
        .where(Invitation.token_hash == hash_token(token))
        .options(joinedload(Invitation.respondent).joinedload(Respondent.engagement))
    )
    # Looked up by hash; the constant-time check guards against any collation surprise.
    return invitation if invitation and invitation.matches(token) else None


link_lookups[bp.name] = find_invitation


def respondent_for(token: str) -> Respondent:
    """Return the respondent behind a working link; 404 or a clear page otherwise."""
    invitation = find_invitation(token)
    if invitation is None:
        abort(404)
    respondent = invitation.respondent
    if respondent.engagement.archived_at is not None:
        raise Unavailable("closed")
    if invitation.state == "expired":
        raise Unavailable("expired", submitted=respondent.locked)
    if invitation.state == "revoked":
        newer = any(other.id > invitation.id for other in respondent.invitations)
        raise Unavailable("replaced" if newer else "withdrawn")
    return respondent


@bp.errorhandler(Unavailable)
def unavailable(error: Unavailable) -> tuple[str, int]:
    """Explain why a link no longer opens, and what to do now; answers sent through it are
    said not to be saved (the page says those given before are kept)."""
    page = render_template(
        "web/survey/link.html",
        reason=error.reason,
        submitted=error.submitted,
        sent=request.method == "POST",
    )
    return page, LINK_STATUS[error.reason]


def not_a_page(token: str) -> tuple[str, int]:
    """Lead a working link that asks for a page the questionnaire lacks back in, rather than
    blame the link."""
    return render_template("web/survey/link.html", reason="not_a_page", token=token), 404


def keep_unsent(*, browser_closed: bool) -> None:
    """Keep what a step whose form token was refused chose, for that step to show again:
    only answers the step asks, as they could be saved."""
    arguments = request.view_args or {}
    token, number = arguments.get("token"), arguments.get("number")
    if not isinstance(token, str) or not isinstance(number, int):
        return
    if not 1 <= number < REVIEW_STEP or len(token) > TOKEN_MAX:
        return
    chosen: dict[str, int] = {}
    for key in page_of(number).keys:
        if not request.form.get(key):
            continue
        given, errors = load_answers_form({key: request.form[key]}, [key], required=False)
        if not errors:
            chosen.update(given)
    session[UNSENT] = {
        "link": hash_token(token),
        "step": number,
        "answers": chosen,
        "review": request.form.get(RETURN_TO) == "review",
        "closed": browser_closed,
    }


def unsent_page(path: str) -> str | None:
    """Return the address of the step at ``path`` to open again when the session keeps what
    was last sent from it, else None."""
    found = unsent_at(path, UNSENT, "survey.step")
    if found is None or found[0].get("step") != found[1].get("number"):
        return None
    kept, arguments = found
    back_to: dict[str, Any] = {RETURN_TO: "review"} if kept.get("review") else {}
    return url_for("survey.step", token=arguments["token"], number=kept["step"], **back_to)


def _take_unsent(token: str, number: int) -> tuple[dict[str, int], str] | None:
    """Take what the session keeps of this step sent too late: the answers, and why."""
    kept = session.pop(UNSENT, None)
    if not isinstance(kept, dict) or not isinstance(kept.get("answers"), dict):
        return None
    if kept.get("link") != hash_token(token) or kept.get("step") != number:
        return None
    return kept["answers"], "closed" if kept.get("closed") else "open"


def _locked(token: str, *, discarded: bool = False) -> Response:
    # The result page says the answers are submitted and how to have them reopened; only
    # answers sent and thrown away need a word of their own.
    if discarded:
        flash("What you just sent was not saved: your answers were already submitted.", "info")
    return redirect(url_for("survey.result", token=token), code=303)


@bp.get("")
def start(token: str) -> str | Response:
    """Welcome a respondent, or take them back to where they left off."""
    respondent = respondent_for(token)
    if respondent.locked:
        return redirect(url_for("survey.result", token=token))
    if respondent.answers:
        _welcome_back(respondent)
        # With every question answered the review is where to go on, as the welcome back
        # says, whichever page was saved last: answers may also have come through the API.
        if respondent.step >= REVIEW_STEP or not missing(respondent.answers):
            return redirect(url_for("survey.review", token=token))
        return redirect(url_for("survey.step", token=token, number=max(1, respondent.step)))
    link = respondent.active_invitation  # the link that opened this page
    return render_template(
        "web/survey/start.html",
        token=token,
        respondent=respondent,
        pages=PAGES,
        steps=STEPS,
        link_ends=link.expires_at if link else None,
    )


def _welcome_back(respondent: Respondent) -> None:
    # Opening the link again lands where they stopped, not on the welcome: say why.
    if respondent.reopened_at is not None:
        where = (
            "Your consultant has reopened your answers: change what you need, then submit "
            "them again."
        )
    elif missing(respondent.answers):
        where = "Your answers so far are saved: carry on where you left off."
    else:
        where = "Every question is answered: check your answers, then submit."
    flash(isolated("Welcome back, {}. " + where, respondent.name), "info")


@bp.route("/step/<int:number>", methods=["GET", "POST"])
def step(token: str, number: int) -> str | Response | tuple[str, int]:
    """Show one page of questions; save its answers and move back or on."""
    respondent = respondent_for(token)
    if not 1 <= number < REVIEW_STEP:
        return not_a_page(token)
    if respondent.locked:
        return _locked(token, discarded=request.method == "POST")
    page = page_of(number)
    answers = dict(respondent.answers)
    # "Change" on the review page opens a step to come back to the review once it is saved,
    # rather than through every later step again.
    changing = request.values.get(RETURN_TO) == "review"
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        unsent = _take_unsent(token, number) if request.method == "GET" else None
        if unsent is not None:
            refilled = {**answers, **unsent[0]}
            return _render_step(
                token, respondent, number, refilled, {}, changing=changing, unsent=unsent[1]
            )
        return _render_step(token, respondent, number, answers, {}, changing=changing)
    action = request.form.get("action", "next")
    given, errors = load_answers_form(request.form, page.keys, required=action == "next")
    if errors:
        shown = {**answers, **{k: request.form[k] for k in page.keys if request.form.get(k)}}
        return _render_step(token, respondent, number, shown, errors, changing=changing), 422
    target = {"back": number - 1, "save": number}.get(action, number + 1)
    if changing and action == "next":
        target = REVIEW_STEP
    target = max(1, min(target, REVIEW_STEP))
    # Merged into the answers stored now (another tab may have saved another page since
    # this one loaded), and only while not submitted (another tab may have submitted).
    # A step changed from the review belongs to it: the link leads back there next time.
    saved = save_answers(db.session, respondent, given, step=REVIEW_STEP if changing else target)
    if saved is None:
        _refused(respondent)
        return _locked(token, discarded=True)
    db.session.commit()
    if target == REVIEW_STEP:
        target = first_unanswered_step(saved)
    if action == "save":
        flash(
            "Your answers are saved. Open the same link again to carry on where you left off.",
            "success",
        )
    if target == REVIEW_STEP:
        return redirect(url_for("survey.review", token=token), code=303)
    # Saving for later keeps a changed step on its way back to the review.
    back_to: dict[str, Any] = {RETURN_TO: "review"} if changing and target == number else {}
    return redirect(url_for("survey.step", token=token, number=target, **back_to), code=303)


def _render_step(
    token: str,
    respondent: Respondent,
    number: int,
    answers: Mapping[str, object],
    errors: dict[str, list[str]],
    *,
    changing: bool = False,
    unsent: str | None = None,
) -> str:
    return render_template(
        "web/survey/step.html",
        unsent=unsent,
        token=token,
        respondent=respondent,
        number=number,
        steps=STEPS,
        page=page_of(number),
        pages=PAGES,
        answers=answers,
        errors=errors,
        changing=changing,
        return_to=RETURN_TO,
    )


@bp.route("/review", methods=["GET", "POST"])
def review(token: str) -> str | Response | tuple[str, int]:
    """Show all answers for a last check; submitting locks them and makes the decision."""
    respondent = respondent_for(token)
    if respondent.locked:
        return _locked(token, discarded=_unseen_answers_locked(respondent))
    answers = dict(respondent.answers)
    gaps = missing(answers)
    # Opening the review stores nothing (a prefetch or the back button opens it too): the
    # step that leads here was stored when its answers were posted.
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        if gaps:
            return redirect(
                url_for("survey.step", token=token, number=first_unanswered_step(answers))
            )
        return _render_review(token, respondent, {})
    if gaps:
        errors = {key: ["Answer this question before you submit."] for key in gaps}
        return _render_review(token, respondent, errors), 422
    # Another tab, or someone else with the link, may have changed answers since the review
    # was opened: submitting locks only answers the respondent has seen. (A page without
    # the field, opened before it existed, submits as it always did.)
    seen = request.form.get(ANSWERS_SEEN)
    if seen is not None and seen != answers_seen(answers):
        return _render_review(token, respondent, {}, changed=True), 409
    if submit(db.session, respondent) is None:  # a double click, or another tab
        _refused(respondent)
        return _locked(token, discarded=_unseen_answers_locked(respondent))
    db.session.commit()
    return redirect(url_for("survey.result", token=token), code=303)


def _refused(respondent: Respondent) -> None:
    """Roll back a save or a submission refused by its claim, and answer as the link does
    now when that was not the answers' being submitted already: the engagement archived
    (the questionnaire is closed) or the respondent removed (the link is gone) meanwhile."""
    respondent_id = respondent.id
    db.session.rollback()
    archived = db.session.execute(
        select(Engagement.archived_at)
        .join(Respondent, Respondent.engagement_id == Engagement.id)
        .where(Respondent.id == respondent_id)
    ).first()
    if archived is None:
        abort(404)
    if archived.archived_at is not None:
        raise Unavailable("closed")


def _unseen_answers_locked(respondent: Respondent) -> bool:
    """Say whether a submission found other answers locked than the review it was sent from
    showed: the consultant closed them again as first submitted, dropping changes. A second
    click on Submit finds those it showed."""
    if request.method != "POST":
        return False
    seen = request.form.get(ANSWERS_SEEN)
    return seen is not None and seen != answers_seen(respondent.answers)


def _render_review(
    token: str, respondent: Respondent, errors: dict[str, list[str]], *, changed: bool = False
) -> str:
    return render_template(
        "web/survey/review.html",
        token=token,
        respondent=respondent,
        number=REVIEW_STEP,
        steps=STEPS,
        pages=PAGES,
        answers=respondent.answers,
        errors=errors,
        changed=changed,
        answers_seen=answers_seen(respondent.answers),
        answers_seen_field=ANSWERS_SEEN,
    )


@bp.get("/result")
def result(token: str) -> str | Response:
    """Show the respondent the decision their submitted answers produced."""
    respondent = respondent_for(token)
    if not respondent.locked:
        return redirect(url_for("survey.start", token=token))
    record = db.session.scalar(
        select(DecisionRecord)
        .where(DecisionRecord.respondent_id == respondent.id)
        .order_by(DecisionRecord.id.desc())
        .limit(1)
    )
    if record is None:
        abort(404)
    decision = record.decision
    return render_template(
        "web/survey/result.html",
        token=token,
        respondent=respondent,
        engagement=respondent.engagement,
        record=record,
        decision=decision,
        chart=chart_for(decision),
        consultant_view=False,
    )


@bp.route("/<path:rest>", methods=["GET", "POST"])
def elsewhere(token: str, rest: str) -> tuple[str, int]:
    """Any other address under a link: the link's own page if it works (a step number that
    is not one, a word added when the link was pasted), else why it does not open."""
    respondent_for(token)
    return not_a_page(token)
