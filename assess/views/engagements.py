"""Consultants' engagements: create, list, edit, archive, invite respondents, run a session."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.wrappers import Response

from assess import deletion, signoff
from assess.alignment import SESSION_NAME, told_apart
from assess.consensus import Carried
from assess.extensions import db
from assess.factors import BY_KEY, FACTOR_KEYS
from assess.forms import (
    EngagementSchema,
    InvitationSchema,
    as_now,
    changed_both_ways,
    load_answers_form,
    load_form,
    opened_with,
)
from assess.listing import (
    engagement_count,
    engagement_page,
    engagements_query,
    search_words,
    sign_off_progress,
)
from assess.models import (
    ANSWERS_CLOSED,
    CREATOR,
    JOINT,
    MAX_ID,
    PARTY_SIDES,
    PRODUCER,
    RESPONDENTS_WITH_LINKS,
    SIDE_LABELS,
    SIGNOFF_PENDING,
    SIGNOFF_PREPARING,
    VERSIONS_WITH_SIGN_OFF_HISTORY,
    VIA_WEB,
    Consultant,
    Engagement,
    Party,
    Respondent,
    hold_row,
    utcnow,
)
from assess.questionnaire import (
    PAGES,
    REOPENED_BLOCK,
    answers_seen,
    carried_over,
    changes_since_reopening,
    decide,
    hold_engagement,
    missing,
    record_consensus,
    record_decision,
    why_no_consensus,
)
from assess.radar import radar
from assess.respondents import (
    GONE,
    Refusal,
    Unseen,
    already_invited,
    close_answers_again,
    remove_respondent,
    reopen_answers,
    side_left_without,
    why_not_closable,
    why_not_removable,
)
from assess.text import same_name, shows_as
from assess.views import link_for, opened_from_session, sealed_for_session
from assess.views.auth import require_consultant
from assess.views.template_helpers import about, isolated, link_end, respondent_names

bp = Blueprint("engagements", __name__, url_prefix="/engagements")

# A spread this large between two respondents on one factor is worth discussing.
DISAGREEMENT = 2


# Every page here is for signed-in consultants.
bp.before_request(require_consultant)


def owned_engagement(engagement_id: int, *loading: ORMOption, hold: bool = False) -> Engagement:
    """Return the signed-in consultant's engagement, or 404 for anyone else's; with what the
    ``loading`` options name loaded along with it.

    With ``hold`` its row is held first, until the commit (``hold_engagement``), and read
    after: a request that changes the engagement then acts on it as the changes committed a
    moment before left it, while one sent at the same instant (a double click, another tab,
    a respondent submitting) waits for it and finds what it stored.
    """
    if hold and 0 < engagement_id <= MAX_ID:
        hold_engagement(db.session, engagement_id)
    engagement = (
        db.session.get(Engagement, engagement_id, options=loading)
        if engagement_id <= MAX_ID
        else None
    )
    if engagement is None or engagement.consultant_id != current_user.id:
        abort(404)
    return engagement


def owned_respondent(engagement: Engagement, respondent_id: int) -> Respondent:
    """Return a respondent of this engagement, or 404."""
    respondent = next((r for r in engagement.respondents if r.id == respondent_id), None)
    if respondent is None:
        abort(404)
    return respondent


@bp.get("")
def index() -> str | Response:
    """List the consultant's engagements with their status, a page at a time, searchable."""
    archived = request.args.get("archived") == "1"
    number = request.args.get("page", "1")
    if not (number.isascii() and number.isdigit() and len(number) <= 6 and int(number) >= 1):
        abort(404)
    search = " ".join(search_words(request.args.get("q", "")))
    query = engagements_query(current_user.id, archived=archived, search=search)
    page = engagement_page(db.session, query, int(number))
    if page.number > page.pages:  # the list shrank since the link was made
        args: dict[str, Any] = {"q": search or None, "archived": 1 if archived else None}
        return redirect(url_for("engagements.index", page=page.pages, **args))
    # An empty list of current engagements says whether archived ones are there to be seen.
    archived_count = (
        engagement_count(db.session, engagements_query(current_user.id, archived=True))
        if not (page.items or archived or search)
        else 0
    )
    return render_template(
        "web/engagements/index.html",
        archived_count=archived_count,
        engagements=page.items,
        sign_offs=sign_off_progress(db.session, [e.id for e in page.items]),
        page=page,
        archived=archived,
        search=search,
    )


