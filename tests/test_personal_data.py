"""Personal data kept out of what the service writes besides its database: its logs."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from assess.extensions import db
from assess.models import Respondent

pytestmark = pytest.mark.db


def test_a_database_error_in_the_log_names_none_of_the_values_sent(app: Flask) -> None:
    # An unexpected error is logged with its traceback, which would otherwise list every
    # value of the failed statement: a respondent's name and answers, an account's email
    # and password hash.
    with app.app_context(), pytest.raises(IntegrityError) as failed:
        db.session.execute(
            insert(Respondent).values(
                engagement_id=999,
                name="Xanthe Oyelaran",
                side="producer",
                answers={"innovation": 4},
            )
        )
    db_logged = logging.Formatter().formatException((failed.type, failed.value, failed.tb))
    assert "Xanthe Oyelaran" not in db_logged and "innovation" not in db_logged, db_logged
    assert "INSERT INTO respondents" in db_logged  # what failed is still said
