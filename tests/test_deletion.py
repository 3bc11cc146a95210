"""Deleting an archived engagement for good, from its page and over the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from apitools import bearer, make_token
from flask import Flask
from flask.testing import FlaskClient
from signofftools import (
    SIGNATORIES,
    Setup,
    freeze,
    frozen_charter,
    seal_key_files,  # noqa: F401  (fixture)
    send,
    shared_seal_key,  # noqa: F401  (fixture)
    signed_by_everyone,
)
from sqlalchemy import select
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    ENGAGEMENT,
    answer_through_link,
    create_engagement,
    fill_in,
    invite,
    login,
    make_consultant,
    post,
    respondent_id,
)

from assess.deletion import NOT_ARCHIVED, SIGNED
from assess.extensions import db
from assess.models import (
    ANSWERS_CLOSED,
    ANSWERS_REOPENED,
    RESPONDENT_REMOVED,
    Base,
    Engagement,
)

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]


def stored(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table engagements keep their work in (not the accounts)."""
    with app.app_context():
        return {
            table.name: [tuple(row) for row in db.session.execute(select(table)).all()]
            for table in Base.metadata.sorted_tables
            if table.name not in ("consultants", "api_tokens")
        }


def full_engagement(app: Flask, client: FlaskClient) -> tuple[int, list[str]]:
    """An engagement with a decision, a charter version out for sign-off and an invited
    respondent; return its id and the personal links it gave out."""
    setup, version_path = frozen_charter(app, client)
    links = list(send(client, version_path, people=SIGNATORIES[:1]).values())
    links.append(invite(client, setup.engagement_id, respondent_name="Cy Diaz"))
    return setup.engagement_id, links


def test_an_archived_engagement_is_deleted_with_everything_in_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    kept, _ = full_engagement(app, signed_in)
    before = stored(app)
    engagement_id, links = full_engagement(app, signed_in)
    path = f"/engagements/{engagement_id}/delete"
    # Not while it is current: one click on a busy page must not lose a client's work.
    for response in (signed_in.get(path), post(signed_in, path)):
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert NOT_ARCHIVED in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert f'href="{path}"' not in signed_in.get(f"/engagements/{engagement_id}").text

    assert post(signed_in, f"/engagements/{engagement_id}/archive").status_code == 302  # type: ignore[attr-defined]
    assert f'href="{path}"' in signed_in.get(f"/engagements/{engagement_id}").text
    asked = signed_in.get(path).text
    assert "This cannot be undone" in asked
    facts = {
        term: re.sub(r"<[^>]+>", "", fact)
        for term, fact in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", asked)
    }
    assert facts == {
        "Client": "Northlight Films",
        "Archived": f"{datetime.now(UTC):%-d %b %Y}",
        "Respondents": "1",
        "Decisions": "1",
        "Charter versions": "1, none of them signed",
    }
    # Without the form's token nothing happens.
    assert signed_in.post(path).status_code == 400
    assert app.test_client().get(links[0]).status_code == 200

    deleted = post(signed_in, path)
    assert deleted.status_code == 302  # type: ignore[attr-defined]
    listing = signed_in.get(deleted.headers["Location"]).text  # type: ignore[attr-defined]
    assert "“<bdi>Tidewater</bdi>” is deleted, with everything in it." in listing
    # The database holds what it held before the engagement was made, the other one whole.
    assert stored(app) == before
    assert signed_in.get(f"/engagements/{engagement_id}").status_code == 404
    assert post(signed_in, path).status_code == 404  # type: ignore[attr-defined]
    for link in links:
        assert app.test_client().get(link).status_code == 404, link
    assert signed_in.get(f"/engagements/{kept}").status_code == 200


