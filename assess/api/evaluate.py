"""Evaluate answers without an account: the same decision JSON as `assess evaluate`."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from assess.alignment import Respondent
from assess.api import ApiBlueprint, require_acceptable_answer, require_json_body
from assess.api.schemas import (
    AnswersSchema,
    DecisionSchema,
    RespondentsSchema,
    json_body,
    refusals,
)
from assess.engine import evaluate, evaluate_respondents
from assess.extensions import limiter

blp = ApiBlueprint(
    "evaluate",
    __name__,
    url_prefix="/api/v1/evaluate",
    description="Decide the partnership model for answers; no account needed, rate limited.",
)
blp.before_request(require_acceptable_answer)
blp.before_request(require_json_body)


def _evaluate_limit() -> str:
    return str(current_app.config["API_EVALUATE_RATE_LIMIT"])


# One budget for both routes: a client may not double its evaluations by alternating them.
limiter.shared_limit(_evaluate_limit, scope="evaluate")(blp)


@blp.route("", methods=["POST"])
@json_body(blp, AnswersSchema)
@blp.response(200, DecisionSchema)
@refusals(blp, "Too many evaluations from this address")
def evaluate_answers(answers: dict[str, int]) -> Response:
    """Decide the partnership model for one answer set.

    Send the eight factors, each an integer from 1 to 5. The answer is the decision document
    `assess evaluate` prints: the model and its components, the scores, the protocols with
    their parameters, the escalation ladder, the reasons and the tipping points. Nothing is
    stored.
    """
    # The decision is plain data already; serialising it again through the schema (which
    # documents it) would double the cost of the busiest route.
    return jsonify(evaluate(answers, what_if=True).to_dict())


@blp.route("/respondents", methods=["POST"])
@json_body(blp, RespondentsSchema)
@blp.response(200, DecisionSchema)
@refusals(blp, "Too many evaluations from this address")
def evaluate_together(data: dict[str, Any]) -> Response:
    """Decide on several respondents' answers together.

    At least one respondent on each side (producer and creator), each person listed once
    for their side (names compared whatever their case and spacing). The decision is made on the
    consensus of their answers, where a value in "consensus" replaces the computed one for
    its factor; its "alignment" shows each factor's gap, the consensus, the notes and each
    respondent's own result. Nothing is stored.
    """
    respondents = [Respondent(r["name"], r["side"], r["answers"]) for r in data["respondents"]]
    decision = evaluate_respondents(respondents, data["consensus"], data["notes"], what_if=True)
    return jsonify(decision.to_dict())
