"""The result page for consultants: the decision explained, adjusted and stored again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from assess import consensus, signoff
from assess.alignment import told_apart
from assess.decision import Decision
from assess.extensions import db
from assess.factors import BY_KEY, FACTOR_KEYS
from assess.forms import load_answers_form
from assess.models import JOINT, MAX_ID, DecisionRecord, Engagement, utcnow
from assess.questionnaire import (
    carried_over,
    current_rules_version,
    decide,
    record_decision,
    why_no_consensus,
)
from assess.radar import radar
from assess.views.auth import require_consultant
from assess.views.engagements import owned_engagement, refuse_if_archived
from assess.views.template_helpers import isolated

bp = Blueprint("results", __name__, url_prefix="/engagements/<int:engagement_id>/decisions")


# Every page here is for signed-in consultants.
bp.before_request(require_consultant)


def owned_decision(engagement: Engagement, decision_id: int) -> DecisionRecord:
    """Return a stored decision of this engagement, or 404."""
    record = db.session.get(DecisionRecord, decision_id) if decision_id <= MAX_ID else None
    if record is None or record.engagement_id != engagement.id:
        abort(404)
    return record


def chart_for(decision: Decision, baseline: Decision | None = None) -> object:
    """Lay out the radar for a decision, with the stored answers behind a preview."""
    series: list[tuple[tuple[str, str], str, Mapping[str, int]]] = []
    left_out: list[tuple[str, str]] = []
    if baseline is not None:
        series.append((("Stored answers", ""), "series-b", baseline.answers))
    elif decision.alignment is not None:
        # A consensus is drawn over each partner's own answers, so the gaps show; past
        # three partners the chart would be unreadable, and the table lists them all.
        # Partners keep the colours the engagement page gives them, in the same order
        # (those still answering come after them there).
        people = decision.alignment.answer_sets()
        names = told_apart([(person.name, person.side) for person in people])
        styles = ("series-a", "series-b", "series-c")
        for name, css, person in zip(names, styles, people, strict=False):
            series.append((name, css, person.answers))
        left_out = names[3:]
    if decision.alignment is not None and baseline is None:
        series.append((("Consensus", ""), "series-consensus", decision.answers))
    else:
        series.append((("Answers", ""), "series-a", decision.answers))
    tipping = [(t.factor, t.to_level, t.sentence()) for t in decision.what_if or ()]
    return radar(series, tipping, left_out)


def agree_labels(first_factor: str) -> dict[str, tuple[str, str]]:
    """Name each field of the agreed-values form and where its summary link goes: a group
    of choices to its first choice, as the questionnaire's summary does."""
    return {
        "factor": ("Factor", f"agree-factor-{first_factor}"),
        "value": ("Agreed level", "agree-value-1"),
        "note": (consensus.REASON_LABEL, "agree-note"),
    }


def moved_since(engagement: Engagement, record: DecisionRecord) -> list[consensus.Moved]:
    """Say how the submitted answers moved away from those a consensus decision combines
    (empty for a consensus of the answers as they stand, and for any other decision).

    Answers that moved and came back after a consensus was decided on them count as moved:
    building on this older decision would drop what was agreed on that one."""
    alignment = record.alignment
    if alignment is None:
        return []
    moved = consensus.moved_since(alignment, engagement.respondents)
    latest = engagement.latest_consensus
    if not moved and latest is not None and latest.id > record.id:
        if latest.answer_sets_digest != record.answer_sets_digest:
            return [consensus.Moved("", "returned", decided_since=latest.id)]
    return moved


def said(moved: consensus.Moved) -> Markup:
    """Say how a respondent's answers moved, a person's name isolated as they typed it."""
    if moved.side == JOINT:
        return Markup.escape(moved.sentence())
    return isolated(moved.pattern(), moved.name)


def standing(engagement: Engagement, record: DecisionRecord) -> dict[str, Any]:
    """Say whether this is the engagement's decision and, if not, which one is."""
    of_record = engagement.decision_of_record
    moved = moved_since(engagement, record)
    submitted = engagement.submitted_respondents
    return {
        "of_record": of_record,
        "is_of_record": of_record is not None and of_record.id == record.id,
        "moved": [said(m) for m in moved],
        # Deciding anew: what it would keep of the agreed values, or why it cannot yet.
        "carried": carried_over(engagement) if moved else None,
        "no_consensus_because": why_no_consensus(submitted) if moved else None,
        "current_consensus": engagement.current_consensus,
        "submitted": submitted,
    }


