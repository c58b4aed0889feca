"""The web API's OpenAPI schema (``/openapi.json``) and a page listing its operations
(``/docs``), for logged-in users only: the schema names every route, and nothing of this
service is for callers who have not logged in.

``/docs`` is rendered here from the schema rather than by Swagger UI, which FastAPI loads from
a CDN: a hospital network may have no internet, and the pages' Content-Security-Policy allows
scripts from this site only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from publisher.web.auth import Session
from publisher.web.context import current_session
from publisher.web.render import Safe, fmt, join, page

router = APIRouter()

METHODS = ("get", "post", "put", "patch", "delete")


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _session: Session = Depends(current_session)) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def _parameters(operation: dict[str, Any]) -> Safe:
    params = operation.get("parameters", [])
    return join(fmt("<code>{}</code> ({}{})", p.get("name", ""), p.get("in", ""), ", required" if p.get("required") else "")
                for p in params) if params else Safe("")


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request, session: Session = Depends(current_session)) -> HTMLResponse:
    schema = request.app.openapi()
    rows = join(
        fmt('<tr><td><code>{method}</code></td><td><code>{path}</code></td><td>{summary}</td><td>{params}</td></tr>',
            method=method.upper(), path=path, summary=op.get("summary", ""), params=_parameters(op))
        for path, item in sorted(schema.get("paths", {}).items())
        for method, op in item.items() if method in METHODS
    )
    body = fmt(
        '<p>The machine-readable schema is <a href="/openapi.json">/openapi.json</a> (OpenAPI {version}). '
        'Every operation needs a logged-in session (the <code>discpub_session</code> cookie); '
        'forms also need the session\'s CSRF token.</p>'
        '<table class="api"><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Parameters</th></tr></thead>'
        '<tbody>{rows}</tbody></table>',
        version=schema.get("openapi", ""), rows=rows,
    )
    return HTMLResponse(page("Web API", body, session))