def _engagement_form(engagement: Engagement | None) -> dict[str, str]:
    if engagement is None:
        return {}
    form = {
        "project_name": engagement.project_name,
        "client_organisation": engagement.client_organisation,
    }
    for side in (PRODUCER, CREATOR):
        party = engagement.party(side)
        form[f"{side}_name"] = party.name if party else ""
        form[f"{side}_role"] = party.role if party else ""
    return form


def _apply(engagement: Engagement, data: dict[str, Any]) -> None:
    engagement.project_name = data["project_name"]
    engagement.client_organisation = data["client_organisation"]
    for side in (PRODUCER, CREATOR):
        party = engagement.party(side)
        if party is None:
            party = Party(side=side)
            engagement.parties.append(party)
        party.name = data[f"{side}_name"]
        party.role = data[f"{side}_role"]


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    """Create an engagement with its two parties."""
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        return render_template("web/engagements/form.html", engagement=None, form={}, errors={})
    data, errors = load_form(EngagementSchema(), request.form)
    if errors:
        return render_template(
            "web/engagements/form.html", engagement=None, form=request.form, errors=errors
        ), 422
    # Held while looking for the same form sent a moment before: sent twice at once, the
    # second finds the engagement the first created.
    hold_row(db.session, Consultant, current_user.id, key_share=True)
    engagement = _empty_twin(data)
    if engagement is None:
        engagement = Engagement(consultant_id=current_user.id)
        _apply(engagement, data)
        db.session.add(engagement)
        db.session.commit()
    flash("Engagement created. Invite the respondents or run an intake session.", "success")
    return redirect(url_for("engagements.show", engagement_id=engagement.id))


def _empty_twin(data: dict[str, Any]) -> Engagement | None:
    """Return the consultant's current engagement with exactly these details and nothing in
    it yet: the form sent again (a double click without JavaScript) creates no second one,
    while the same details once work has started are a new engagement."""
    query = engagements_query(current_user.id, archived=False).where(
        Engagement.project_name == data["project_name"],
        Engagement.client_organisation == data["client_organisation"],
        ~Engagement.respondents.any(),
        ~Engagement.decisions.any(),
        ~Engagement.charter_versions.any(),
        Engagement.charter_drafted_at.is_(None),
    )
    details = {key: data[key] for key in EngagementSchema().fields}
    return next((e for e in db.session.scalars(query) if _engagement_form(e) == details), None)


@bp.get("/<int:engagement_id>")
def show(engagement_id: int) -> str:
    """Show an engagement: parties, respondents, their answers side by side, decisions."""
    engagement = owned_engagement(
        engagement_id, RESPONDENTS_WITH_LINKS, VERSIONS_WITH_SIGN_OFF_HISTORY
    )
    new_link = _new_link_to_show(engagement)
    respondents = engagement.submitted_respondents
    # Those a consensus combines come first, so each keeps on this page the colour the
    # consensus chart gives them; answers still being given follow.
    answered = respondents + [r for r in engagement.respondents if r.answers and not r.submitted_at]
    comparison = []
    for key in FACTOR_KEYS:
        levels = [r.answers.get(key) for r in answered]
        # Only what a consensus combines: answers still being given may yet change.
        given = [r.answers[key] for r in respondents if key in r.answers]
        spread = max(given) - min(given) if len(given) > 1 else 0
        comparison.append((key, levels, spread >= DISAGREEMENT))
    consensus = engagement.current_consensus
    # A gap the parties have settled on the consensus is no longer one to discuss.
    alignment = consensus.alignment if consensus is not None else None
    agreed_levels = dict(alignment.agreed) if alignment is not None else {}
    classes = ("series-a", "series-b", "series-c", "series-d")
    names = told_apart([(r.name, r.side) for r in answered])
    chart = radar(
        [(names[i], classes[i], r.answers) for i, r in enumerate(answered[: len(classes)])],
        left_out=names[len(classes) :],
    )
    return render_template(
        "web/engagements/show.html",
        engagement=engagement,
        new_link=new_link,
        answered=answered,
        answered_names=names,
        comparison=comparison,
        agreed_levels=agreed_levels,
        agreed_gaps=sum(1 for key, _, flag in comparison if flag and key in agreed_levels),
        disagreements=sum(1 for *_, flag in comparison if flag),
        chart=chart,
        series_classes=classes,
        submitted=len(respondents),
        submitted_people=respondents,
        # Who a stored decision rests on, read from the decisions loaded already.
        decided_respondents={d.respondent_id for d in engagement.decisions},
        consensus=consensus,
        carried=carried_over(engagement) if consensus is None and len(respondents) > 1 else None,
        carried_people=respondents,
        decision_of_record=engagement.decision_of_record,
        awaiting=signoff.awaiting_signature(db.session, engagement),
        stale_versions={
            v.id
            for v in engagement.charter_versions
            if v.sign_off.status in (SIGNOFF_PREPARING, SIGNOFF_PENDING)
            and signoff.is_stale(db.session, v)
        },
        no_consensus_because=why_no_consensus_now(engagement) if len(respondents) > 1 else None,
        pages=PAGES,
    )


