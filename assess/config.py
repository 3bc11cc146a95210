"""Configuration from the environment; create_app(config) overrides any key."""

from __future__ import annotations

import os
from typing import Any


def from_environment(instance_path: str) -> dict[str, Any]:
    """Read settings from environment variables, with embedded defaults for a laptop."""
    database_url = os.environ.get(
        "DATABASE_URL", f"sqlite:///{os.path.join(instance_path, 'assess.sqlite3')}"
    )
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL"),
        "RULES_DIR": os.environ.get("ASSESS_RULES_DIR"),
    }
