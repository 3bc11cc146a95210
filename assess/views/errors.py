"""Friendly error pages: no traceback ever reaches a user."""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadHost, HTTPException, InternalServerError
from werkzeug.wrappers import Response

from assess.extensions import db
from assess.views import page_at, signoff, survey
from assess.views.auth import pause_left, safe_next, sign_in_again_address

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("This request could not be understood", "Go back, reload the page and try again."),
    403: ("You cannot open this page", "It belongs to another account."),
    404: (
        "Page not found",
        "The address may be mistyped, or the page may have moved. "
        "Check the link, or start again from the home page.",
    ),
    # Met by opening, from a bookmark or the history, an address only a form posts to.
    405: (
        "This address only works from a button",
        "It takes what a button on a page sends; it does not open from a link or a typed "
        "address. Go back to the page and use its button.",
    ),
    409: ("This has already been done", "Reload the page to see the current state."),
    413: ("That was too much to send", "Shorten what you entered and try again."),
    # Asked by a PDF viewer or a resumed download for bytes past the end of the file.
    416: ("That part of the file is not there", "Download the whole file again."),
    429: (
        "Too many attempts",
        "For your security, there is a pause after too many attempts in a short time. "
        "Try again in {pause}.",
    ),
    500: (
        "Something went wrong on our side",
        "Nothing you did caused this. Please try again in a moment.",
    ),
}


# Personal links (questionnaire, sign-off) reach people without an account: when one does
# not open, say what to do about a link rather than about a page.
PERSONAL_LINKS = {"survey", "sign"}
LINK_NOT_FOUND = (
    "This link does not open anything",
    "It may have been cut short when it was copied, or replaced by a newer link. Open the "
    "whole address from the most recent message you received, or ask your consultant for a "
    "new link.",
)

# An engagement's pages answer 404 for another consultant's engagement as for a missing one:
# say what is missing, without telling the two apart.
ENGAGEMENT_NOT_FOUND = (
    "Page not found",
    "No engagement of yours is at this address: the link may be mistyped or cut short, or "
    "lead to an engagement in another account. Find the engagement in your list instead.",
)

# Reached from a charter's QR code or a typed address: the file itself can still be checked.
DOCUMENT_NOT_FOUND = (
    "No charter has this document ID",
    "This service has no charter with the ID in this address. Compare it with the document ID "
    "printed on the charter, or check the charter file itself.",
)

# A form's token lives as long as the session: a consultant's sign-in, a respondent's
# browser session (no sign-in on a personal link).
# Signing in elsewhere ends no session; signing out, or a sign-in left unused, does.
FORM_EXPIRED = (
    "For your security, a form expires when the sign-in it was opened in ends: when you "
    "sign out, or after {hours} hours without opening a page. Go back, reload the page and "
    "submit it again."
)
SIGN_OUT_REFUSED = (
    "That Sign out button was on a page opened before you last signed in, so for your "
    "security it could not sign you out. Use Sign out at the top of this page."
)
SIGN_IN_PAGE_EXPIRED = (
    "This sign-in page was open too long to be sent, for your security. Enter your "
    "password again and sign in."
)
FORM_EXPIRED_ON_LINK = (
    "For your security, a page opened before the browser was closed can no longer be sent. "
    "Go back, reload the page and send it again."
)
# The browser kept its cookie, but the session it holds has ended: unused for hours (or
# signed with a key the service no longer has).
FORM_LEFT_OPEN_ON_LINK = (
    "For your security, a page open for more than {hours} hours can no longer be sent. "
    "Go back, reload the page and send it again."
)
# A page anyone uses without an account (checking a charter): no sign-in to speak of.
FORM_EXPIRED_PUBLIC = (
    "For your security, a page can no longer be sent once the browser it was opened in has "
    "been closed, or after {hours} hours without opening a page. Go back, reload the page "
    "and send it again."
)
# On a questionnaire, each step is saved as it is sent: a form refused loses none of that.
ANSWERS_KEPT = "The answers you saved before are kept."
# A form on a personal link sent with no cookie at all: either the browser refuses this
# site's cookies (then no form can ever be sent), or the cookie went with a closed browser.
# Only a cookie set now and sent back tells the two apart.
COOKIES_BLOCKED = (
    "Your browser is blocking this site's cookies",
    "This site needs one cookie to accept a form from you. It protects what you send and is "
    "deleted when you close the browser; your browser refused it, so nothing can be sent "
    "from here. Allow cookies for {host} in your browser's settings, then reload the page "
    "and send it again.",
)
COOKIE_PROBE = "cookie_probe"