def refuse_if_outdated(engagement: Engagement, record: DecisionRecord) -> None:
    """Stop an agreement, adjustment or re-evaluation of a consensus whose answers have
    changed since, with a page that says so (409): it would build on answers that no
    longer stand, and nothing would make it the engagement's decision."""
    moved = moved_since(engagement, record)
    if not moved:
        return
    current = engagement.current_consensus
    if current is not None:
        back = (
            url_for("results.show", engagement_id=engagement.id, decision_id=current.id),
            f"Open the current consensus (#{current.id})",
        )
    else:
        back = (
            url_for("engagements.show", engagement_id=engagement.id) + "#compare-title",
            "Decide on the consensus anew",
        )
    changes = Markup(" ").join(said(m) for m in moved)
    page = render_template(
        "web/error.html",
        code=409,
        title="This consensus is out of date",
        message=Markup(
            "The answers that decision #{} combines have changed since it was decided. {} "
            "Nothing was stored: agreed values and adjustments are recorded on a consensus "
            "of the answers as they stand."
        ).format(record.id, changes),
        back=back,
    )
    abort(make_response(page, 409))


def agreement(
    engagement: Engagement,
    record: DecisionRecord,
    form: Mapping[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Collect what the agreed-values form and the consensus history show."""
    alignment = record.decision.alignment
    if alignment is None:
        return {"agree": None}
    chosen = request.args.get("agree", "")
    if chosen not in BY_KEY:
        open_gaps = [k for k in alignment.significant if k not in alignment.agreed]
        chosen = (open_gaps or alignment.by_gap())[0]
    latest = engagement.latest_consensus
    return {
        "agree": {
            "form": form if form is not None else {"factor": chosen},
            "errors": errors or {},
            "labels": agree_labels(alignment.by_gap()[0]),
            "history": consensus.history(d for d in engagement.decisions if d.id <= record.id),
            "latest": latest if latest is not None and latest.id > record.id else None,
            "note_max": consensus.NOTE_MAX,
        }
    }


def kept_answers(form: Mapping[str, Any], errors: Mapping[str, list[str]]) -> dict[str, int]:
    """Return the levels of a refused form that were valid, so the form shows what was sent;
    a refused level is left unchosen rather than shown as the stored one."""
    kept, _ = load_answers_form(form, [k for k in FACTOR_KEYS if k not in errors], required=True)
    return kept


def reason_labels(changed: list[str], adjusted: Mapping[str, int]) -> dict[str, tuple[str, str]]:
    """Name each reason asked for when adjusted consensus answers are stored."""
    return {
        consensus.note_field(key): (
            f"Reason for {BY_KEY[key].label.lower()} at {adjusted[key]}",
            consensus.note_field(key),
        )
        for key in changed
    }


def result_page(
    engagement: Engagement,
    record: DecisionRecord,
    *,
    preview: Decision | None = None,
    adjusted: Mapping[str, int] | None = None,
    errors: dict[str, list[str]] | None = None,
    agree_form: Mapping[str, str] | None = None,
    agree_errors: dict[str, list[str]] | None = None,
    reasons: Mapping[str, str] | None = None,
    reason_errors: dict[str, list[str]] | None = None,
) -> str:
    """Render a stored decision's page; a preview of adjusted answers is shown over it."""
    stored = record.decision
    shown = preview or stored
    adjusted = adjusted if adjusted is not None else dict(stored.answers)
    # On a consensus, each adjusted level is stored as agreed, with its reason.
    changed = (
        [k for k in FACTOR_KEYS if adjusted.get(k) != stored.answers.get(k)]
        if preview is not None and stored.alignment is not None
        else []
    )
    return render_template(
        "web/results/show.html",
        engagement=engagement,
        record=record,
        decision=shown,
        stored=stored,
        preview=preview,
        adjusted=adjusted,
        errors=errors or {},
        chart=chart_for(shown, stored if preview else None),
        consultant_view=True,
        outdated=stored.rules_version != current_rules_version(),
        # Only a decision that would be the engagement's can stop a sign-off.
        awaiting=signoff.awaiting_signature(db.session, engagement)
        if engagement.decides_anew(record)
        else None,
        reasons_asked=changed,
        reasons=reasons or {},
        reason_errors=reason_errors or {},
        reason_labels=reason_labels(changed, adjusted),
        reason_max=consensus.NOTE_MAX,
        standing=standing(engagement, record),
        **agreement(engagement, record, agree_form, agree_errors),
    )


@bp.get("/<int:decision_id>")
def show(engagement_id: int, decision_id: int) -> str | tuple[str, int]:
    """Show a stored decision; with adjusted answers in the query, preview the new one."""
    engagement = owned_engagement(engagement_id)
    record = owned_decision(engagement, decision_id)
    stored = record.decision
    preview: Decision | None = None
    errors: dict[str, list[str]] = {}
    adjusted: dict[str, int] | None = None  # the stored answers
    if request.args.get("adjust"):
        given, errors = load_answers_form(request.args, FACTOR_KEYS, required=True)
        if errors:
            adjusted = kept_answers(request.args, errors)
        else:
            adjusted = given
            preview = decide(given, based_on=stored) if given != stored.answers else None
    page = result_page(engagement, record, preview=preview, adjusted=adjusted, errors=errors)
    return (page, 422) if errors else page


def _stored_already(
    engagement: Engagement, note: str, answers: dict[str, int]
) -> DecisionRecord | None:
    """Return the snapshot a post already stored (a button pressed twice, or a form sent
    again from the browser's history): same origin, same answers, current rules."""
    version = current_rules_version()
    return next(
        (
            d
            for d in engagement.decisions
            if d.note == note and d.answers == answers and d.rules_version == version
        ),
        None,
    )


@bp.post("/<int:decision_id>/confirm")
def confirm(engagement_id: int, decision_id: int) -> str | Response | tuple[str, int]:
    """Store the adjusted answers as a new decision snapshot."""
    engagement = owned_engagement(engagement_id, hold=True)
    record = owned_decision(engagement, decision_id)
    refuse_if_archived(engagement)
    refuse_if_outdated(engagement, record)
    given, errors = load_answers_form(request.form, FACTOR_KEYS, required=True)
    stored = record.decision
    if errors:
        kept = kept_answers(request.form, errors)
        return result_page(engagement, record, adjusted=kept, errors=errors), 422
    if given == stored.answers:
        flash("The answers are unchanged, so no new decision was stored.", "info")
        return redirect(url_for("results.show", engagement_id=engagement.id, decision_id=record.id))
    if stored.alignment is not None:
        return _store_agreed(engagement, record, given)
    changed = [k for k in FACTOR_KEYS if given[k] != stored.answers.get(k)]
    note = (
        f"Adjusted from decision #{record.id} ({len(changed)} answer"
        f"{'' if len(changed) == 1 else 's'} changed)"
    )
    done = _stored_already(engagement, note, given)
    if done is not None:
        flash("These adjusted answers are already stored: this is their decision.", "info")
        return redirect(
            url_for("results.show", engagement_id=engagement.id, decision_id=done.id), code=303
        )
    new = record_decision(
        db.session,
        engagement,
        decide(given, based_on=stored),
        respondent=None,
        consultant=current_user._get_current_object(),
        note=note,
    )
    engagement.updated_at = utcnow()
    db.session.commit()
    of_record = engagement.decision_of_record
    if of_record is None or of_record.id == new.id:
        flash("The adjusted decision is stored. The earlier one is kept unchanged.", "success")
    else:
        flash(
            f"The adjusted answers are stored as decision #{new.id}, a what-if: the "
            f"engagement's decision is still #{of_record.id}.",
            "success",
        )
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=new.id), code=303
    )