# The details the edit form changes, each compared with what the form was opened with.
DETAILS = (
    "project_name",
    "client_organisation",
    "producer_name",
    "producer_role",
    "creator_name",
    "creator_role",
)


def _opened_with(form: Any) -> dict[str, str] | None:
    """Return the details as the edit form showed them when it was opened, if it says."""
    shown = opened_with(form.get("opened_with", ""))
    return shown if shown is not None and set(shown) == set(DETAILS) else None


def _changed_meanwhile(
    engagement: Engagement, data: dict[str, Any], shown: dict[str, str]
) -> dict[str, list[str]]:
    """Keep in ``data`` what someone else changed since the form was opened (another tab, the
    API) where the form left it as it was; return, as errors, each detail changed both here
    and there to different values."""
    both = changed_both_ways(shown, _engagement_form(engagement), data, DETAILS)
    return {
        key: [
            f"{as_now(now, 'Changed to')} since you opened this form. Save again to replace it "
            "with what is in the form."
        ]
        for key, now in both.items()
    }


def _edit_form(
    engagement: Engagement, form: Any, errors: dict[str, list[str]], opened_with: str
) -> str:
    return render_template(
        "web/engagements/form.html",
        engagement=engagement,
        form=form,
        errors=errors,
        opened_with=opened_with,
    )


@bp.route("/<int:engagement_id>/edit", methods=["GET", "POST"])
def edit(engagement_id: int) -> str | Response | tuple[str, int]:
    """Change the project, client or parties of an engagement."""
    engagement = owned_engagement(engagement_id, hold=request.method == "POST")
    refuse_if_archived(engagement)
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        form = _engagement_form(engagement)
        return _edit_form(engagement, form, {}, json.dumps(form))
    data, errors = load_form(EngagementSchema(), request.form)
    if errors:
        opened_with = request.form.get("opened_with", "")
        return _edit_form(engagement, request.form, errors, opened_with), 422
    shown = _opened_with(request.form)
    if shown is not None:
        conflicts = _changed_meanwhile(engagement, data, shown)
        if conflicts:
            # Sent again from this page, the form replaces what it now shows as current.
            form = {**request.form, **data}
            current = json.dumps(_engagement_form(engagement))
            return _edit_form(engagement, form, conflicts, current), 409
    _apply(engagement, data)
    engagement.updated_at = utcnow()
    db.session.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("engagements.show", engagement_id=engagement.id))


@bp.post("/<int:engagement_id>/archive")
def archive(engagement_id: int) -> Response:
    """Archive an engagement: it leaves the list and its invitation links stop opening."""
    engagement = owned_engagement(engagement_id, hold=True)
    if engagement.archived_at is None:
        engagement.archived_at = utcnow()
        db.session.commit()
    # The list no longer shows it: the notice is the way back, should it be archived by mistake.
    page = url_for("engagements.show", engagement_id=engagement.id)
    message = isolated(
        "“{}” is archived. Its invitation links no longer open.", engagement.project_name
    )
    flash(message + Markup(' You can restore it from <a href="%s">its page</a>.') % page, "info")
    return redirect(url_for("engagements.index"))


