"""Reopened answers in a real browser: closed again as they were, without JavaScript."""

from __future__ import annotations

from pathlib import Path

import pytest
from browsertools import PHONE, assert_accessible, assert_fits, shoot, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, expect
from webtools import (
    answer_through_link,
    create_engagement,
    invite,
    post,
    respondent_id,
    signed_in_consultant,
)

pytestmark = pytest.mark.browser


def test_reopened_answers_changed_since_are_shown_then_closed_again_without_javascript(
    app: Flask,
    live_server: str,
    no_js_laptop: BrowserContext,
    browser: Browser,
    artifacts: Path,
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    ann = invite(client, engagement_id)
    answer_through_link(client, ann)
    answer_through_link(
        client, invite(client, engagement_id, respondent_name="Bo Chen", side="creator")
    )
    base = f"/engagements/{engagement_id}"
    assert post(client, f"{base}/consensus").status_code == 303
    ann_id = respondent_id(app, "Ann Lee")
    post(client, f"{base}/respondents/{ann_id}/reopen")
    post(client, f"{ann}/step/3", {"timeline_pressure": "5", "relationship_duration": "4"})

    page = sign_in(no_js_laptop, live_server)
    page.goto(f"{live_server}{base}")
    page.get_by_role("button", name="Close again without changes for Ann Lee").click()
    expect(page.get_by_role("heading", name="Close Ann Lee's answers again?")).to_be_visible()
    expect(page.get_by_role("row", name="Timeline pressure 3 5")).to_be_visible()
    assert_fits(page)
    shoot(page, artifacts, "close-again-laptop")
    page.get_by_role("button", name="Discard the changes and close again").click()
    expect(
        page.get_by_text("Ann Lee's answers are closed again as they were submitted")
    ).to_be_visible()
    expect(page.get_by_text("Decided", exact=True).first).to_be_visible()

    post(client, f"{base}/respondents/{ann_id}/reopen")
    phone = browser.new_context(viewport=PHONE)
    try:
        page = sign_in(phone, live_server)
        page.goto(f"{live_server}{base}/respondents/{ann_id}/close")
        expect(
            page.get_by_text("Their answers are unchanged since they were reopened")
        ).to_be_visible()
        assert_fits(page)
        assert_accessible(page)
        shoot(page, artifacts, "close-again-phone")
    finally:
        phone.close()