def _store_agreed(
    engagement: Engagement, record: DecisionRecord, given: dict[str, int]
) -> Response | tuple[str, int]:
    """Store adjusted consensus answers as values agreed after discussion: each changed
    level with the reason the parties gave, as the agreed-value form records one."""
    stored = record.decision
    assert stored.alignment is not None
    agreements, problems = consensus.load_reasons(request.form, stored.alignment, given)
    if problems:
        page = result_page(
            engagement,
            record,
            preview=decide(given, based_on=stored),
            adjusted=given,
            reasons=request.form,
            reason_errors=problems,
        )
        return page, 422
    return _store_consensus(
        engagement,
        record,
        consensus.agree(stored, *agreements),
        consensus.summaries(agreements, stored.alignment),
        "The agreed values are",
    )


def _store_consensus(
    engagement: Engagement, record: DecisionRecord, proposed: Decision, note: str, what: str
) -> Response:
    """Store agreed values as a new consensus decision, unless the same form was sent twice
    and stored them already; ``what`` names them in the message ("The agreed value is")."""
    latest = engagement.latest_consensus
    if latest is not None and latest.id != record.id:
        if consensus.same_agreement(latest.decision, proposed):  # the form sent twice
            flash(f"{what} already stored as decision #{latest.id}.", "info")
            return redirect(
                url_for("results.show", engagement_id=engagement.id, decision_id=latest.id)
                + "#agree-title",
                code=303,
            )
    new = record_decision(
        db.session,
        engagement,
        proposed,
        consultant=current_user._get_current_object(),
        note=note,
    )
    engagement.updated_at = utcnow()
    db.session.commit()
    flash(f"{what} stored as a new decision. The earlier one is kept.", "success")
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=new.id) + "#agree-title",
        code=303,
    )


