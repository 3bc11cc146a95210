"""schemathesis against the live OpenAPI document: no server errors, every response conforms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apitools import bearer, make_token, sign
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import positive_data_acceptance
from webtools import ANSWERS, make_consultant

from assess import create_app
from assess.extensions import db as database
from assess.models import Engagement, Party, Respondent

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def fuzz_app(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for the whole module, with a consultant who owns engagement, respondent, decision."""
    import shutil

    if migrated_database.startswith("postgresql"):
        url = migrated_database
    else:
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
        shutil.copyfile(migrated_database, path)
        url = f"sqlite:///{path}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "fuzz",
            "DATABASE_URL": url,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 1024,
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    consultant = make_consultant(app, "fuzz@example.com", "Fuzz")
    with app.app_context():
        engagement = Engagement(
            consultant_id=consultant, project_name="Fuzz", client_organisation="Fuzz Ltd"
        )
        engagement.parties.extend(
            [Party(side="producer", name="P", role=""), Party(side="creator", name="C", role="")]
        )
        engagement.respondents.append(Respondent(name="R", side="producer", answers=ANSWERS))
        database.session.add(engagement)
        database.session.commit()
    app.config["FUZZ_TOKEN"] = make_token(app, consultant)
    yield app
    with app.app_context():
        if url.startswith("postgresql"):
            from sqlalchemy import text

            from assess.models import Base

            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            with database.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        database.engine.dispose()
    Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True) if url.startswith(
        "sqlite"
    ) else None


