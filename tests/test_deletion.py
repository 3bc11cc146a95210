"""Deleting an archived engagement for good, from its page and over the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from apitools import bearer, make_token
from click.testing import CliRunner
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
    upload,
)
from sqlalchemy import select
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    ENGAGEMENT,
    answer_through_link,
    create_engagement,
    csrf_token,
    fill_in,
    invite,
    login,
    make_consultant,
    post,
    respondent_id,
)

from assess.api import engagements as deletion_api
from assess.cli import cli
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


def sealed_charter(app: Flask, client: FlaskClient) -> tuple[int, bytes, str]:
    """A new engagement whose charter everyone signed: its id, the sealed PDF, its document id."""
    version_path = signed_by_everyone(app, client)
    page = client.get(version_path).text
    document_id = re.search(r'Document <span class="doc-id">(PC-[A-Z0-9-]+)<', page)
    assert document_id
    sealed = client.get(f"{version_path}/signed.pdf").data
    return int(version_path.split("/")[2]), sealed, document_id.group(1)


def test_a_signed_engagement_is_deleted_once_the_contract_has_ended(
    app: Flask, signed_in: FlaskClient, tmp_path: Path
) -> None:
    """The consultant confirms the contract has ended by typing the project's name; the
    signed charter goes with the rest, and its sealed PDF still checks out on its seal."""
    before = stored(app)
    engagement_id, sealed, document_id = sealed_charter(app, signed_in)
    path = f"/engagements/{engagement_id}/delete"
    # Not while it is current, as any engagement.
    for response in (signed_in.get(path), post(signed_in, path)):
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert NOT_ARCHIVED in response.get_data(as_text=True)  # type: ignore[attr-defined]
    post(signed_in, f"/engagements/{engagement_id}/archive")
    archived = stored(app)
    page = signed_in.get(f"/engagements/{engagement_id}").text
    assert "only once the contract it is annexed to has ended" in page
    assert f'href="{path}"' in page

    asked = signed_in.get(path)
    assert asked.status_code == 200
    text = asked.text
    for said in (
        "the signed charter with its sign-off history and sealed PDFs",
        "the parties should keep their own copies of the signed charter",
        "checks such a PDF on its seal alone, no longer against this service",
        "Type the project name, \u2068Tidewater\u2069, to confirm that the contract has ended",
    ):
        assert said in text, said
    assert "<dt>Charter versions</dt>\n    <dd>1, 1 of them signed</dd>" in text
    assert 'name="project_name"' in text

    for typed in (
        {},
        {"project_name": ""},
        {"project_name": "tidewater"},
        {"project_name": "Tide"},
    ):
        refused = post(signed_in, path, typed)
        assert refused.status_code == 422, typed  # type: ignore[attr-defined]
        body = refused.get_data(as_text=True)  # type: ignore[attr-defined]
        assert 'id="error-project_name"' in body and 'aria-invalid="true"' in body
        assert "Type the project name exactly as it is shown" in body
        assert stored(app) == archived

    deleted = post(signed_in, path, {"project_name": "Tidewater"})
    assert deleted.status_code == 302  # type: ignore[attr-defined]
    listing = signed_in.get(deleted.headers["Location"]).text  # type: ignore[attr-defined]
    assert "“<bdi>Tidewater</bdi>” is deleted, with everything in it." in listing
    # Nothing of the engagement is left: the database holds what it held before.
    assert stored(app) == before
    assert signed_in.get(f"/engagements/{engagement_id}").status_code == 404

    # The sealed PDF the parties keep still checks out on its seal, and the page claims
    # nothing about a record the service no longer keeps.
    checked = upload(app.test_client(), sealed)
    assert checked.status_code == 200
    result = checked.get_data(as_text=True)
    assert "Intact and sealed" in result
    assert f'charter <span class="doc-id">{document_id}</span>, version 1' in result
    assert "<dt>Since the seal</dt><dd>Nothing added or changed</dd>" in result
    assert "Altered" not in result and "sealed no file" not in result
    assert "differ from the file this service sealed" not in result
    assert "<dt>In this service</dt><dd>No record kept: checked on its seal alone</dd>" in result
    assert "Ann Lee" in result and "Bo Chen" in result  # recorded in the seal itself
    # Its fingerprint is no longer known, and the page does not say it never was.
    lookup = app.test_client()
    form = {"csrf_token": csrf_token(lookup, "/verify"), "sha256": sha256(sealed).hexdigest()}
    looked_up = lookup.post("/verify", data=form).get_data(as_text=True)
    assert "Unknown fingerprint" in looked_up
    assert "was frozen or signed" not in looked_up
    assert "keeps no frozen or signed charter with this SHA-256" in looked_up
    assert "upload the file itself to check its seal" in looked_up
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(sealed)
    command = CliRunner().invoke(
        cli, ["verify", str(pdf), "--cert", str(app.config["SEAL_CERT_FILE"])]
    )
    assert command.exit_code == 0, command.output
    assert command.output.startswith("Intact and sealed")


@pytest.mark.parametrize(
    ("stored_name", "typed"),
    [
        # Copied from the field's label, which sets the name apart with isolates.
        ("Tidewater", "\u2068Tidewater\u2069"),
        ("Tidewater", "  Tidewater\u200b "),
        # A keyboard (or a file name pasted on macOS) gives the accent as a character of its own.
        ("Caf\u00e9 Rouge", "Cafe\u0301 Rouge"),
        # The page shows a run of spaces as one.
        ("Tide  water", "Tide water"),
        ("Tide\u00adwater", "Tidewater"),
    ],
)
def test_the_project_name_is_typed_as_the_page_shows_it(
    app: Flask, signed_in: FlaskClient, stored_name: str, typed: str
) -> None:
    engagement_id, _, _ = sealed_charter(app, signed_in)
    post(signed_in, f"/engagements/{engagement_id}/archive")
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.project_name = stored_name
        db.session.commit()
    path = f"/engagements/{engagement_id}/delete"
    # Still refused for another name, whatever its case.
    for wrong in (stored_name.lower(), "Tide water " + stored_name):
        assert post(signed_in, path, {"project_name": wrong}).status_code == 422  # type: ignore[attr-defined]
    deleted = post(signed_in, path, {"project_name": typed})
    assert deleted.status_code == 302  # type: ignore[attr-defined]
    assert signed_in.get(f"/engagements/{engagement_id}").status_code == 404


def test_the_api_deletes_a_signed_engagement_only_when_told_the_contract_has_ended(
    app: Flask, signed_in: FlaskClient, client: FlaskClient, consultant: int
) -> None:
    before = stored(app)
    engagement_id, _, _ = sealed_charter(app, signed_in)
    headers = bearer(make_token(app, consultant))
    path = f"/api/v1/engagements/{engagement_id}"
    current = client.delete(f"{path}?contract_ended=true", headers=headers)
    assert current.status_code == 409 and current.json["message"] == NOT_ARCHIVED  # type: ignore[index]
    client.patch(path, json={"archived": True}, headers=headers)
    archived = stored(app)
    for query in ("", "?contract_ended=false"):
        refused = client.delete(path + query, headers=headers)
        assert refused.status_code == 409, query
        assert refused.json["message"] == f"{SIGNED} {deletion_api.CONTRACT_ENDED_HINT}"  # type: ignore[index]
        assert "contract_ended=true" in refused.json["message"]  # type: ignore[index]
    for query, field in (
        ("?contract_ended=yes", "contract_ended"),
        ("?contract_ended=1", "contract_ended"),
        ("?contract_ended=true&contract_ended=true", "contract_ended"),
        ("?contract_ended=true&force=true", "force"),
    ):
        wrong = client.delete(path + query, headers=headers)
        assert wrong.status_code == 422, query
        assert field in wrong.json["errors"]["query"], wrong.json  # type: ignore[index]
    assert stored(app) == archived
    deleted = client.delete(f"{path}?contract_ended=true", headers=headers)
    assert deleted.status_code == 204 and deleted.data == b""
    assert stored(app) == before
    assert client.get(path, headers=headers).status_code == 404


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