@bp.post("/<int:engagement_id>/restore")
def restore(engagement_id: int) -> Response:
    """Bring an archived engagement back to the list."""
    engagement = owned_engagement(engagement_id, hold=True)
    # A second click, or a tab from before it was restored, is no new activity to list it by.
    if engagement.archived_at is not None:
        engagement.archived_at = None
        engagement.updated_at = utcnow()
        db.session.commit()
    flash(isolated("“{}” is back in your engagements.", engagement.project_name), "success")
    return redirect(url_for("engagements.show", engagement_id=engagement.id))


@bp.route("/<int:engagement_id>/delete", methods=["GET", "POST"])
def delete(engagement_id: int) -> str | Response | tuple[str, int]:
    """Delete an archived engagement for good, with everything in it, once the consultant
    confirms; for one whose charter was signed, they confirm that the contract it is annexed
    to has ended by typing the project's name."""
    engagement = owned_engagement(engagement_id)
    signed = engagement.signed_at is not None
    refusal = deletion.why_not_deletable(engagement, contract_ended=signed)
    errors: dict[str, list[str]] = {}
    if refusal is None and request.method == "POST":  # HEAD too: it never reaches this
        name = engagement.project_name
        if signed and not shows_as(request.form.get("project_name", ""), name):
            errors["project_name"] = [NAME_NOT_TYPED]
        else:
            # Signed a moment ago, seen once its row is held: nobody confirmed the end of
            # the contract, so it is refused.
            refusal = deletion.delete_engagement(db.session, engagement, contract_ended=signed)
            if refusal is None:
                db.session.commit()
                flash(isolated("“{}” is deleted, with everything in it.", name), "success")
                return redirect(url_for("engagements.index"))
    if refusal is not None:
        page = render_template(
            "web/error.html",
            code=409,
            title="This engagement cannot be deleted",
            message=refusal,
            back=(url_for("engagements.show", engagement_id=engagement.id), "Open the engagement"),
        )
        return page, 409
    page = render_template(
        "web/engagements/delete.html",
        engagement=engagement,
        contents=deletion.contents(db.session, engagement),
        form=request.form,
        errors=errors,
    )
    return (page, 422) if errors else page


NAME_NOT_TYPED = "Type the project name exactly as it is shown, to confirm the contract has ended."


def _remember_link(
    engagement: Engagement,
    respondent: Respondent,
    token: str,
    *,
    replaces_working: bool = False,
    already_invited: bool = False,
) -> None:
    # Only the hash is stored, so the link is shown once, on the next page. The session
    # travels in a cookie, which a browser drops unseen past about 4 KB: it carries only the
    # token, encrypted, and the page finds the rest.
    session["new_link"] = {
        "engagement_id": engagement.id,
        "respondent_id": respondent.id,
        "token": sealed_for_session(token),
        "replaces_working": replaces_working,
        "already_invited": already_invited,
    }


def _new_link_to_show(engagement: Engagement) -> dict[str, Any] | None:
    """Return the link made by the request before, once, on its engagement's page only."""
    remembered = session.pop("new_link", None)
    if not remembered or remembered.get("engagement_id") != engagement.id:
        return None
    respondent = next(
        (r for r in engagement.respondents if r.id == remembered.get("respondent_id")), None
    )
    token = opened_from_session(remembered.get("token"))
    # A link replaced or revoked since, or gone with its respondent, would mislead.
    invitation = respondent.active_invitation if respondent else None
    if respondent is None or invitation is None or not invitation.matches(token):
        return None
    return {
        "name": respondent.name,
        "url": link_for("survey.start", token=token),
        # How long it works: the consultant says so when they send it.
        "until": link_end(invitation.expires_at),
        "replaces_working": remembered["replaces_working"],
        "already_invited": remembered.get("already_invited", False),
    }


def refuse_if_archived(engagement: Engagement) -> None:
    """Stop a change to an archived engagement with a page that says so (409)."""
    if engagement.archived_at is None:
        return
    page = render_template(
        "web/error.html",
        code=409,
        title="This engagement is archived",
        message="Nothing in it can be changed while it is archived. Restore it from its page "
        "to carry on.",
        back=(url_for("engagements.show", engagement_id=engagement.id), "Open the engagement"),
    )
    abort(make_response(page, 409))