class Target:
    """A WSGI app that forwards to the app under test, set once the database exists."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


# The document is read when the module loads; it does not touch the database.
target = Target(create_app({"TESTING": True, "SECRET_KEY": "spec", "DATABASE_URL": "sqlite://"}))
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", target)
# A body over the size limit (a hundred respondents with long names) is refused as such.
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "413"]
# A valid change sent with an If-Match other than the current ETag is refused as out of
# date: the 412 it gets is the right answer, which no document can rule out beforehand.
acceptance = schema.config.checks.positive_data_acceptance
acceptance.expected_statuses = [*acceptance.expected_statuses, "412"]


@pytest.fixture(autouse=True, scope="module")
def route_to_fuzz_app(fuzz_app: Flask) -> Iterator[None]:
    spec_app = target.app
    target.app = fuzz_app
    yield
    target.app = spec_app


# Rules that JSON Schema cannot state: a respondent on each side, each person once, every
# factor answered before submitting, a charter only from details that can make one. Their
# 422s are correct, so "valid data must be accepted" does not apply.
CROSS_FIELD = {
    ("POST", "/api/v1/evaluate/respondents"),
    ("POST", "/api/v1/engagements/{engagement_id}/respondents/{respondent_id}/submit"),
    # The engagement's stored details, as an earlier request left them, may not make a
    # charter (a name with characters its fonts lack): refused until they are corrected.
    ("GET", "/api/v1/engagements/{engagement_id}/decisions/{decision_id}/charter.pdf"),
    # Names the charter prints: a character none of its fonts has is refused as it is sent.
    ("POST", "/api/v1/engagements"),
    ("PATCH", "/api/v1/engagements/{engagement_id}"),
    ("POST", "/api/v1/engagements/{engagement_id}/respondents"),
}


def cross_field_rules(case: schemathesis.Case) -> list[Any]:
    if (case.method.upper(), case.path) in CROSS_FIELD:
        return [positive_data_acceptance]
    return []


# One test per operation, parametrised here with explicit ids: schemathesis's own pytest
# items share one node id under this pytest, and xdist then ran only one of them.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sendable(case: schemathesis.Case) -> bool:
    """Whether the address can carry what was generated. A query argument with no value (an
    empty list) is left out of it, and one given as a list of one value reads exactly as
    that value: a negative case whose only fault was of this kind reaches the API as a valid
    request, rightly answered 200. (A list of two is the argument given twice, refused.)"""
    return not any(
        value is None or (isinstance(value, list) and len(value) < 2)
        for value in (case.query or {}).values()
    )


def conforms(operation: APIOperation, headers: dict[str, str] | None = None) -> None:
    """Valid and invalid requests alike: no server error, every response as documented."""
    cases = st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode)).filter(sendable)

    @FUZZ
    @given(case=cases)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=cross_field_rules(case))

    check()


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 15
    assert len({operation.label for operation in OPERATIONS}) == len(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_api_conforms_without_a_token(operation: APIOperation) -> None:
    conforms(operation)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_api_conforms_with_a_token(operation: APIOperation, fuzz_app: Flask) -> None:
    conforms(operation, bearer(fuzz_app.config["FUZZ_TOKEN"]))


def test_a_whole_workflow_conforms(fuzz_app: Flask) -> None:
    """The fuzzing above mostly meets ids that do not exist: here every operation answers on
    objects created one after the other, and each answer must be the documented one."""
    headers = bearer(fuzz_app.config["FUZZ_TOKEN"])
    seen: set[tuple[str, str]] = set()

    def call(method: str, path: str, body: Any = None, status: int = 0, **ids: int) -> Any:
        """Call an operation; it must succeed, or answer ``status`` when one is given."""
        operation = schema[path][method]
        if body is None:
            case = operation.Case(path_parameters=ids)
        else:
            case = operation.Case(path_parameters=ids, body=body)
        response = case.call_and_validate(headers=headers)
        if status:
            assert response.status_code == status, (method, path, response.text)
        else:
            assert response.status_code < 300, (method, path, response.text)
        seen.add((method, path))
        if response.status_code == 204:
            return None
        return response.json() if "json" in response.headers["content-type"][0] else None

    engagements = "/api/v1/engagements"
    engagement = f"{engagements}/{{engagement_id}}"
    respondent = f"{engagement}/respondents/{{respondent_id}}"
    decision = f"{engagement}/decisions/{{decision_id}}"
    call("POST", "/api/v1/evaluate", ANSWERS)
    together = [
        {"name": "P", "side": "producer", "answers": ANSWERS},
        {"name": "C", "side": "creator", "answers": {**ANSWERS, "innovation": 1}},
    ]
    call("POST", "/api/v1/evaluate/respondents", {"respondents": together})
    created = {
        "project_name": "W",
        "client_organisation": "W",
        "producer_name": "P",
        "creator_name": "C",
    }
    eid = call("POST", engagements, created)["id"]
    call("GET", engagements)
    call("GET", engagement, engagement_id=eid)
    call("PATCH", engagement, {"creator_role": "Director"}, engagement_id=eid)
    rids = []
    for person in together:
        invited = call(
            "POST",
            f"{engagement}/respondents",
            {"name": person["name"], "side": person["side"], "expires_in_days": 30},
            engagement_id=eid,
        )
        rid = invited["respondent"]["id"]
        rids.append(rid)
        call(
            "PUT",
            f"{respondent}/answers",
            {"answers": person["answers"]},
            engagement_id=eid,
            respondent_id=rid,
        )
        call(
            "POST",
            f"{respondent}/invitation",
            {"expires_in_days": 7},
            engagement_id=eid,
            respondent_id=rid,
        )
        call("GET", respondent, engagement_id=eid, respondent_id=rid)
        call("POST", f"{respondent}/submit", engagement_id=eid, respondent_id=rid)
        call("DELETE", f"{respondent}/invitation", engagement_id=eid, respondent_id=rid)
    # Submitted answers reopened and changed, then closed again as they were submitted once
    # the changes were seen (the 409 lists them).
    first = {"engagement_id": eid, "respondent_id": rids[0]}
    call("POST", f"{respondent}/reopen", **first)
    call("PUT", f"{respondent}/answers", {"answers": {"innovation": 1}}, **first)
    unseen = call("POST", f"{respondent}/close", {}, status=409, **first)
    call("POST", f"{respondent}/close", {"answers_seen": unseen["answers_seen"]}, **first)
    # Someone invited who will not answer is removed.
    gone = call(
        "POST", f"{engagement}/respondents", {"name": "G", "side": "creator"}, engagement_id=eid
    )
    call("DELETE", respondent, engagement_id=eid, respondent_id=gone["respondent"]["id"])
    call("GET", f"{engagement}/history", engagement_id=eid)
    call("GET", f"{engagement}/respondents", engagement_id=eid)
    did = call("POST", f"{engagement}/decisions", engagement_id=eid)["id"]
    call("GET", f"{engagement}/decisions", engagement_id=eid)
    call("GET", decision, engagement_id=eid, decision_id=did)
    call("GET", f"{decision}/charter.pdf", engagement_id=eid, decision_id=did)
    call("GET", f"{engagement}/signoff", engagement_id=eid)
    sign(fuzz_app, eid)
    call("GET", f"{engagement}/signoff", engagement_id=eid)
    call("GET", f"{engagement}/versions/{{number}}/signed.pdf", engagement_id=eid, number=1)
    # A signed engagement is kept once archived; another, unsigned, is deleted for good.
    call("PATCH", engagement, {"archived": True}, engagement_id=eid)
    call("DELETE", engagement, status=409, engagement_id=eid)
    spare = call("POST", engagements, created)["id"]
    call("PATCH", engagement, {"archived": True}, engagement_id=spare)
    call("DELETE", engagement, engagement_id=spare)
    call("GET", engagement, status=404, engagement_id=spare)
    assert seen == {(o.method.upper(), o.path) for o in OPERATIONS}
