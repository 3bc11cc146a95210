"""assess: choose a producer partnership model and write the charter that goes with it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, render_template

from assess import config as app_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates")
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(app_config.from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    register_views(app)
    return app


def register_views(app: Flask) -> None:
    @app.get("/")
    def home() -> str:
        return render_template("web/home.html")