@bp.route("/<int:engagement_id>/invitations/new", methods=["GET", "POST"])
def invite(engagement_id: int) -> str | Response | tuple[str, int]:
    """Invite a respondent: name, side and an optional expiry; the link is shown once."""
    engagement = owned_engagement(engagement_id, hold=request.method == "POST")
    refuse_if_archived(engagement)
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        # A party's name is filled in only for the side the link that opened the form names:
        # a name given for one side must never stay behind when the other is chosen.
        side = request.args.get("side")
        form: dict[str, str] = {}
        if side in PARTY_SIDES:
            party = engagement.party(side)
            form = {"side": side, "respondent_name": party.name if party else ""}
        return render_template(
            "web/engagements/invite.html", engagement=engagement, form=form, errors={}
        )
    data, errors = load_form(InvitationSchema(), request.form)
    if not errors:
        errors = _other_partys_name(engagement, data["respondent_name"], data["side"])
    invited = None
    if not errors:
        invited = already_invited(engagement, data["respondent_name"], data["side"])
        if invited is not None and (invited.answers or invited.submitted_at):
            message = (
                f"{{}} already answers for the {invited.side_label.lower()} here. To send them "
                "another link, use New link next to their name on the engagement page."
            )
            errors = {"respondent_name": [isolated(message, invited.name)]}
    if errors:
        return render_template(
            "web/engagements/invite.html", engagement=engagement, form=request.form, errors=errors
        ), 422
    expires_at = None
    if data["expires_on"] is not None:
        # The link works through the whole of the chosen day, in UTC.
        expires_at = datetime.combine(data["expires_on"] + timedelta(days=1), time(), UTC)
    respondent = invited
    if respondent is None:
        respondent = Respondent(name=data["respondent_name"], side=data["side"], answers={})
        engagement.respondents.append(respondent)
    token = respondent.issue_link(expires_at)
    engagement.updated_at = utcnow()
    db.session.commit()
    _remember_link(engagement, respondent, token, already_invited=invited is not None)
    return redirect(url_for("engagements.show", engagement_id=engagement.id) + "#new-link")


def _other_partys_name(engagement: Engagement, name: str, side: str) -> dict[str, list[str]]:
    """Refuse a respondent named after the other side's party: the name was left in the
    form when the side was changed, not meant (the form fills in a party's name)."""
    other = engagement.party(CREATOR if side == PRODUCER else PRODUCER)
    own = engagement.party(side)
    if other is None or not same_name(name, other.name):
        return {}
    if own is not None and same_name(name, own.name):
        return {}
    message = (
        f"{{}} is the {other.side_label.lower()}'s party: choose {other.side_label} as the "
        f"side, or enter the name of the person who answers for the {SIDE_LABELS[side].lower()}."
    )
    return {"respondent_name": [isolated(message, other.name)]}


def _invited_respondent(engagement: Engagement, respondent_id: int) -> Respondent:
    """Return the respondent who answers from a link; an intake session has none (404)."""
    respondent = owned_respondent(engagement, respondent_id)
    if respondent.facilitated:
        abort(404)
    return respondent


@bp.post("/<int:engagement_id>/respondents/<int:respondent_id>/link")
def new_link(engagement_id: int, respondent_id: int) -> Response:
    """Replace a respondent's link with a new one; the old one stops working."""
    engagement = owned_engagement(engagement_id, hold=True)
    refuse_if_archived(engagement)
    respondent = _invited_respondent(engagement, respondent_id)
    replaces_working = respondent.active_invitation is not None
    expires_at = respondent.renewed_expiry()
    token = respondent.issue_link(expires_at)
    db.session.commit()
    _remember_link(engagement, respondent, token, replaces_working=replaces_working)
    return redirect(url_for("engagements.show", engagement_id=engagement.id) + "#new-link")