def _page_to_reload(app: Flask, path: str) -> str | None:
    """Return the personal-link page a form was sent from, to open again: the path itself,
    or the link's own page for an action that is only ever posted (approve, decline)."""
    if not path.startswith("/") or path.startswith("//"):
        return None
    for candidate in (path, path.rsplit("/", 1)[0]):
        if _link_of(app, candidate) in PERSONAL_LINKS:
            return candidate
    return None


def _link_of(app: Flask, path: str) -> str | None:
    """Return the blueprint of the page at ``path`` (a path within the app), if any."""
    page = page_at(path, app)
    return page[0].partition(".")[0] if page else None


def require_a_host_name() -> None:
    """Refuse a request whose Host werkzeug cannot read as a host name (an empty label, one
    longer than 63 characters, an "xn--" label that decodes to nothing): the addresses of
    this request and of every link on its page are made from it, and would fail."""
    try:
        request.url  # noqa: B018 (read for the error it raises)
    except UnicodeError:
        raise BadHost() from None


def register(app: Flask) -> None:
    """Install the error handlers on the app."""
    # First of all the checks before a view: the others (CSRF, rate limits) answer with
    # pages made from the request's address too.
    app.before_request_funcs.setdefault(None, []).insert(0, require_a_host_name)
    app.register_error_handler(CSRFError, csrf_error)
    app.add_url_rule("/cookie-check", "cookie_check", cookie_check, methods=["GET"])
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def csrf_error(error: CSRFError) -> tuple[str, int] | Response:
    """Answer a form sent with a stale or missing token: with what was asked for when it is
    already so, else with a page saying the form expired and what to do."""
    # Signing out or in from a tab opened before the other tab did it: the form token is
    # stale, but what was asked for is already so. A forged form changes nothing here.
    if request.endpoint == "auth.logout" and not current_user.is_authenticated:
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    if request.endpoint == "auth.logout":
        # Whoever pressed Sign out may walk away from the computer: say it did not happen.
        page = render_template(
            "web/error.html", code=400, title="You are still signed in", message=SIGN_OUT_REFUSED
        )
        return page, 400
    if request.endpoint == "auth.login":
        return _sign_in_again()
    hours = int(current_app.permanent_session_lifetime.total_seconds() // 3600)
    if request.blueprint in PERSONAL_LINKS:
        return _form_expired_on_link(hours)
    if request.blueprint == "verify":
        page = render_template(
            "web/error.html",
            code=400,
            title="Your form has expired",
            message=FORM_EXPIRED_PUBLIC.format(hours=hours),
            back=(url_for("verify.index"), "Reload the page"),
        )
        return page, 400
    # Signed out now: the way on is signing in again, back to the form's page if it has one.
    again = None if current_user.is_authenticated else (sign_in_again_address(), "Sign in again")
    page = render_template(
        "web/error.html",
        code=400,
        title="Your form has expired",
        message=FORM_EXPIRED.format(hours=hours),
        keeps_drafts=True,
        back=again,
    )
    return page, 400


def _form_expired_on_link(hours: int) -> tuple[str, int] | Response:
    """Answer a form on a personal link sent after its session ended: a questionnaire step
    comes back filled in with what it chose, any other form says to reload its page."""
    browser_closed = current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
    # Only a form the page drew carries a token: one without is nobody's to fill in again.
    if request.form.get("csrf_token"):
        if request.endpoint == "survey.step":
            survey.keep_unsent(browser_closed=browser_closed)
        elif request.endpoint in signoff.TYPED:
            signoff.keep_unsent(browser_closed=browser_closed)
    back = _page_to_reload(current_app, request.path)
    if browser_closed:
        session[COOKIE_PROBE] = True
        return redirect(url_for("cookie_check", back=back), code=303)
    page = _unsent_page(back)
    if page:
        return redirect(page, code=303)
    message = FORM_LEFT_OPEN_ON_LINK.format(hours=hours)
    return _refused_on_link("Your form has expired", message, back)


def _refused_on_link(
    title: str, message: str, back: str | None, *, saved_before: bool = True
) -> tuple[str, int]:
    """The page of a form on a personal link that cannot be sent, leading back to its page;
    on a questionnaire, saying that what was saved before is kept."""
    if saved_before and back and _link_of(current_app, back) == "survey":
        message = f"{message} {ANSWERS_KEPT}"
    page = render_template(
        "web/error.html",
        code=400,
        title=title,
        message=message,
        home=False,
        personal_link=True,
        back=(request.script_root + back, "Reload the page") if back else None,
    )
    return page, 400


def _sign_in_again() -> tuple[str, int] | Response:
    """Answer a sign-in form whose token is stale: the engagements when signed in already,
    else the form again."""
    if current_user.is_authenticated:
        return redirect(url_for("engagements.index"))
    # No sign-in ended here: the page was open longer than the browser's session (or
    # across a browser restart). Its form again, with a token that works.
    form = {"email": request.form.get("email", "")[:254]}
    errors = {"_schema": [SIGN_IN_PAGE_EXPIRED]}
    next_path = safe_next(request.values.get("next"))
    return render_template("web/login.html", form=form, errors=errors, next=next_path), 400


def cookie_check() -> tuple[str, int] | Response:
    """Say why a form on a personal link was refused, once its cookie came back or not."""
    back = _page_to_reload(current_app, request.args.get("back", ""))
    if not session.get(COOKIE_PROBE):
        # Nothing could be saved from a browser that refuses the cookie.
        title, message = COOKIES_BLOCKED[0], COOKIES_BLOCKED[1].format(host=request.host)
        return _refused_on_link(title, message, back, saved_before=False)
    page = _unsent_page(back)
    if page:
        return redirect(page, code=303)
    return _refused_on_link("Your form has expired", FORM_EXPIRED_ON_LINK, back)


def _unsent_page(back: str | None) -> str | None:
    """Return the address of the personal-link page at ``back`` that comes back filled in
    with what was sent from it, if the session keeps that."""
    if not back:
        return None
    return survey.unsent_page(back) or signoff.unsent_page(back)


def http_error(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    """Answer an HTTP error with a page saying what went wrong and what to do."""
    if isinstance(error, BadHost):
        # A Host that is no host name leaves no address to link to from this request:
        # the page, whose every link is made for it, cannot be drawn.
        title, message = MESSAGES[400]
        return f"{title}. {message}\n", 400, [("Content-Type", "text/plain; charset=utf-8")]
    code = error.code or 500
    if code == 404 and request.blueprint == "survey":
        # Said on the page every questionnaire link that does not open shows.
        page = render_template("web/survey/link.html", reason="unknown")
        return page, code, []
    title, message, back = _error_wording(error, code)
    personal_link = request.blueprint in PERSONAL_LINKS
    page = render_template(
        "web/error.html",
        code=code,
        title=title,
        message=message,
        home=not personal_link,
        personal_link=personal_link,
        back=back,
    )
    # Keep what the error says in its headers: Allow on a 405, Retry-After on a 429.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return page, code, headers


def _error_wording(error: HTTPException, code: int) -> tuple[str, str, tuple[str, str] | None]:
    """The title and message of an error page, and the way back it offers if any: a page
    not found is said as what was looked for (a personal link, a charter, an engagement)."""
    title, message = MESSAGES.get(code, (error.name, "Go back and try again."))
    if code == 429:
        return title, message.format(pause=pause_left()), None
    if code != 404:
        return title, message, None
    if request.blueprint in PERSONAL_LINKS:
        return (*LINK_NOT_FOUND, None)
    if request.blueprint == "verify":
        return (*DOCUMENT_NOT_FOUND, (url_for("verify.index"), "Check the charter file"))
    if current_user.is_authenticated and request.path.startswith("/engagements/"):
        return (*ENGAGEMENT_NOT_FOUND, None)
    return title, message, None


def unexpected(error: Exception) -> tuple[str, int, list[tuple[str, str]]]:
    """Answer any other error with the page of a 500, logging it with its traceback."""
    # Logged with the traceback for us; the user only sees the friendly page.
    current_app.logger.exception("Unhandled error", exc_info=error)
    # The page itself reads the database (who is signed in): a failed transaction must
    # not fail it too.
    db.session.rollback()
    return http_error(InternalServerError())
