"""The API's interactive docs page, self-hosted: no third-party scripts, works under the CSP."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, current_app, render_template
from markupsafe import Markup, escape

bp = Blueprint(
    "api_docs",
    __name__,
    url_prefix="/api/v1",
    static_folder="static",
    static_url_path="/docs/static",
)

METHODS = ("get", "post", "put", "patch", "delete")


# A CommonMark code span, as the OpenAPI descriptions (written for generated docs) mark code.
CODE_SPAN = re.compile(r"`([^`]+)`")


@bp.app_template_filter("code_spans")
def code_spans(text: str) -> Markup:
    """Show a description's code spans as code, not with their backticks."""
    return Markup(CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Replace a reference to a component (a schema, a parameter) by the component itself,
    one level deep."""
    reference = item.get("$ref", "")
    if reference.startswith("#/components/"):
        kind, name = reference.removeprefix("#/components/").split("/", 1)
        resolved: dict[str, Any] = spec["components"].get(kind, {}).get(name, item)
        return resolved
    return item


# The page's sections, by the resource a path is about, in the order a client meets them.
GROUPS = (
    ("evaluate", "Evaluation (no account needed)"),
    ("engagements", "Engagements"),
    ("respondents", "Respondents and answers"),
    ("decisions", "Decisions and charters"),
    ("signoff", "Sign-off"),
)


def group_of(path: str) -> str:
    """Return the title of the section a path belongs to."""
    words = [part for part in path.split("/") if part and not part.startswith("{")]
    if "evaluate" in words:
        resource = "evaluate"
    elif "versions" in words:
        resource = "signoff"
    else:
        resource = next((w for w in reversed(words) if w in dict(GROUPS)), "engagements")
    return dict(GROUPS)[resource]


def parameters(
    spec: dict[str, Any], item: dict[str, Any], operation: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return an operation's parameters, those declared on its path first, as the form asks
    for them: the path's own are required, the query's optional."""
    declared: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = resolve(spec, parameter)
        declared[(parameter["name"], parameter["in"])] = parameter  # the operation's own win
    return [
        {
            "name": p["name"],
            "in": p["in"],
            "required": bool(p.get("required")) or p["in"] == "path",
            "numeric": p.get("schema", {}).get("type") == "integer",
            "description": p.get("description", ""),
        }
        for p in declared.values()
        if p["in"] in ("path", "query")
    ]


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the documented operations in path order, with what the page shows of each."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            found.append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "secured": bool(operation.get("security")),
                    "parameters": parameters(spec, item, operation),
                    "body": json.dumps(resolve(spec, body["schema"]), indent=2) if body else "",
                    "example": json.dumps(body.get("example", {}), indent=2) if body else "",
                    "responses": sorted(operation.get("responses", {})),
                    "group": group_of(path),
                }
            )
    order = [title for _, title in GROUPS]
    return sorted(found, key=lambda op: order.index(op["group"]))  # stable: path order within


@bp.get("/docs")
def docs() -> str:
    """List every operation with its schema, and let a visitor try it with their token."""
    spec = current_app.extensions["assess.api"].spec.to_dict()
    schemas = {
        name: json.dumps(schema, indent=2)
        for name, schema in spec.get("components", {}).get("schemas", {}).items()
    }
    return render_template(
        "web/api/docs.html", operations=operations(spec), schemas=schemas, info=spec["info"]
    )
