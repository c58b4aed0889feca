"""The request's language (:mod:`publisher.web.i18n`) set for everything that renders it, and
the Account page's chooser that keeps a person's choice in a cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from publisher.web import i18n
from publisher.web.context import Posted, posted
from publisher.web.render import Safe, fmt, options

router = APIRouter()

#: A year: the choice is the person's, not the session's.
COOKIE_SECONDS = 365 * 24 * 3600


def i18n_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def language(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        code = i18n.choose(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language", ""))
        i18n.use(code)  # this request's context only: each request runs in a context of its own
        response = await call_next(request)
        response.headers.setdefault("Content-Language", code)
        return response


def chooser(request: Request, csrf: Safe) -> Safe:
    """The language form of the Account page, showing the saved choice."""
    return fmt('<h2>{title}</h2><form method="post" action="/account/language" class="stack">{csrf}'
               '<label>{label} <select name="language">{choices}</select></label><button type="submit">{save}</button></form>',
               title=i18n.t("Language"), csrf=csrf, label=i18n.t("Language"),
               choices=options({"": i18n.t("as the browser asks"), **i18n.LANGUAGES}, request.cookies.get(i18n.LANG_COOKIE, "")), save=i18n.t("Save"))


@router.post("/account/language")
def set_language(request: Request, p: Posted = Depends(posted())) -> Response:
    code = p.form.get("language")
    response = RedirectResponse("/account", status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.LANG_COOKIE, code, max_age=COOKIE_SECONDS, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
    else:
        response.delete_cookie(i18n.LANG_COOKIE, path="/")
    return response

