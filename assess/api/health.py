"""/healthz: is this node able to serve? It answers 200 only when the database answers and
has been migrated as far as this version of assess needs."""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from flask import Blueprint, Response, current_app, jsonify

from assess.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Check the database with a trivial query; 503 when it does not answer, or when it lacks
    migrations this version needs (every page would fail on the missing tables or columns)."""
    try:
        with db.engine.connect() as connection:
            migrated_to = MigrationContext.configure(connection).get_current_heads()
    except Exception as error:  # any failure to reach the database means "not healthy"
        current_app.logger.warning("Health check failed: %s", error.__class__.__name__)
        response = unavailable("unreachable")
    else:
        if behind(migrated_to):
            current_app.logger.warning(
                "Health check failed: the database is at migration %s, this version needs %s;"
                " run 'assess db upgrade'",
                ", ".join(migrated_to) or "none",
                migrations()[0],
            )
            response = unavailable("not migrated")
        else:
            response = jsonify({"status": "ok", "database": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


def unavailable(database: str) -> Response:
    response = jsonify({"status": "unavailable", "database": database})
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response


def behind(migrated_to: tuple[str, ...]) -> bool:
    """Tell whether the database lacks migrations this version has. A migration this version
    does not know is a newer version's: during a rolling upgrade the nodes still on this one
    keep serving (a migration only adds what they can ignore)."""
    order = migrations()
    return not migrated_to or any(
        revision in order and revision != order[0] for revision in migrated_to
    )


@cache
def migrations() -> list[str]:
    """This version's migrations, the newest first (read once per process)."""
    from assess.commands import migration_order

    return migration_order()