@bp.post("/<int:engagement_id>/respondents/<int:respondent_id>/revoke")
def revoke(engagement_id: int, respondent_id: int) -> Response:
    """Stop a respondent's link from working."""
    engagement = owned_engagement(engagement_id, hold=True)
    refuse_if_archived(engagement)
    respondent = _invited_respondent(engagement, respondent_id)
    respondent.revoke_links()
    db.session.commit()
    flash(isolated("{}'s link no longer works.", respondent.name), "info")
    return redirect(url_for("engagements.show", engagement_id=engagement.id))


def _said(refusal: Refusal) -> Markup:
    """Word why a respondent stays for the page, their name set apart."""
    return about(refusal.sentence, refusal)


@bp.route("/<int:engagement_id>/respondents/<int:respondent_id>/remove", methods=["GET", "POST"])
def remove(engagement_id: int, respondent_id: int) -> str | Response:
    """Remove a respondent who has not submitted, with their saved answers and links, once
    the consultant confirms: one who will not answer no longer holds up the engagement."""
    engagement = owned_engagement(engagement_id, hold=request.method == "POST")
    refuse_if_archived(engagement)
    show = url_for("engagements.show", engagement_id=engagement.id)
    respondent = next((r for r in engagement.respondents if r.id == respondent_id), None)
    if respondent is None:  # a second click, or a page from before they were removed
        flash(_said(GONE), "info")
        return redirect(show)
    refusal = why_not_removable(respondent)
    if refusal:
        flash(_said(refusal), "info")
        return redirect(show)
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        return render_template(
            "web/engagements/remove.html",
            engagement=engagement,
            respondent=respondent,
            side_left=side_left_without(engagement, respondent),
        )
    name, facilitated = respondent.name, respondent.facilitated
    outcome = remove_respondent(
        db.session, respondent, current_user._get_current_object(), via=VIA_WEB
    )
    if isinstance(outcome, Refusal):
        flash(_said(outcome), "info")
        return redirect(show)
    db.session.commit()
    if facilitated:
        message = Markup("The unfinished intake session is removed, with its answers.")
    else:
        message = isolated(
            "{} is removed, with their saved answers; their link no longer opens.", name
        )
    if outcome.side_left:
        message += (
            f" Nobody answers for the {SIDE_LABELS[outcome.side_left].lower()} now: a "
            "consensus needs submitted answers from both sides."
        )
    flash(message, "success")
    return redirect(show)


@bp.post("/<int:engagement_id>/respondents/<int:respondent_id>/reopen")
def reopen(engagement_id: int, respondent_id: int) -> Response:
    """Unlock submitted answers so the respondent can change them."""
    engagement = owned_engagement(engagement_id, hold=True)
    refuse_if_archived(engagement)
    respondent = owned_respondent(engagement, respondent_id)
    outcome = reopen_answers(
        db.session, respondent, current_user._get_current_object(), via=VIA_WEB
    )
    if not isinstance(outcome, Refusal):
        db.session.commit()
    if respondent.facilitated:
        return redirect(
            url_for("engagements.facilitate", engagement_id=engagement.id, session=respondent.id)
        )
    if isinstance(outcome, Refusal):  # a second click, or a page from before they were reopened
        flash(_said(outcome), "info")
    elif respondent.active_invitation is None:
        # Revoked, expired or never sent: without a working link they cannot change anything.
        message = (
            "{}'s answers are open again, but they have no working link: use New link to "
            "send them one. It leads back to the review page."
        )
        flash(isolated(message, respondent.name), "success")
    else:
        flash(
            isolated(
                "{}'s answers are open again. Their link leads back to the review page.",
                respondent.name,
            ),
            "success",
        )
    return redirect(url_for("engagements.show", engagement_id=engagement.id))


