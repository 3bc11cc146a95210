"""An engagement's status along a consultant's whole journey, the same wherever it is shown:
the engagement itself, its list entry, its page and the API."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from apitools import bearer, make_token, web_and_api
from flask import Flask
from flask.testing import FlaskClient
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    Setup,
    approve,
    details_for_tests,
    freeze,
    seal_key_files,
    send,
    shared_seal_key,
)
from webtools import (
    ANSWERS,
    answer_through_link,
    create_engagement,
    expire_invitation,
    invite,
    invited_pair,
    make_consultant,
    of_record,
    post,
    respondent_id,
    statements_sent,
    visible_text,
)

from assess import charter, signoff
from assess.engine import evaluate
from assess.extensions import db
from assess.models import STATUSES, Consultant, Engagement, Respondent, utcnow
from assess.questionnaire import PAGES, record_decision

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]


def shown(app: Flask, client: FlaskClient, engagement_id: int, *, archived: bool = False) -> str:
    """Return the engagement's status after checking that every place agrees on it."""
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        status = engagement.status
    assert status in STATUSES
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    badge = re.search(r'<span class="status status-large ([\w-]+)">([^<]+)</span>', page)
    assert badge is not None
    assert badge.groups() == ("status-" + status.replace(" ", "-"), status.capitalize())
    listing = client.get("/engagements?archived=1" if archived else "/engagements")
    entry = listing.get_data(as_text=True).split(f'href="/engagements/{engagement_id}"')[1]
    assert re.search(r'<span class="status ([\w-]+)">', entry).group(1) == badge.group(1)  # type: ignore[union-attr]
    with app.app_context():
        consultant_id = db.session.get(Engagement, engagement_id).consultant_id  # type: ignore[union-attr]
    api = app.test_client()
    headers = bearer(make_token(app, consultant_id, can_write=False))
    base = f"/api/v1/engagements/{engagement_id}"
    assert api.get(base, headers=headers).json["status"] == status
    assert api.get(f"{base}/signoff", headers=headers).json["status"] == status
    listed = api.get("/api/v1/engagements", headers=headers).json
    assert [e["status"] for e in listed if e["id"] == engagement_id] == [status]
    return status