def test_deleting_leaves_no_trace_of_the_people_in_it(app: Flask, signed_in: FlaskClient) -> None:
    """Everything the engagement's life stored about people goes: respondents who answered
    from links, one removed (the history keeps their name), answers reopened and closed
    again, a consensus, a draft calendar, and a version declined from a browser (its
    events keep the signatory's address and browser), replaced by a second one."""
    kept, _ = full_engagement(app, signed_in)
    before = stored(app)
    engagement_id = create_engagement(signed_in)
    base = f"/engagements/{engagement_id}"
    visitor = app.test_client()
    for name, side in (("Ann Lee", "producer"), ("Bo Chen", "creator")):
        link = invite(signed_in, engagement_id, respondent_name=name, side=side)
        answer_through_link(visitor, link, ANSWERS if side == "producer" else CREATOR_ANSWERS)
    fill_in(visitor, invite(signed_in, engagement_id, respondent_name="Di Evans"))
    removed = post(signed_in, f"{base}/respondents/{respondent_id(app, 'Di Evans')}/remove")
    assert removed.status_code in (302, 303)  # type: ignore[attr-defined]
    ann = respondent_id(app, "Ann Lee")
    post(signed_in, f"{base}/respondents/{ann}/reopen")
    post(signed_in, f"{base}/respondents/{ann}/close")
    decided = post(signed_in, f"{base}/consensus")
    assert decided.status_code == 303  # type: ignore[attr-defined]
    setup = Setup(engagement_id, int(decided.headers["Location"].rsplit("/", 1)[1]))  # type: ignore[attr-defined]
    assert post(signed_in, setup.charter_path + ".ics").status_code == 200  # type: ignore[attr-defined]
    links = send(signed_in, freeze(signed_in, setup), order="parallel")
    declined = post(
        visitor,
        f"{links['Bo Chen']}/decline",
        {"reason": "Split"},
        headers={"User-Agent": "Bo's browser"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert declined.status_code == 303  # type: ignore[attr-defined]
    freeze(signed_in, setup)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.draft_calendars
        actions = {event.action for event in engagement.events}
        assert {RESPONDENT_REMOVED, ANSWERS_REOPENED, ANSWERS_CLOSED} <= actions, actions
        events = [e for v in engagement.charter_versions for e in v.sign_off.events]
        assert any(e.ip == "203.0.113.9" and e.user_agent == "Bo's browser" for e in events)
        assert len(engagement.charter_versions) == 2

    post(signed_in, f"{base}/archive")
    assert post(signed_in, f"{base}/delete").status_code == 302  # type: ignore[attr-defined]
    assert stored(app) == before
    assert signed_in.get(f"/engagements/{kept}").status_code == 200


def test_another_consultants_engagement_is_not_found(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    post(signed_in, f"/engagements/{engagement_id}/archive")
    before = stored(app)
    make_consultant(app, "dee@example.com", "Dee")
    other = app.test_client()
    login(other, "dee@example.com")
    path = f"/engagements/{engagement_id}/delete"
    assert other.get(path).status_code == 404
    assert post(other, path).status_code == 404  # type: ignore[attr-defined]
    token = make_token(app, 2)
    api_path = f"/api/v1/engagements/{engagement_id}"
    assert other.delete(api_path, headers=bearer(token)).status_code == 404
    assert stored(app) == before


def test_an_engagement_whose_charter_was_signed_is_kept(
    app: Flask, signed_in: FlaskClient, consultant: int
) -> None:
    version_path = signed_by_everyone(app, signed_in)
    engagement_id = int(version_path.split("/")[2])
    post(signed_in, f"/engagements/{engagement_id}/archive")
    before = stored(app)
    page = signed_in.get(f"/engagements/{engagement_id}").text
    assert "Its charter was signed, so it is kept" in page and "/delete" not in page
    path = f"/engagements/{engagement_id}/delete"
    for response in (signed_in.get(path), post(signed_in, path)):
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert SIGNED.replace("'", "&#39;") in response.get_data(as_text=True)  # type: ignore[attr-defined]
    refused = signed_in.delete(
        f"/api/v1/engagements/{engagement_id}", headers=bearer(make_token(app, consultant))
    )
    assert refused.status_code == 409 and refused.json["message"] == SIGNED  # type: ignore[index]
    assert stored(app) == before


def test_the_api_deletes_an_archived_engagement(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    headers = bearer(make_token(app, consultant))
    created = client.post("/api/v1/engagements", json=ENGAGEMENT, headers=headers)
    path = created.headers["Location"]
    current = client.delete(path, headers=headers)
    assert current.status_code == 409 and current.json["message"] == NOT_ARCHIVED  # type: ignore[index]
    tag = client.patch(path, json={"archived": True}, headers=headers).headers["ETag"]
    read_only = bearer(make_token(app, consultant, can_write=False))
    assert client.delete(path, headers=read_only).status_code == 403
    stale = client.delete(path, headers={**headers, "If-Match": '"not-it"'})
    assert stale.status_code == 412
    with app.app_context():
        assert db.session.scalar(select(Engagement.id)) is not None
    deleted = client.delete(path, headers={**headers, "If-Match": tag})
    assert deleted.status_code == 204 and deleted.data == b""
    assert client.get(path, headers=headers).status_code == 404
    assert client.delete(path, headers=headers).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Engagement.id)) is None