@bp.route("/<int:engagement_id>/respondents/<int:respondent_id>/close", methods=["GET", "POST"])
def close(engagement_id: int, respondent_id: int) -> str | Response:
    """Lock reopened answers again as they were submitted, when the respondent will not
    submit again: the engagement's decision rests on them once more, and none is stored.
    Answers changed since reopening are shown first, and discarded only once seen."""
    engagement = owned_engagement(engagement_id, hold=request.method == "POST")
    refuse_if_archived(engagement)
    respondent = owned_respondent(engagement, respondent_id)
    show = url_for("engagements.show", engagement_id=engagement.id)
    here = url_for("engagements.close", engagement_id=engagement.id, respondent_id=respondent.id)
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        refusal = why_not_closable(respondent)
        if refusal is not None:  # a second click, or submitted meanwhile
            flash(_said(refusal), "info")
            return redirect(show)
        return render_template(
            "web/engagements/close.html",
            engagement=engagement,
            respondent=respondent,
            changes=changes_since_reopening(respondent),
            seen=answers_seen(respondent.answers),
        )
    seen = request.form.get("answers_seen")
    outcome = close_answers_again(
        db.session, respondent, current_user._get_current_object(), via=VIA_WEB, seen=seen
    )
    if isinstance(outcome, Refusal):
        flash(_said(outcome), "info")
        return redirect(show)
    if isinstance(outcome, Unseen):
        if seen is not None:  # the page showed other changes than those stored now
            message = (
                "{}'s answers changed again while the page was open. Nothing was discarded: "
                "check the changes below."
            )
            flash(about(message, respondent), "info")
        return redirect(here, code=303)
    db.session.commit()
    if outcome.action == ANSWERS_CLOSED:
        message = "{}'s answers are closed again as they were submitted. No new decision is stored."
    else:
        message = (
            "{}'s answers are closed again as they were submitted; the changes made since "
            "they were reopened are discarded. No new decision is stored."
        )
    flash(about(message, respondent), "success")
    return redirect(show)


def _open_session(engagement: Engagement, named: str | None = None) -> Respondent | None:
    """Return the facilitated session in progress that the page names (one reopened), else
    the newest one, if there is one."""
    sessions = [r for r in engagement.respondents if r.facilitated and not r.submitted_at]
    chosen = next((r for r in sessions if str(r.id) == named), None)
    return chosen or (sessions[-1] if sessions else None)


def _repeated_session(
    engagement: Engagement, form: Any, answers: dict[str, int]
) -> Respondent | None:
    """Return the finished session a post repeats: its form sent again from the browser's
    history, or a second click on a first session's button."""
    sessions = [r for r in engagement.respondents if r.facilitated]
    named = form.get("session", "new")
    if named != "new":
        return next((r for r in sessions if str(r.id) == named and r.submitted_at), None)
    if _open_session(engagement) is None and sessions and sessions[-1].answers == answers:
        return sessions[-1]
    return None


@bp.route("/<int:engagement_id>/session", methods=["GET", "POST"])
def facilitate(engagement_id: int) -> str | Response | tuple[str, int]:
    """Run the questionnaire with the client on one screen, in large type."""
    engagement = owned_engagement(engagement_id, hold=request.method == "POST")
    refuse_if_archived(engagement)
    # The page names its session: a finished one reopened may be older than another open one.
    named = request.form.get("session") if request.method == "POST" else request.args.get("session")
    respondent = _open_session(engagement, named)
    answers: dict[str, int] = dict(respondent.answers) if respondent else {}
    session_id = respondent.id if respondent else None
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        return render_template(
            "web/engagements/facilitate.html",
            engagement=engagement,
            answers=answers,
            errors={},
            pages=PAGES,
            session_id=session_id,
        )
    finish = request.form.get("action") == "decide"
    given, errors = load_answers_form(request.form, FACTOR_KEYS, required=False)
    merged = {**answers, **given}
    repeated = None if errors else _repeated_session(engagement, request.form, merged)
    if repeated is not None:
        flash("This session is already finished; its result is below.", "info")
        record = max(repeated.decisions, key=lambda d: d.id, default=None)
        if record is None:
            return redirect(url_for("engagements.show", engagement_id=engagement.id))
        return redirect(
            url_for("results.show", engagement_id=engagement.id, decision_id=record.id), code=303
        )
    if not errors and finish:
        errors = {key: ["Choose one of the five levels."] for key in missing(merged)}
    if errors:
        shown = {**merged, **_raw_levels(request.form)}
        return render_template(
            "web/engagements/facilitate.html",
            engagement=engagement,
            answers=shown,
            errors=errors,
            pages=PAGES,
            session_id=session_id,
        ), 422
    if respondent is None and not merged:
        # Saving a session before any answer would only list an empty one.
        flash("Nothing to save yet: choose a level for at least one question.", "info")
        return redirect(url_for("engagements.facilitate", engagement_id=engagement.id))
    if respondent is None:
        # Numbered from the second on: each session is one answer set of the consensus, and
        # its tables and charter tell them apart by name.
        earlier = sum(1 for r in engagement.respondents if r.facilitated)
        name = SESSION_NAME + (f" {earlier + 1}" if earlier else "")
        respondent = Respondent(name=name, side=JOINT, facilitated=True, answers={}, step=1)
        engagement.respondents.append(respondent)
    respondent.answers = merged
    engagement.updated_at = utcnow()
    if not finish:
        db.session.commit()
        flash("Session saved. You can come back to it from the engagement page.", "success")
        return redirect(
            url_for("engagements.facilitate", engagement_id=engagement.id, session=respondent.id)
        )
    respondent.submitted_at = utcnow()
    record = record_decision(
        db.session,
        engagement,
        decide(merged),
        respondent=respondent,
        consultant=current_user._get_current_object(),
        note="Facilitated session",
    )
    db.session.commit()
    if len(engagement.submitted_respondents) > 1:
        flash(
            "The session's answers join the consensus with the others' submitted answers: the "
            "engagement's decision is their consensus, decided on the engagement page.",
            "info",
        )
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=record.id), code=303
    )