def test_the_status_follows_the_whole_journey_everywhere(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    assert shown(app, signed_in, engagement_id) == "new"
    ann = invite(signed_in, engagement_id)
    assert shown(app, signed_in, engagement_id) == "invited"
    post(signed_in, f"{ann}/step/1", {"innovation": "3", "action": "save"})
    assert shown(app, signed_in, engagement_id) == "in progress"
    bo = invite(signed_in, engagement_id, respondent_name="Bo Chen", side="creator")
    answer_through_link(signed_in, ann)
    assert shown(app, signed_in, engagement_id) == "answered"
    answer_through_link(signed_in, bo, {**ANSWERS, "timeline_pressure": 5})
    # Both are in: the consensus is still to be decided.
    assert shown(app, signed_in, engagement_id) == "answered"
    assert post(signed_in, f"/engagements/{engagement_id}/consensus").status_code == 303
    assert shown(app, signed_in, engagement_id) == "decided"

    # Reopened answers take the decision away until they are submitted again.
    ann_id = respondent_id(app, "Ann Lee")
    assert post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/reopen")
    assert shown(app, signed_in, engagement_id) == "answered"
    answer_through_link(signed_in, ann)
    assert shown(app, signed_in, engagement_id) == "decided"

    decision_id = of_record(app, engagement_id)
    assert decision_id is not None
    setup = Setup(engagement_id, decision_id)
    first = freeze(signed_in, setup)
    assert shown(app, signed_in, engagement_id) == "charter drafted"
    links = send(signed_in, first)
    assert shown(app, signed_in, engagement_id) == "awaiting sign-off"
    ann_signs, bo_signs = (links[p["name"]] for p in SIGNATORIES)
    assert approve(app.test_client(), ann_signs, "Ann Lee").status_code == 303  # type: ignore[attr-defined]
    assert shown(app, signed_in, engagement_id) == "awaiting sign-off"
    declined = post(app.test_client(), f"{bo_signs}/decline", {"reason": "Wrong venue"})
    assert declined.status_code == 303
    # A decline sends the charter back to draft.
    assert shown(app, signed_in, engagement_id) == "charter drafted"

    second = freeze(signed_in, setup, arbitration="Zurich Chamber")
    links = send(signed_in, second, order="parallel")
    for person in SIGNATORIES:
        assert approve(app.test_client(), links[person["name"]], person["name"]).status_code == 303  # type: ignore[attr-defined]
    assert shown(app, signed_in, engagement_id) == "signed"

    # An amendment on its way to signatures leaves the signed charter in force.
    third = freeze(signed_in, setup, arbitration="Geneva Chamber")
    assert shown(app, signed_in, engagement_id) == "signed"
    send(signed_in, third)
    assert shown(app, signed_in, engagement_id) == "signed"
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert "Version 3: 0 of 2 approved" in listing

    assert post(signed_in, f"/engagements/{engagement_id}/archive").status_code == 302
    assert shown(app, signed_in, engagement_id, archived=True) == "signed"
    assert post(signed_in, f"/engagements/{engagement_id}/restore").status_code == 302
    assert shown(app, signed_in, engagement_id) == "signed"


def notes(client: FlaskClient, engagement_id: int, *, archived: bool = False) -> list[str]:
    """Return the lines the list shows under the engagement's status, as read."""
    listing = client.get("/engagements?archived=1" if archived else "/engagements")
    listing = listing.get_data(as_text=True)
    entry = listing.split(f'href="/engagements/{engagement_id}"')[1].split("</li>")[0]
    meta = entry.split('class="engagement-meta"')[1]
    return [visible_text(line) for line in re.findall(r'<p class="small">(.*?)</p>', meta, re.S)]


def test_a_sign_off_a_new_decision_overtook_is_back_in_draft(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    ann = invite(signed_in, engagement_id)
    answer_through_link(signed_in, ann)
    decision_id = of_record(app, engagement_id)
    assert decision_id is not None
    send(signed_in, freeze(signed_in, Setup(engagement_id, decision_id)))
    assert shown(app, signed_in, engagement_id) == "awaiting sign-off"
    reopen = f"/engagements/{engagement_id}/respondents/{respondent_id(app, 'Ann Lee')}/reopen"
    # Reopened, the answers are awaited again, as the engagement's page says.
    assert post(signed_in, reopen).status_code == 302
    assert shown(app, signed_in, engagement_id) == "in progress"
    assert notes(signed_in, engagement_id) == ["Waiting for Ann Lee", "Version 1: 0 of 2 approved"]
    # Submitted again unchanged: the same decision, which its signatories may still approve.
    answer_through_link(signed_in, ann)
    assert shown(app, signed_in, engagement_id) == "awaiting sign-off"
    assert notes(signed_in, engagement_id)[-1] == "Version 1: 0 of 2 approved"

    # Other answers make another decision: version 1 can no longer be signed as it is.
    assert post(signed_in, reopen).status_code == 302
    answer_through_link(signed_in, ann, {**ANSWERS, "timeline_pressure": 5})
    assert shown(app, signed_in, engagement_id) == "charter drafted"
    assert notes(signed_in, engagement_id)[-1] == "Version 1: stale, cannot be signed"
    decision_id = of_record(app, engagement_id)
    assert decision_id is not None
    send(signed_in, freeze(signed_in, Setup(engagement_id, decision_id)))
    assert shown(app, signed_in, engagement_id) == "awaiting sign-off"


def test_answers_reopened_after_the_charter_is_drafted_wait_for_answers_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, bo = invited_pair(signed_in)
    answer_through_link(signed_in, ann)
    answer_through_link(signed_in, bo, {**ANSWERS, "timeline_pressure": 5})
    assert post(signed_in, f"/engagements/{engagement_id}/consensus").status_code == 303
    decision_id = of_record(app, engagement_id)
    assert decision_id is not None
    version = freeze(signed_in, Setup(engagement_id, decision_id))
    assert shown(app, signed_in, engagement_id) == "charter drafted"
    base = f"/engagements/{engagement_id}/respondents/{respondent_id(app, 'Ann Lee')}"

    def reopened_waits_for_ann() -> None:
        """Ann's answers reopened: the engagement waits for them, in the list as on its page."""
        assert post(signed_in, f"{base}/reopen").status_code == 302
        assert shown(app, signed_in, engagement_id) == "answered"
        page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
        assert "Waiting for <bdi>Ann Lee</bdi> to submit again" in page
        assert notes(signed_in, engagement_id)[0] == "Waiting for Ann Lee"

    reopened_waits_for_ann()
    assert post(signed_in, f"{base}/close").status_code == 302
    assert shown(app, signed_in, engagement_id) == "charter drafted"

    links = send(signed_in, version, order="parallel")
    reopened_waits_for_ann()
    # Where the sign-off stands is still shown beside it.
    assert notes(signed_in, engagement_id)[-1] == "Version 1: 0 of 2 approved"
    assert post(signed_in, f"{base}/close").status_code == 302
    assert shown(app, signed_in, engagement_id) == "awaiting sign-off"

    for person in SIGNATORIES:
        assert approve(app.test_client(), links[person["name"]], person["name"]).status_code == 303  # type: ignore[attr-defined]
    # A signed charter stays in force while answers are reopened.
    assert post(signed_in, f"{base}/reopen").status_code == 302
    assert shown(app, signed_in, engagement_id) == "signed"


def test_new_answers_after_the_charter_wait_for_the_consensus_to_be_decided_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, bo = invited_pair(signed_in)
    answer_through_link(signed_in, ann)
    answer_through_link(signed_in, bo)
    consensus = f"/engagements/{engagement_id}/consensus"
    assert post(signed_in, consensus).status_code == 303
    decision_id = of_record(app, engagement_id)
    assert decision_id is not None
    freeze(signed_in, Setup(engagement_id, decision_id))
    bo_id = respondent_id(app, "Bo Chen")
    assert post(signed_in, f"/engagements/{engagement_id}/respondents/{bo_id}/reopen")
    answer_through_link(signed_in, bo, {**ANSWERS, "timeline_pressure": 5})
    # Nothing decides on Bo's new answers yet: the charter cannot be made from them.
    assert shown(app, signed_in, engagement_id) == "answered"
    assert notes(signed_in, engagement_id)[0] == "New answers since the last decision"
    assert post(signed_in, consensus).status_code == 303
    assert shown(app, signed_in, engagement_id) == "charter drafted"
    # Version 1 was frozen from the consensus before: it cannot be signed any more.
    assert notes(signed_in, engagement_id)[-1] == "Version 1: stale, cannot be signed"


def test_an_engagement_whose_links_all_stopped_working_is_new_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, _, _ = invited_pair(signed_in)
    base = f"/engagements/{engagement_id}/respondents"
    ann_id, bo_id = respondent_id(app, "Ann Lee"), respondent_id(app, "Bo Chen")
    expire_invitation(app, "Ann Lee")
    # Bo can still answer.
    assert shown(app, signed_in, engagement_id) == "invited"
    assert post(signed_in, f"{base}/{bo_id}/revoke").status_code == 302
    # Nobody can answer: the engagement waits for the consultant, as a new one does.
    assert shown(app, signed_in, engagement_id) == "new"
    assert notes(signed_in, engagement_id) == ["No invitation link works"]
    assert post(signed_in, f"{base}/{ann_id}/link").status_code == 302
    assert shown(app, signed_in, engagement_id) == "invited"
    assert notes(signed_in, engagement_id) == []


def test_an_archived_engagement_has_no_link_that_works_until_it_is_restored(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)
    assert shown(app, signed_in, engagement_id) == "invited"
    # Archiving closes every link: nobody can answer, as when they all expired.
    assert post(signed_in, f"/engagements/{engagement_id}/archive").status_code == 302
    assert shown(app, signed_in, engagement_id, archived=True) == "new"
    assert notes(signed_in, engagement_id, archived=True) == ["No invitation link works"]
    # Restoring opens the same link again.
    assert post(signed_in, f"/engagements/{engagement_id}/restore").status_code == 302
    assert shown(app, signed_in, engagement_id) == "invited"
    assert notes(signed_in, engagement_id) == []


def test_while_archived_nobody_is_awaited_for_a_link_alone(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, _ = invited_pair(signed_in)
    answer_through_link(signed_in, ann)
    # Bo's link works: his answers may still come and change the decision.
    assert shown(app, signed_in, engagement_id) == "answered"
    assert notes(signed_in, engagement_id) == ["Waiting for Bo Chen"]
    assert post(signed_in, f"/engagements/{engagement_id}/archive").status_code == 302
    # Archived, his link does not open: Ann's answers decide, as if his link had expired.
    assert shown(app, signed_in, engagement_id, archived=True) == "decided"
    assert "Waiting for Bo Chen" not in notes(signed_in, engagement_id, archived=True)
    assert post(signed_in, f"/engagements/{engagement_id}/restore").status_code == 302
    assert shown(app, signed_in, engagement_id) == "answered"
    assert notes(signed_in, engagement_id) == ["Waiting for Bo Chen"]


def test_the_archived_list_says_no_link_works_for_those_still_answering(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, bo = invited_pair(signed_in)
    post(signed_in, f"{ann}/step/1", {k: str(ANSWERS[k]) for k in PAGES[0].keys})
    post(signed_in, f"{bo}/step/1", {k: str(ANSWERS[k]) for k in PAGES[0].keys})
    assert post(signed_in, f"/engagements/{engagement_id}/archive").status_code == 302
    assert shown(app, signed_in, engagement_id, archived=True) == "in progress"
    listing = signed_in.get("/engagements?archived=1").get_data(as_text=True)
    assert "Bo Chen</bdi>; no link works for <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi>" in listing
    assert post(signed_in, f"/engagements/{engagement_id}/restore").status_code == 302
    assert notes(signed_in, engagement_id) == ["Waiting for Ann Lee and Bo Chen"]


def test_every_status_is_styled_and_documented(app: Flask) -> None:
    from pathlib import Path

    import assess

    css = (Path(assess.__file__).parent / "static" / "app.css").read_text()
    # A new engagement wears the plain badge; every later status has a colour of its own.
    styled = set(re.findall(r"\.status-([\w-]+)[ ,]", css))
    assert [s for s in STATUSES[1:] if s.replace(" ", "-") not in styled] == []
    schemas = app.test_client().get("/api/v1/openapi.json").json["components"]["schemas"]
    for name in ("Engagement", "SignOff"):
        assert schemas[name]["properties"]["status"]["enum"] == list(STATUSES)


def engagements_awaiting_sign_off(
    app: Flask, email: str, count: int, *, overtaken: bool = False
) -> int:
    """Store a consultant with ``count`` engagements, each with its charter frozen and sent
    to a signatory (and ``overtaken`` by a decision on other answers after that); return the
    consultant's id."""
    consultant_id = make_consultant(app, email=email)
    with app.app_context():
        consultant = db.session.get(Consultant, consultant_id)
        for i in range(count):
            engagement = Engagement(
                consultant=consultant, project_name=f"Project {i}", client_organisation="Northlight"
            )
            db.session.add(engagement)
            record = record_decision(db.session, engagement, evaluate(ANSWERS))
            db.session.flush()
            version = signoff.freeze(db.session, engagement, record, details_for_tests())
            signoff.add_signatory(db.session, version.sign_off, name="Ann Lee", email="a@x.example")
            signoff.start(db.session, version.sign_off, sequential=True, expires_at=None)
            if overtaken:
                record_decision(db.session, engagement, evaluate({**ANSWERS, "innovation": 1}))
        db.session.commit()
    return consultant_id


@pytest.mark.parametrize(
    ("overtaken", "status"), [(False, "awaiting sign-off"), (True, "charter drafted")]
)
def test_the_lists_tell_who_awaits_sign_off_in_the_same_statements_for_2_as_for_5(
    app: Flask, monkeypatch: pytest.MonkeyPatch, overtaken: bool, status: str
) -> None:
    numbers = itertools.count(1)
    monkeypatch.setattr(charter, "to_pdf", lambda *_, **__: b"%%PDF-1.7 %d" % next(numbers))
    counts = []
    for email, count in (("few@example.com", 2), ("many@example.com", 5)):
        consultant_id = engagements_awaiting_sign_off(app, email, count, overtaken=overtaken)
        web, api, headers = web_and_api(app, consultant_id, email)
        web.get("/engagements")  # the first request records the session's use
        with statements_sent(app) as statements:
            page = web.get("/engagements").get_data(as_text=True)
            listed = api.get("/api/v1/engagements", headers=headers).json
        assert page.count(f'<span class="status status-{status.replace(" ", "-")}">') == count
        assert page.count("Version 1: stale, cannot be signed") == (count if overtaken else 0)
        assert {e["status"] for e in listed} == {status}
        # No frozen document is read to tell it.
        assert [s for s in statements if "charter_versions.pdf" in s] == []
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_the_archived_list_tells_which_links_work_in_the_same_statements_for_2_as_for_5(
    app: Flask,
) -> None:
    counts = []
    for email, count in (("few@example.com", 2), ("many@example.com", 5)):
        consultant_id = make_consultant(app, email=email)
        with app.app_context():
            consultant = db.session.get(Consultant, consultant_id)
            for i in range(count):
                engagement = Engagement(
                    consultant=consultant, project_name=f"P{i}", client_organisation="Northlight"
                )
                respondent = Respondent(name="Ann Lee", side="producer")
                engagement.respondents.append(respondent)
                respondent.issue_link(None)
                engagement.archived_at = utcnow()
                db.session.add(engagement)
            db.session.commit()
        web, api, headers = web_and_api(app, consultant_id, email)
        web.get("/engagements?archived=1")  # the first request records the session's use
        with statements_sent(app) as statements:
            page = web.get("/engagements?archived=1").get_data(as_text=True)
            listed = api.get("/api/v1/engagements?archived=true", headers=headers).json
        assert page.count("No invitation link works") == count
        assert [e["status"] for e in listed] == ["new"] * count
        counts.append(len(statements))
    assert counts[0] == counts[1]


def first_listed(client: FlaskClient) -> int:
    """Return the id of the engagement the list shows first: the one last active."""
    page = client.get("/engagements").get_data(as_text=True)
    found = re.search(r'<h2><a href="/engagements/(\d+)">', page)
    assert found is not None
    return int(found.group(1))


def test_each_step_that_changes_the_status_brings_the_engagement_to_the_top_of_the_list(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    ann = invite(signed_in, engagement_id)
    invite(signed_in, engagement_id, respondent_name="Bo Chen", side="creator")
    answer_through_link(signed_in, ann)
    other = create_engagement(signed_in, project_name="Harbour Lights")
    base = f"/engagements/{engagement_id}"
    ann_id, bo_id = respondent_id(app, "Ann Lee"), respondent_id(app, "Bo Chen")

    def step(action: Callable[[], object], *, status_changes: bool = True) -> None:
        """Leave the engagement last active a year ago; after the step, it is listed first."""
        with app.app_context():
            found = db.session.get(Engagement, engagement_id)
            assert found is not None
            found.updated_at = found.updated_at.replace(year=found.updated_at.year - 1)
            db.session.commit()
        assert first_listed(signed_in) == other
        before = shown(app, signed_in, engagement_id)
        action()
        assert (shown(app, signed_in, engagement_id) != before) is status_changes
        assert first_listed(signed_in) == engagement_id

    # Bo will not answer: once his link no longer works, Ann's answers decide.
    step(lambda: post(signed_in, f"{base}/respondents/{bo_id}/revoke"))
    step(lambda: post(signed_in, f"{base}/respondents/{bo_id}/link"))
    post(signed_in, f"{base}/respondents/{bo_id}/revoke")
    step(lambda: post(signed_in, f"{base}/respondents/{ann_id}/reopen"))
    step(lambda: answer_through_link(signed_in, ann))
    step(lambda: post(signed_in, f"{base}/respondents/{ann_id}/reopen"))
    step(lambda: post(signed_in, f"{base}/respondents/{ann_id}/close"))
    decision_id = of_record(app, engagement_id)
    assert decision_id is not None
    setup = Setup(engagement_id, decision_id)
    version = freeze(signed_in, setup)
    links: dict[str, str] = {}
    step(lambda: links.update(send(signed_in, version, order="parallel")))
    step(
        lambda: approve(app.test_client(), links["Ann Lee"], "Ann Lee"),
        status_changes=False,
    )
    step(lambda: post(app.test_client(), f"{links['Bo Chen']}/decline", {"reason": "No."}))
    version = freeze(signed_in, setup, arbitration="Zurich Chamber")
    send(signed_in, version)
    step(lambda: post(signed_in, f"{version}/withdraw"))


def test_the_list_says_whose_link_stopped_working_while_their_answers_are_awaited(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, bo = invited_pair(signed_in)
    post(signed_in, f"{ann}/step/1", {k: str(ANSWERS[k]) for k in PAGES[0].keys})
    post(signed_in, f"{bo}/step/1", {k: str(ANSWERS[k]) for k in PAGES[0].keys})
    assert notes(signed_in, engagement_id) == ["Waiting for Ann Lee and Bo Chen"]
    expire_invitation(app, "Ann Lee")
    # Still in progress, but Ann cannot go on until the consultant sends her a new link.
    assert shown(app, signed_in, engagement_id) == "in progress"
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert "Bo Chen</bdi>; no link works for <bdi>Ann Lee</bdi></p>" in listing
    ann_id = respondent_id(app, "Ann Lee")
    assert (
        post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/link").status_code
        == 302
    )
    assert notes(signed_in, engagement_id) == ["Waiting for Ann Lee and Bo Chen"]
