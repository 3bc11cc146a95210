"""The result page for consultants: the decision explained, adjusted and stored again."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from assess.decision import Decision
from assess.extensions import db
from assess.factors import FACTOR_KEYS
from assess.forms import load_answers_form
from assess.models import DecisionRecord, Engagement, utcnow
from assess.questionnaire import (
    current_rules_version,
    decide,
    record_decision,
    respondents_of,
)
from assess.radar import radar
from assess.views.auth import require_consultant
from assess.views.engagements import MAX_ID, owned_engagement

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
    series: list[tuple[str, str, Mapping[str, int]]] = []
    if baseline is not None:
        series.append(("Stored answers", "series-b", baseline.answers))
    elif decision.alignment is not None:
        # A consensus is drawn over each partner's own answers, so the gaps show; past
        # three partners the chart would be unreadable, and the table lists them all.
        people = respondents_of(decision.alignment)[:3]
        for person, css in zip(people, ("series-b", "series-c", "series-d"), strict=False):
            series.append((person.name, css, person.answers))
    series.append(("Consensus" if decision.alignment else "Answers", "series-a", decision.answers))
    tipping = [(t.factor, t.to_level, t.sentence()) for t in decision.what_if or ()]
    return radar(series, tipping)


@bp.get("/<int:decision_id>")
def show(engagement_id: int, decision_id: int) -> str | tuple[str, int]:
    """Show a stored decision; with adjusted answers in the query, preview the new one."""
    engagement = owned_engagement(engagement_id)
    record = owned_decision(engagement, decision_id)
    stored = record.decision
    preview: Decision | None = None
    errors: dict[str, list[str]] = {}
    adjusted = dict(stored.answers)
    if request.args.get("adjust"):
        given, errors = load_answers_form(request.args, FACTOR_KEYS, required=True)
        if not errors:
            adjusted = given
            preview = decide(given, based_on=stored) if given != stored.answers else None
        else:
            adjusted = {**stored.answers}
    shown = preview or stored
    status = 422 if errors else 200
    page = render_template(
        "web/results/show.html",
        engagement=engagement,
        record=record,
        decision=shown,
        stored=stored,
        preview=preview,
        adjusted=adjusted,
        errors=errors,
        chart=chart_for(shown, stored if preview else None),
        consultant_view=True,
        outdated=stored.rules_version != current_rules_version(),
    )
    return (page, status) if errors else page


@bp.post("/<int:decision_id>/confirm")
def confirm(engagement_id: int, decision_id: int) -> str | Response | tuple[str, int]:
    """Store the adjusted answers as a new decision snapshot."""
    engagement = owned_engagement(engagement_id)
    record = owned_decision(engagement, decision_id)
    if engagement.archived_at is not None:
        abort(409)
    given, errors = load_answers_form(request.form, FACTOR_KEYS, required=True)
    stored = record.decision
    if errors:
        return render_template(
            "web/results/show.html",
            engagement=engagement,
            record=record,
            decision=stored,
            stored=stored,
            preview=None,
            adjusted={**stored.answers},
            errors=errors,
            chart=chart_for(stored),
            consultant_view=True,
            outdated=stored.rules_version != current_rules_version(),
        ), 422
    if given == stored.answers:
        flash("The answers are unchanged, so no new decision was stored.", "info")
        return redirect(url_for("results.show", engagement_id=engagement.id, decision_id=record.id))
    changed = [k for k in FACTOR_KEYS if given[k] != stored.answers.get(k)]
    new = record_decision(
        db.session,
        engagement,
        decide(given, based_on=stored),
        respondent=None,
        consultant=current_user._get_current_object(),
        note=f"Adjusted from decision #{record.id} ({len(changed)} answer"
        f"{'' if len(changed) == 1 else 's'} changed)",
    )
    engagement.updated_at = utcnow()
    db.session.commit()
    flash("The adjusted decision is stored. The earlier one is kept unchanged.", "success")
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=new.id), code=303
    )


@bp.post("/<int:decision_id>/reevaluate")
def reevaluate(engagement_id: int, decision_id: int) -> Response:
    """Decide the same answers again with the current rules, as a new snapshot."""
    engagement = owned_engagement(engagement_id)
    record = owned_decision(engagement, decision_id)
    if engagement.archived_at is not None:
        abort(409)
    stored = record.decision
    if stored.rules_version == current_rules_version():
        flash("This decision already uses the current rules.", "info")
        return redirect(url_for("results.show", engagement_id=engagement.id, decision_id=record.id))
    if stored.alignment is not None:
        fresh = decide(stored.answers, based_on=stored)
    else:
        fresh = decide(stored.answers)
    new = record_decision(
        db.session,
        engagement,
        fresh,
        respondent=record.respondent,
        consultant=current_user._get_current_object(),
        note=f"Decision #{record.id} re-evaluated with the current rules",
    )
    engagement.updated_at = utcnow()
    db.session.commit()
    flash("Re-evaluated with the current rules. The earlier decision is kept unchanged.", "success")
    return redirect(
        url_for("results.show", engagement_id=engagement.id, decision_id=new.id), code=303
    )
