"""Any text a browser can post gets a page and a clear status, never a server error."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from webtools import ENGAGEMENT, create_engagement, csrf_token, invite

from assess.extensions import db
from assess.models import Engagement

pytestmark = pytest.mark.db

# Any Unicode a form field can carry, control characters and lone surrogates included.
TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("\x00\t\n\r\u202e"), max_size=260)
FIXTURES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FIXTURES
@given(field=st.sampled_from(sorted(ENGAGEMENT)), value=TEXT)
def test_engagement_form_never_fails(
    app: Flask, signed_in: FlaskClient, field: str, value: str
) -> None:
    with app.app_context():
        before = set(db.session.scalars(select(Engagement.id)))
    form = {**ENGAGEMENT, field: value, "csrf_token": csrf_token(signed_in, "/engagements/new")}
    response = signed_in.post("/engagements/new", data=form)
    assert response.status_code in (302, 422)
    with app.app_context():
        after = set(db.session.scalars(select(Engagement.id)))
    # An example repeating an earlier one opens the engagement it made, still empty.
    shown = (
        {int(response.headers["Location"].rsplit("/", 1)[1])}
        if response.status_code == 302
        else set()
    )
    assert after == before | shown
    if response.status_code == 302:
        page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
        assert "<script" not in value or "<script" not in page.split("<main", 1)[1]


@FIXTURES
@given(values=st.dictionaries(st.sampled_from(["innovation", "planning_complexity"]), TEXT))
def test_questionnaire_step_never_fails(
    signed_in: FlaskClient, values: dict[str, str], link_cache: dict[str, str]
) -> None:
    if "link" not in link_cache:
        link_cache["link"] = invite(signed_in, create_engagement(signed_in))
    link = link_cache["link"]
    form = {**values, "action": "save", "csrf_token": csrf_token(signed_in)}
    response = signed_in.post(f"{link}/step/1", data=form)
    assert response.status_code in (303, 422)


@pytest.fixture
def link_cache() -> dict[str, str]:
    return {}
