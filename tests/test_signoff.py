"""The sign-off workflow without the web: frozen rows, sealing once, amendments and their diff."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from signofftools import details_for_tests, seal_key_files, shared_seal_key  # noqa: F401  (fixtures)
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from webtools import ANSWERS, make_consultant

from assess import signoff
from assess.alignment import Respondent
from assess.charter.render import score_rows
from assess.consensus import Agreement, agree
from assess.decision import Decision
from assess.engine import evaluate, evaluate_respondents
from assess.extensions import db
from assess.factors import FACTOR_KEYS
from assess.models import (
    CharterVersion,
    Consultant,
    Engagement,
    FrozenError,
    Party,
    Signatory,
    SignOffEvent,
    hash_token,
)
from assess.questionnaire import record_decision
from assess.signing.keys import from_config
from assess.signing.verify import verify

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SOURCE = signoff.Actor(ip="198.51.100.4", user_agent="pytest")


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    make_consultant(app)
    with app.app_context():
        consultant = db.session.query(Consultant).one()
        engagement = Engagement(
            consultant=consultant, project_name="Tidewater", client_organisation="Northlight"
        )
        engagement.parties = [
            Party(side="producer", name="Ann Lee", role="Executive producer"),
            Party(side="creator", name="Bo Chen", role="Creative director"),
        ]
        db.session.add(engagement)
        db.session.commit()
        yield app


def sealer(app: Flask) -> signoff.Sealer:
    return signoff.Sealer(
        keys=from_config(app.config, app.instance_path), base_url="https://assess.example.org"
    )


def engagement() -> Engagement:
    return db.session.query(Engagement).one()


def freeze(answers: dict[str, int] | None = None, **fields: Any) -> CharterVersion:
    session: Session = db.session
    found = engagement()
    record = record_decision(session, found, evaluate(answers or ANSWERS))
    session.flush()
    details = replace(details_for_tests(), **fields)
    version = signoff.freeze(session, found, record, details, now=record.created_at)
    session.commit()
    return version


def sign(app: Flask, version: CharterVersion, *names: str, sequential: bool = True) -> None:
    """Add signatories, start, and have each approve in order."""
    for name in names:
        signoff.add_signatory(
            db.session, version.sign_off, name=name, email=f"{name.split()[0].lower()}@example.com"
        )
    signoff.start(db.session, version.sign_off, sequential=sequential, expires_at=None)
    db.session.commit()
    for signatory in list(version.sign_off.signatories):
        signoff.approve(
            db.session, signatory, typed_name=signatory.name, source=SOURCE, sealer=sealer(app)
        )
        db.session.commit()


def test_a_frozen_version_cannot_be_changed_through_the_session(ctx: Flask) -> None:
    version = freeze()
    version.sha256 = "0" * 64
    with pytest.raises(FrozenError):
        db.session.commit()
    db.session.rollback()
    event = db.session.query(SignOffEvent).first()
    assert event is not None
    event.detail = "rewritten"
    with pytest.raises(FrozenError):
        db.session.flush()


@pytest.mark.parametrize("table", ["charter_versions", "sign_off_events"])
def test_the_database_refuses_updates_to_frozen_rows(ctx: Flask, table: str) -> None:
    freeze()
    column = "sha256" if table == "charter_versions" else "detail"
    with pytest.raises(DBAPIError, match="frozen"):
        with db.engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET {column} = 'changed'"))
    # Deleting the engagement still takes its versions with it.
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM engagements"))
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def test_a_charter_takes_at_most_twelve_signatories(ctx: Flask) -> None:
    sign_off = freeze().sign_off
    for number in range(1, signoff.MAX_SIGNATORIES + 1):
        signoff.add_signatory(
            db.session, sign_off, name=f"Signatory {number}", email=f"s{number}@example.com"
        )
    db.session.commit()
    with pytest.raises(signoff.SignOffError, match="^A charter takes at most 12 signatories.$"):
        signoff.add_signatory(db.session, sign_off, name="One more", email="more@example.com")
    db.session.rollback()
    assert [s.position for s in sign_off.signatories] == list(range(1, 13))


def test_the_frozen_version_keeps_its_inputs(ctx: Flask) -> None:
    version = freeze(arbitration="Geneva Chamber")
    assert version.number == 1
    assert version.sign_off.status == "preparing"
    assert version.fields["arbitration"] == "Geneva Chamber"
    assert version.fields["version"] == 1
    assert version.answers == ANSWERS
    assert version.decision.answers == ANSWERS
    assert version.pdf.startswith(b"%PDF-")
    assert engagement().charter_drafted_at is not None
    assert engagement().status == "charter drafted"


@pytest.mark.parametrize(
    ("sequential", "states"),
    [(True, ["invited", "waiting", "waiting"]), (False, ["invited", "invited", "invited"])],
    ids=["one-after-the-other", "all-at-once"],
)
def test_starting_invites_the_first_signatory_or_everyone_at_once(
    ctx: Flask, sequential: bool, states: list[str]
) -> None:
    sign_off = freeze().sign_off
    for name in ("Ann Lee", "Bo Chen", "Cy Diaz"):
        signoff.add_signatory(
            db.session, sign_off, name=name, email=f"{name.split()[0].lower()}@example.com"
        )
    signoff.start(db.session, sign_off, sequential=sequential, expires_at=None, now=AT)
    db.session.commit()
    people = sign_off.signatories
    assert [signoff.signatory_state(sign_off, s) for s in people] == states
    invited = [s.name for s in people if s.invited_at is not None]
    assert [e.actor for e in sign_off.events if e.action == "invited"] == invited
    assert len(invited) == states.count("invited")


def test_finalise_seals_exactly_once_even_when_two_callers_race(ctx: Flask, app: Flask) -> None:
    version = freeze()
    signoff.add_signatory(db.session, version.sign_off, name="Ann Lee", email="ann@example.com")
    signoff.start(db.session, version.sign_off, sequential=False, expires_at=None)
    db.session.commit()
    ann = version.sign_off.signatories[0]
    # Another session sees the sign-off pending, then loses the race to the approval.
    other = Session(db.engine)
    try:
        rival = other.get(type(version.sign_off), version.sign_off.id)
        assert rival is not None and rival.status == "pending"
        sealed = signoff.approve(
            db.session, ann, typed_name="Ann Lee", source=SOURCE, sealer=sealer(app), now=AT
        )
        assert sealed is True
        db.session.commit()
        assert signoff.finalise(other, rival, sealer(app), AT + timedelta(seconds=1)) is False
        other.commit()
    finally:
        other.close()
    db.session.expire_all()
    sign_off = engagement().charter_versions[0].sign_off
    assert sign_off.status == "signed"
    assert [e.action for e in sign_off.events].count("sealed") == 1
    assert sign_off.sealed_pdf is not None and verify(sign_off.sealed_pdf).as_sealed


def test_an_amendment_chains_to_the_signed_hash_and_shows_what_changed(
    ctx: Flask, app: Flask
) -> None:
    first = freeze(arbitration="Geneva Chamber")
    sign(app, first, "Ann Lee")
    assert first.sign_off.status == "signed"
    changed = {**ANSWERS, "timeline_pressure": 5, "iteration_readiness": 5}
    second = freeze(changed, arbitration="Zurich Chamber")
    assert second.number == 2
    assert second.document_id == first.document_id
    assert second.previous_version is first
    assert second.previous_sha256 == first.sha256
    changes = signoff.diff(first, second)
    items = {(c.section, c.item): (c.before, c.after) for c in changes}
    assert items[("Answers", "Timeline pressure")] == ("3", "5")
    assert items[("Charter details", "Arbitration")] == ("Geneva Chamber", "Zurich Chamber")
    assert all(c.before != c.after for c in changes)
    sign(app, second, "Ann Lee")
    sealed = second.sign_off.sealed_pdf
    assert sealed is not None
    verdict = verify(sealed)
    assert verdict.as_sealed and verdict.version == 2
    assert verdict.previous_hash == first.sha256
    # The engagement is still signed; the history lists both versions.
    assert [v.sign_off.status for v in engagement().charter_versions] == ["signed", "signed"]


def test_freezing_again_withdraws_the_open_sign_off(ctx: Flask) -> None:
    first = freeze()
    signoff.add_signatory(db.session, first.sign_off, name="Ann Lee", email="ann@example.com")
    tokens = signoff.start(db.session, first.sign_off, sequential=True, expires_at=None)
    db.session.commit()
    second = freeze()
    assert first.sign_off.status == "withdrawn"
    assert second.number == 2 and second.previous_sha256 is None
    found = signoff.find_signatory(db.session, next(iter(tokens.values())))
    assert found is not None
    with pytest.raises(signoff.LinkUnusable, match="withdrew"):
        signoff.approve(db.session, found, typed_name="Ann Lee", source=SOURCE, sealer=sealer(ctx))


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_a_link_replaced_while_its_action_was_on_its_way_does_not_act(
    ctx: Flask, action: str
) -> None:
    version = freeze()
    signoff.add_signatory(db.session, version.sign_off, name="Ann Lee", email="ann@example.com")
    tokens = signoff.start(db.session, version.sign_off, sequential=True, expires_at=None)
    db.session.commit()
    found = signoff.find_signatory(db.session, next(iter(tokens.values())))
    assert found is not None
    # The consultant's new link, stored by another request after this one opened the old link.
    with db.engine.begin() as connection:
        connection.execute(update(Signatory).values(token_hash=hash_token("a newer link")))
    with pytest.raises(signoff.LinkUnusable, match="replaced by a newer one"):
        if action == "approve":
            signoff.approve(
                db.session, found, typed_name="Ann Lee", source=SOURCE, sealer=sealer(ctx)
            )
        else:
            signoff.decline(db.session, found, reason="Split", source=SOURCE)
    assert found.action is None


def test_no_new_link_replaces_nor_revoking_stops_one_that_acted_meanwhile(ctx: Flask) -> None:
    # Their link now opens what they acted on (and the signed charter): it stays theirs.
    version = freeze()
    signoff.add_signatory(db.session, version.sign_off, name="Ann Lee", email="ann@example.com")
    signoff.start(db.session, version.sign_off, sequential=True, expires_at=None)
    db.session.commit()
    signatory = version.sign_off.signatories[0]
    link = signatory.token_hash
    # Ann's approval, stored by another request after the consultant's page was read.
    with db.engine.begin() as connection:
        connection.execute(update(Signatory).values(action="approved", acted_at=AT))
    with pytest.raises(signoff.SignOffError, match="nothing left to do"):
        signoff.resend(db.session, signatory, expires_at=None)
    with pytest.raises(signoff.SignOffError, match="has already approved"):
        signoff.revoke(db.session, signatory)
    assert signatory.token_hash == link and signatory.revoked_at is None


def test_removing_a_signatory_removed_meanwhile_changes_nothing_more(ctx: Flask) -> None:
    # A double click on Remove: the second request finds the signatory gone already.
    version = freeze()
    for name in ("Ann Lee", "Bo Chen"):
        signoff.add_signatory(
            db.session, version.sign_off, name=name, email=f"{name[:2].lower()}@example.com"
        )
    db.session.commit()
    ann = version.sign_off.signatories[0]
    with db.engine.begin() as connection:
        connection.execute(delete(Signatory).where(Signatory.id == ann.id))
        connection.execute(update(Signatory).values(position=1))
    signoff.remove_signatory(db.session, version.sign_off, ann)
    db.session.commit()
    assert [(s.name, s.position) for s in version.sign_off.signatories] == [("Bo Chen", 1)]


def test_names_match_ignores_case_spacing_and_punctuation_style_only() -> None:
    assert signoff.names_match("  ann   LEE", "Ann Lee")
    assert not signoff.names_match("Ann-Lee", "Ann Lee")
    assert not signoff.names_match("Ann L\u00e9e", "Ann Lee")
    assert not signoff.names_match("Ann Le", "Ann Lee")
    assert not signoff.names_match("", "Ann Lee")
    # Pasted with marks that show nothing, the name is typed as it shows.
    assert signoff.names_match("Ann Lee", "Ann\u00ad Lee\u200b\u200e")


def test_the_link_of_a_signatory_who_acted_cannot_be_revoked(ctx: Flask, app: Flask) -> None:
    version = freeze()
    sign(app, version, "Ann Lee")
    signatory = version.sign_off.signatories[0]
    with pytest.raises(signoff.SignOffError, match="\u2068Ann Lee\u2069 has already approved"):
        signoff.revoke(db.session, signatory, actor="Clara")
    assert signatory.revoked_at is None
    signoff.check_link(signatory)  # still opens the signed charter


def test_revoking_a_revoked_link_again_records_nothing_more(ctx: Flask) -> None:
    # A double click on Revoke: the link stays revoked from the first time, recorded once.
    version = freeze()
    signoff.add_signatory(db.session, version.sign_off, name="Ann Lee", email="ann@example.com")
    signoff.start(db.session, version.sign_off, sequential=True, expires_at=None, now=AT)
    db.session.commit()
    ann = version.sign_off.signatories[0]
    signoff.revoke(db.session, ann, actor="Clara", now=AT + timedelta(minutes=1))
    db.session.commit()
    signoff.revoke(db.session, ann, actor="Clara", now=AT + timedelta(minutes=2))
    db.session.commit()
    assert ann.revoked_at == AT + timedelta(minutes=1)
    assert [e.action for e in version.sign_off.events].count("link revoked") == 1


def test_a_withdrawal_recorded_without_a_name_is_the_consultant_s(ctx: Flask) -> None:
    version = freeze()
    assert signoff.withdrawn_by(version.sign_off) is None  # still being prepared
    signoff.withdraw(db.session, version.sign_off, actor="", now=AT)
    db.session.commit()
    assert signoff.withdrawn_by(version.sign_off) == "the consultant"


def test_an_unsigned_version_names_the_one_to_sign_instead_until_one_is_signed(
    ctx: Flask, app: Flask
) -> None:
    first = freeze(arbitration="Geneva Chamber")
    second = freeze(arbitration="Zurich Chamber")  # withdraws the first from sign-off
    assert signoff.replaced_unsigned_by(db.session, first) is second
    assert signoff.superseded_by(db.session, first) is None
    sign(app, second, "Ann Lee")
    # Signed, the second replaces the first as an amendment would: said once, not twice.
    assert signoff.replaced_unsigned_by(db.session, first) is None
    assert signoff.superseded_by(db.session, first) is second
    assert signoff.replaced_unsigned_by(db.session, second) is None


def test_staleness_follows_the_order_decisions_are_stored_in_not_the_clocks(ctx: Flask) -> None:
    session: Session = db.session
    found = engagement()
    first = record_decision(session, found, evaluate(ANSWERS))
    session.flush()
    # The node that freezes runs a minute behind the one that stored the decision.
    behind = first.created_at - timedelta(minutes=1)
    version = signoff.freeze(session, found, first, details_for_tests(), now=behind)
    session.commit()
    assert signoff.stale_because(session, version) is None
    assert signoff.awaiting_signature(session, found) is version
    signoff.add_signatory(session, version.sign_off, name="Ann Lee", email="ann@example.com")
    # A decision stored afterwards by a node whose clock runs further behind is still newer,
    # and the page says when it was made as that node recorded it.
    later = record_decision(session, found, evaluate({**ANSWERS, "timeline_pressure": 5}))
    later.created_at = behind - timedelta(minutes=5)
    session.commit()
    assert signoff.stale_because(session, version) is later
    assert signoff.awaiting_signature(session, found) is None
    when = later.created_at.strftime("%-d %b %Y")
    with pytest.raises(signoff.StaleVersion, match=when):
        signoff.start(session, version.sign_off, sequential=True, expires_at=None)
    with pytest.raises(signoff.StaleVersion, match=when):
        signoff.add_signatory(session, version.sign_off, name="Bo Chen", email="bo@example.com")


NOTE = "The release date is flexible; agreed in the workshop."


def _frozen_from(decision: Decision, **fields: Any) -> CharterVersion:
    session: Session = db.session
    found = engagement()
    record = record_decision(session, found, decision)
    session.flush()
    details = replace(details_for_tests(), **fields)
    version = signoff.freeze(session, found, record, details, now=record.created_at)
    session.commit()
    return version


def _plain(text: str) -> str:
    return text.replace("\u2068", "").replace("\u2069", "")


def test_an_amendment_shows_how_the_respondents_answers_were_settled(ctx: Flask) -> None:
    ann = Respondent("Ann Lee", "producer", dict(ANSWERS))
    bo = Respondent("Bo Chen", "creator", {**ANSWERS, "timeline_pressure": 1})
    apart = evaluate_respondents([ann, bo], what_if=True)
    first = _frozen_from(apart)
    # The value the parties agree is the one the charter had: only the note is new, and
    # the answers, protocols and model stay as they were.
    level = apart.answers["timeline_pressure"]
    agreed = agree(apart, Agreement("timeline_pressure", level, NOTE))
    assert agreed.answers == apart.answers
    second = _frozen_from(agreed)
    assert NOTE in _pdf_text(second.pdf) and NOTE not in _pdf_text(first.pdf)
    changes = {(c.section, c.item): (c.before, c.after) for c in signoff.diff(first, second)}
    apart_section = "Where the Parties started apart"
    assert changes == {
        (apart_section, "Timeline pressure: level it rests on"): (
            f"{level}, cautious middle, not yet agreed",
            f"{level}, agreed after discussion",
        ),
        (apart_section, "Timeline pressure: why"): ("-", NOTE),
    }

    # Bo answers again, further apart on innovation: his own level, the questions far apart
    # and the reasoning change; the agreement made on his earlier answers does not carry over.
    again = Respondent("Bo Chen", "creator", {**bo.answers, "innovation": 2})
    third = _frozen_from(evaluate_respondents([ann, again], what_if=True))
    changes = {(c.section, c.item): (c.before, c.after) for c in signoff.diff(second, third)}
    own = changes[("Respondents", "Innovation requirements: own levels")]
    assert tuple(_plain(t) for t in own) == ("Ann Lee 4 · Bo Chen 4", "Ann Lee 4 · Bo Chen 2")
    assert "\u2068Bo Chen\u2069 2" in own[1]  # each name set apart from its level
    assert changes[(apart_section, "Questions far apart")] == (
        "Timeline pressure (gap of 2)",
        "Innovation requirements (gap of 2); Timeline pressure (gap of 2)",
    )
    assert changes[(apart_section, "Innovation requirements: level it rests on")] == (
        "-",
        "3, cautious middle, not yet agreed",
    )
    assert changes[(apart_section, "Timeline pressure: level it rests on")] == (
        f"{level}, agreed after discussion",
        f"{level}, cautious middle, not yet agreed",
    )
    assert changes[(apart_section, "Timeline pressure: why")] == (NOTE, "-")
    assert ("Respondents", "Who answered") not in changes  # the same two people

    # A charter on one set of answers after one on several respondents' says who answered.
    alone = _frozen_from(evaluate(ANSWERS))
    changes = {(c.section, c.item): (c.before, c.after) for c in signoff.diff(third, alone)}
    who = changes[("Respondents", "Who answered")]
    assert (_plain(who[0]), who[1]) == (
        "Ann Lee (producer); Bo Chen (creator)",
        "one set of answers",
    )
    assert all(c.before != c.after for c in signoff.diff(third, alone))


def test_an_amendment_ranks_equal_scores_as_the_charter_s_table_does(ctx: Flask) -> None:
    """Integrated and agile tie on 11441441; the charter lists the recommended one first."""
    tied = evaluate(dict(zip(FACTOR_KEYS, map(int, "11441441"), strict=True)))
    assert len(set(tied.scores.values())) < len(tied.scores)
    [change] = [
        c
        for c in signoff.diff(_frozen_from(evaluate(ANSWERS)), _frozen_from(tied))
        if c.item == "Fit of each model"
    ]
    assert change.after == " · ".join(f"{title} {score:g}" for title, score in score_rows(tied))


def test_an_amendment_shows_changes_to_the_reasoning_the_charter_prints(ctx: Flask) -> None:
    first = _frozen_from(evaluate(ANSWERS))
    second = _frozen_from(evaluate({**ANSWERS, "timeline_pressure": 5}))
    changes = signoff.diff(first, second)
    items = {(c.section, c.item): (c.before, c.after) for c in changes}
    assert items[("Reasoning", "Fit of each model")] == (
        "Integrated Co-Creation 9 · Agile Production Partnership 7 · "
        "Strategic Resource Partnership 0",
        "Agile Production Partnership 10 · Integrated Co-Creation 8 · "
        "Strategic Resource Partnership 0",
    )
    before, after = items[("Reasoning", "Rule time-to-market")]
    assert before == "-" and after.startswith("Timeline pressure is 5 of 5")
    # With the points it gives each model, as "Why this model" prints them.
    assert after.endswith("(Agile Production Partnership +3, Integrated Co-Creation −1)")
    assert ("Reasoning", "Rules version") not in items
    # Nothing is listed twice, and every change is one.
    assert len(items) == len(changes) and all(c.before != c.after for c in changes)


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_audit_trail_keeps_what_a_request_said_without_its_control_characters(
    ctx: Flask,
) -> None:
    version = freeze()
    signoff.add_signatory(db.session, version.sign_off, name="Ann Lee", email="ann@example.com")
    signoff.start(db.session, version.sign_off, sequential=True, expires_at=None)
    db.session.commit()
    odd = signoff.Actor(ip="198.51.100.4\x00", user_agent="Mozilla/5.0\x00 (X11)\x1b[2J")
    signatory = version.sign_off.signatories[0]
    signoff.approve(db.session, signatory, typed_name="Ann Lee", source=odd, sealer=sealer(ctx))
    db.session.commit()
    db.session.expire_all()
    approved = [e for e in version.sign_off.events if e.action == "approved"]
    assert [(e.ip, e.user_agent) for e in approved] == [("198.51.100.4?", "Mozilla/5.0? (X11)?[2J")]


def test_an_amendment_tells_tipping_points_not_worked_out_from_none() -> None:
    # A version kept before tipping points were was never looked at one step away: the
    # comparison must not say it had none.
    robust = dict(zip(FACTOR_KEYS, (4, 2, 1, 4, 1, 4, 4, 5), strict=True))
    data = evaluate(robust, what_if=True).to_dict()
    assert data["what_if"] == []
    unknown = Decision.from_dict({k: v for k, v in data.items() if k != "what_if"})
    old = SimpleNamespace(decision=unknown, fields={})
    new = SimpleNamespace(decision=Decision.from_dict(data), fields={})
    changes = {(c.section, c.item): (c.before, c.after) for c in signoff.diff(old, new)}
    assert changes[("Reasoning", "Tipping points")] == ("not worked out", "none")