def unchanged(change: consensus.Agreement) -> str:
    """Say what already stands when an agreement changes nothing."""
    label = BY_KEY[change.factor].label
    if change.value is not None:
        stands = f"{label} is already agreed at {change.value} with that reason"
    elif change.note:
        stands = f"{label} already rests on the cautious middle with that reason"
    else:
        stands = f"{label} already rests on the cautious middle, with no reason given"
    return f"{stands}, so nothing new was stored."


@bp.post("/<int:decision_id>/agree")
def agree(engagement_id: int, decision_id: int) -> str | Response | tuple[str, int]:
    """Store a value agreed after discussion, with its note, as a new consensus decision."""
    engagement = owned_engagement(engagement_id, hold=True)
    record = owned_decision(engagement, decision_id)
    refuse_if_archived(engagement)
    stored = record.decision
    if stored.alignment is None:
        abort(404)
    refuse_if_outdated(engagement, record)
    change, errors = consensus.load_agreement(request.form)
    if change is None:
        return result_page(engagement, record, agree_form=request.form, agree_errors=errors), 422
    here = url_for("results.show", engagement_id=engagement.id, decision_id=record.id)
    if not consensus.changes(stored.alignment, change):
        flash(unchanged(change), "info")
        return redirect(f"{here}#agree-title", code=303)
    return _store_consensus(
        engagement,
        record,
        consensus.agree(stored, change),
        consensus.summary(change, stored.alignment),
        "The agreed value is",
    )


@bp.post("/<int:decision_id>/reevaluate")
def reevaluate(engagement_id: int, decision_id: int) -> Response:
    """Decide the same answers again with the current rules, as a new snapshot."""
    engagement = owned_engagement(engagement_id, hold=True)
    record = owned_decision(engagement, decision_id)
    refuse_if_archived(engagement)
    stored = record.decision
    refuse_if_outdated(engagement, record)
    if stored.rules_version == current_rules_version():
        flash("This decision already uses the current rules.", "info")
        return redirect(url_for("results.show", engagement_id=engagement.id, decision_id=record.id))
    note = f"Decision #{record.id} re-evaluated with the current rules"
    done = _stored_already(engagement, note, stored.answers)
    if done is not None:
        flash(f"Decision #{record.id} is already re-evaluated: this is the result.", "info")
        return redirect(
            url_for("results.show", engagement_id=engagement.id, decision_id=done.id), code=303
        )
    if stored.alignment is not None:
        fresh = decide(stored.answers, based_on=stored)
    else:
        fresh = decide(stored.answers)
    # Answers the respondent has since resubmitted or reopened are no longer theirs: the new
    # snapshot then belongs to the engagement only, so the respondent's own result, and the
    # answers closing again would restore, stay their latest submitted ones.
    respondent = record.respondent
    if respondent is not None and not (respondent.locked and respondent.answers == stored.answers):
        respondent = None
    new = record_decision(
        db.session,
        engagement,
        fresh,
        respondent=respondent,
        consultant=current_user._get_current_object(),
        note=note,
    )
    engagement.updated_at = utcnow()
    db.session.commit()
    flash("Re-evaluated with the current rules. The earlier decision is kept unchanged.", "success")
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=new.id), code=303
    )