@bp.get("/<int:engagement_id>/consensus")
def latest_consensus(engagement_id: int) -> Response:
    """Open the newest consensus decision, where the gaps and agreed values are shown."""
    engagement = owned_engagement(engagement_id)
    latest = engagement.latest_consensus
    if latest is None:
        blocker = why_no_consensus(engagement.submitted_respondents)
        flash(
            f"No consensus yet. {blocker}"
            if blocker
            else "No consensus yet: the submitted answers are ready to combine. Decide on "
            "their consensus under Answers side by side.",
            "info",
        )
        return redirect(url_for("engagements.show", engagement_id=engagement.id))
    return redirect(url_for("results.show", engagement_id=engagement.id, decision_id=latest.id))


@bp.post("/<int:engagement_id>/consensus")
def consensus(engagement_id: int) -> Response:
    """Decide on the consensus of the respondents' submitted answers, showing their gaps."""
    engagement = owned_engagement(engagement_id, hold=True)
    refuse_if_archived(engagement)
    blocker = why_no_consensus_now(engagement)
    if blocker:
        flash(blocker, "info")
        return redirect(url_for("engagements.show", engagement_id=engagement.id))
    decided = engagement.current_consensus
    if decided is not None:  # a second click, or nothing submitted since
        flash(f"These answers are already combined in decision #{decided.id}.", "info")
        return redirect(
            url_for("results.show", engagement_id=engagement.id, decision_id=decided.id), code=303
        )
    carried = carried_over(engagement)
    record = record_consensus(db.session, engagement, current_user._get_current_object())
    db.session.commit()
    if carried.agreed or carried.dropped:
        flash(_carried_message(carried), "info")
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=record.id), code=303
    )


def why_no_consensus_now(engagement: Engagement) -> Markup | str | None:
    """Say why the submitted answers cannot be combined now, answers reopened included."""
    if engagement.reopened:
        return Markup(REOPENED_BLOCK).format(respondent_names(engagement.reopened))
    return why_no_consensus(engagement.submitted_respondents)


def _levels(levels: dict[str, int]) -> str:
    return "; ".join(f"{BY_KEY[key].label.lower()} at {level}" for key, level in levels.items())


def _carried_message(carried: Carried) -> str:
    """Say what a new consensus kept of the one before it, and what it dropped."""
    source = f"decision #{carried.source.id}" if carried.source else "the last consensus"
    said = []
    if carried.agreed:
        said.append(
            f"Kept from {source}, where the answers are unchanged: {_levels(carried.agreed)}."
        )
    if carried.dropped:
        said.append(
            f"Dropped, since the answers they were agreed on changed: {_levels(carried.dropped)}. "
            "Agree them again where they still hold."
        )
    return " ".join(said)


def _raw_levels(form: Any) -> dict[str, Any]:
    """Return what was posted for each factor, to show it again next to its error."""
    return {key: form.get(key) for key in FACTOR_KEYS if form.get(key)}
