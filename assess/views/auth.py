"""Consultants sign in and out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import unicodedata
from urllib.parse import unquote, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    after_this_request,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from assess.api.tokens import active_tokens
from assess.emails import AddressError, normalise
from assess.extensions import db, limiter, login_manager
from assess.forms import PASSWORD_MIN, Errors, LoginSchema, PasswordChangeSchema, load_form
from assess.models import Consultant, utcnow

bp = Blueprint("auth", __name__)


def hasher() -> PasswordHasher:
    """Return the app's argon2id hasher, with the cost parameters from its configuration."""
    cached: PasswordHasher | None = current_app.extensions.get("assess.hasher")
    if cached is None:
        cached = PasswordHasher(
            time_cost=current_app.config["PASSWORD_HASH_TIME_COST"],
            memory_cost=current_app.config["PASSWORD_HASH_MEMORY_KIB"],
        )
        # Verified against when the email is unknown, so both cases take the same time.
        current_app.extensions["assess.dummy_hash"] = cached.hash("not a real password")
        current_app.extensions["assess.hasher"] = cached
    return cached


def hash_password(password: str) -> str:
    """Return the argon2id hash to store for a password."""
    return str(hasher().hash(unicodedata.normalize("NFC", password)))


def _typed_forms(password: str) -> list[str]:
    """Return the forms a typed password may be stored in: NFC, as every password is hashed
    since accents typed on one device ("é") and another ("e" and a combining accent) are
    unified; and as typed, for a password stored before that."""
    unified = unicodedata.normalize("NFC", password)
    return [unified] if unified == password else [unified, password]


def load_consultant(session_id: str) -> Consultant | None:
    """Return the signed-in consultant for Flask-Login, if the session's password is current,
    its sign-in is not older than SIGN_IN_MAX_AGE and it is used in the browser signed in."""
    number, _, fingerprint = session_id.partition(".")
    if not number.isdigit() or len(number) > 18:
        return None
    # A copy of the session cookie in another browser is not honoured. Flask-Login's
    # "strong" protection checks this only for sessions that end with the browser, and a
    # consultant's is kept across browser restarts.
    if session.get("_id") != session_identifier():
        return None
    began = session.get("signed_in_at")
    max_age = current_app.config["SIGN_IN_MAX_AGE"].total_seconds()
    if not isinstance(began, int) or time.time() - began > max_age:
        return None
    consultant = db.session.get(Consultant, int(number))
    if consultant is None or not hmac.compare_digest(fingerprint, consultant.session_fingerprint):
        return None
    return consultant


def session_identifier() -> str:
    """Return what ties a sign-in to the browser it was made in (Flask-Login keeps it in the
    session as "_id"). Not the client's address, as Flask-Login's own is: a signed-in laptop
    changes it (another network, a new IPv6 address), and it reads X-Forwarded-For, which
    any client can send."""
    browser = request.headers.get("User-Agent", "")
    return hashlib.sha512(browser.encode()).hexdigest()


def find_consultant(email: str) -> Consultant | None:
    """Return the consultant with this email address, ignoring case."""
    return db.session.scalar(
        select(Consultant).where(func.lower(Consultant.email) == email.strip().lower())
    )


def check_password(consultant: Consultant | None, password: str) -> bool:
    """Verify a password in constant time, rehashing when the parameters have changed."""
    argon2 = hasher()
    stored = consultant.password_hash if consultant else current_app.extensions["assess.dummy_hash"]
    for number, typed in enumerate(_typed_forms(password)):
        try:
            argon2.verify(stored, typed)
        except (VerificationError, InvalidHashError):
            continue
        if consultant is None:
            return False
        if number > 0 or argon2.check_needs_rehash(consultant.password_hash):
            consultant.password_hash = hash_password(password)
        return True
    return False


def safe_next(target: str | None) -> str | None:
    """Return a same-site path to go to after signing in, or None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read a backslash as a slash; control characters cannot go into a header.
    if "\\" in target or not target.isprintable():
        return None
    # Only a page to open: an address that takes forms only (signing out) would answer 405.
    # Served under a prefix, the path starts with it (as the sign-in link's "next" does).
    path = unquote(parts.path)
    root = request.script_root
    if root:
        if not path.startswith(root + "/"):
            return None
        path = path[len(root) :]
    try:
        current_app.url_map.bind("").match(path, method="GET")
    except RequestRedirect:
        pass  # the same page at its canonical address
    except HTTPException:
        return None
    return target


def login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _account_login_limit() -> str:
    return str(current_app.config["ACCOUNT_LOGIN_RATE_LIMIT"])


def _address_tried() -> str | None:
    """Return the address whose password the request tries, as accounts are found by it:
    the one typed on the sign-in form, or the signed-in consultant's on a form asking for
    the password again. None when there is none.

    It must not raise: the limiter would take any error for its storage failing.
    """
    if request.endpoint == "auth.login":
        typed = request.form.get("email", "")
    else:
        try:
            if not current_user.is_authenticated:
                return None
            typed = str(current_user.email)
        except SQLAlchemyError:  # not counted; the page itself reports the database
            db.session.rollback()
            return None
    try:
        return normalise(typed, to_store=False).lower()
    except AddressError:
        return None


def _account_tried() -> str:
    """Key wrong passwords by the account tried, whichever client sends them: guesses at one
    account's password spread over many addresses still meet a limit. Hashed, so the
    rate-limit store holds no email addresses."""
    email = _address_tried() or ""
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _no_account_tried() -> bool:
    """A form without an address tries no account's password: counted together, such forms
    sent by bots from everywhere would pause every consultant who mistypes an address."""
    return _address_tried() is None


def _failed(response: Response) -> bool:
    return response.status_code != 302


def _password_refused(_response: Response) -> bool:
    """Whether the consultant gave a wrong password again (other problems with the form are
    no guesses at it)."""
    return bool(g.get("password_refused"))


# --- device cookies --------------------------------------------------------------------
# The limit per account stops guesses spread over many clients, but lets anyone pause a
# consultant's sign-in by guessing wrong on purpose. A browser the consultant has signed in
# with gets a device cookie (OWASP, "Slow Down Online Guessing Attacks with Device
# Cookies"): signing in there to that account is neither counted in nor refused by the
# account's limit, only by the limit per client. Every other client meets both as before.

DEVICE_COOKIE = "device"


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        str(current_app.config["SECRET_KEY"]), salt="assess.device-cookie"
    )


def _device_binding(consultant: Consultant, address: str) -> str:
    """Bind a device cookie to the account, the address it is signed in with and the
    stored password hash: a new password (on the account page or the command line) or a
    new address voids every cookie given before, with nothing stored for it (the old
    address, which another account may take, is checked by ``_signs_in_with``). A stronger
    hash of the same password at sign-in voids them too; the browser signing in gets a new
    one at once, the others at their next sign-in."""
    bound = f"{consultant.id}\n{address}\n{consultant.password_hash}"
    return hashlib.sha256(bound.encode()).hexdigest()[:32]


def remember_device(response: Response, consultant: Consultant) -> None:
    """Give the browser that has just proved the account's password a new device cookie,
    sent to the sign-in page only."""
    try:
        address = normalise(consultant.email, to_store=False).lower()
    except AddressError:  # an address that could never be typed at sign-in
        return
    # A new device each time: wrong passwords counted against the old cookie are forgotten
    # once the password is proved.
    device = secrets.token_urlsafe(12)
    value = _device_serializer().dumps(
        [consultant.id, _device_binding(consultant, address), device]
    )
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(current_app.config["DEVICE_COOKIE_LIFETIME"].total_seconds()),
        path=url_for("auth.login"),
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )


def _known_device() -> str | None:
    """Return the device of a valid device cookie given for the account tried, or None.

    It must not raise: the limiter would take any error for its storage failing.
    """
    value = request.cookies.get(DEVICE_COOKIE)
    address = _address_tried()
    if not value or address is None:
        return None
    max_age = current_app.config["DEVICE_COOKIE_LIFETIME"].total_seconds()
    try:
        number, binding, device = _device_serializer().loads(value, max_age=max_age)
    except (BadData, TypeError, ValueError):
        return None
    if not (
        type(number) is int
        and 0 < number < 2**63
        and isinstance(binding, str)
        and isinstance(device, str)
    ):
        return None
    try:
        consultant = db.session.get(Consultant, number)
    except SQLAlchemyError:  # not exempt; the page itself reports the database
        db.session.rollback()
        return None
    if consultant is None or not _signs_in_with(consultant, address):
        return None
    if not hmac.compare_digest(binding, _device_binding(consultant, address)):
        return None
    return device


def _signs_in_with(consultant: Consultant, address: str) -> bool:
    """Whether the account signs in with this address now: a cookie given for an address the
    account gave up must not exempt another account that took it."""
    try:
        return normalise(consultant.email, to_store=False).lower() == address
    except AddressError:
        return False


def _device_allowance() -> list[RateLimitItem]:
    return parse_many(str(current_app.config["DEVICE_LOGIN_RATE_LIMIT"]))


def _device_counter(device: str) -> tuple[str, ...]:
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    return (prefix, "device-login", device)


def _trusted_device() -> bool:
    """Whether the sign-in comes from a browser with a valid device cookie for the account
    that has wrong passwords left of its own (DEVICE_LOGIN_RATE_LIMIT).

    A cookie is no password: one copied from the consultant's computer, or left on a shared
    one, must not give unlimited guesses at the account. So each cookie's failed sign-ins
    are counted; past its few, it is counted as any other client, in the account's limit.
    """
    if request.method != "POST":
        return False
    if "trusted_device" not in g:
        device = _known_device()
        counter = _device_counter(device) if device else ()
        # The limiter's storage failing raises here as in its own checks: it then counts
        # in this process's memory and asks again.
        if device and not all(limiter.limiter.test(item, *counter) for item in _device_allowance()):
            device = None
        if device:
            after_this_request(_count_device_failure)
        g.trusted_device = device
    return g.trusted_device is not None


def _count_device_failure(response: Response) -> Response:
    """Count a failed sign-in against the device cookie it was exempt by (counted as the
    account's limit counts: any answer but signing in)."""
    if _failed(response):
        try:
            for item in _device_allowance():
                limiter.limiter.hit(item, *_device_counter(g.trusted_device))
        except Exception:  # the limiter's storage down: the page is answered all the same
            current_app.logger.warning("a failed sign-in from a known browser was not counted")
    return response


def _account_limit_exempt() -> bool:
    return _no_account_tried() or _trusted_device()


# Whoever holds a session (a borrowed laptop, a stolen cookie) gets no more guesses at the
# account's password from the forms that ask for it again than the sign-in form allows, from
# whichever client. Counted apart from failed sign-ins: someone guessing at the sign-in form
# must not stop the consultant from changing the password they fear is found.
password_again_limit = limiter.shared_limit(
    _account_login_limit,
    scope="password-given-again",
    methods=["POST"],
    key_func=_account_tried,
    deduct_when=_password_refused,
    exempt_when=_no_account_tried,
)


def password_given_again(consultant: Consultant, typed: str) -> bool:
    """Check the password a signed-in consultant gives again; a wrong one counts towards
    the account's limit on wrong passwords."""
    if check_password(consultant, typed):
        return True
    g.password_refused = True
    return False


@bp.route("/login", methods=["GET", "POST"])
# Only failed attempts count, so a consultant who signs in is never locked out by it.
@limiter.limit(login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(
    _account_login_limit,
    methods=["POST"],
    key_func=_account_tried,
    deduct_when=_failed,
    exempt_when=_account_limit_exempt,
)
def login() -> str | Response | tuple[str, int]:
    """Sign a consultant in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("engagements.index"))
    next_path = safe_next(request.values.get("next"))
    if request.method != "POST":  # HEAD too: it never reaches the form handling
        return render_template("web/login.html", form={}, errors={}, next=next_path)
    data, errors = load_form(LoginSchema(), request.form)
    consultant = None
    if not errors:
        consultant = find_consultant(data["email"])
        if not check_password(consultant, data["password"]):
            consultant = None
            errors = {"_schema": ["That email and password do not match an account."]}
    if consultant is None:
        form = {"email": request.form.get("email", "")[:254]}
        return render_template("web/login.html", form=form, errors=errors, next=next_path), 422
    consultant.last_login_at = utcnow()
    db.session.commit()
    # A fresh session: nothing from before signing in carries over, above all not the form
    # token, which whoever planted a session cookie in this browser would know.
    session.clear()
    session.permanent = True
    session["signed_in_at"] = int(time.time())
    login_user(consultant)
    response = redirect(next_path or url_for("engagements.index"))
    remember_device(response, consultant)
    return response


def pause_left() -> str:
    """Say how long the limit just exceeded keeps refusing: a minute after a burst, most of
    a day after a daily limit."""
    current = limiter.current_limit
    seconds = current.reset_at - time.time() if current else 60
    minutes = max(1, round(seconds / 60))
    if minutes > 90:
        hours = round(minutes / 60)
        return f"{hours} hours"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(error: RateLimitExceeded) -> tuple[str, int, list[tuple[str, str]]]:
    """Say how long signing in or changing the password stays paused: after the hourly
    limit that is most of an hour, not the minute the general page speaks of."""
    page = render_template(
        "web/error.html",
        code=429,
        title="Too many attempts",
        message="For your security, there is a pause after several failed attempts. "
        f"Try again in {pause_left()}.",
    )
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return page, 429, headers


# Said on the sign-in page a form sent after the sign-in ended leads to.
FORM_NOT_SAVED = (
    "Your sign-in had ended, so what you sent was not saved. Sign in and send it again."
)


def sign_in_again_address() -> str:
    """Return the sign-in page's address for a form sent after the sign-in ended: leading
    back to the form's page when its address opens one (an address that only takes forms
    would answer 405; there the page's script leads back to where the form was typed)."""
    return url_for("auth.login", next=safe_next(request.script_root + request.path))


def require_consultant() -> Response | None:
    """Send visitors who are not signed in to the sign-in page."""
    if current_user.is_authenticated:
        return None
    if request.method in ("GET", "HEAD"):
        response: Response = login_manager.unauthorized()
        return response
    flash(FORM_NOT_SAVED, login_manager.login_message_category)
    return redirect(sign_in_again_address())


@bp.post("/logout")
def logout() -> Response:
    """Sign the consultant out everywhere, forgetting everything the session held (a link
    shown once): a copy of the session cookie taken before stops working too."""
    if current_user.is_authenticated:
        current_user.end_sessions()
        db.session.commit()
    session.clear()
    logout_user()  # after the clear: it marks the remember-me cookie for deletion
    flash("You are signed out, in this browser and everywhere else.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/account")
def account() -> str | Response:
    """The consultant's account: who is signed in, and a new password."""
    if (refused := require_consultant()) is not None:
        return refused
    return _account_page({})


@bp.post("/account/password")
@limiter.limit(login_limit, deduct_when=lambda r: r.status_code == 422)
@password_again_limit
def change_password() -> tuple[str, int] | Response:
    """Set a new password after checking the current one; other sessions are signed out."""
    if (refused := require_consultant()) is not None:
        return refused
    consultant: Consultant = current_user._get_current_object()
    data, errors = load_form(PasswordChangeSchema(), request.form)
    # Said along with the other fields' problems, as the form comes back with all three empty.
    current = request.form.get("current_password", "")
    if (
        current
        and "current_password" not in errors
        and not password_given_again(consultant, current)
    ):
        errors = {"current_password": ["That is not your current password."], **errors}
    if errors:
        return _account_page(errors), 422
    consultant.set_password_hash(hash_password(data["new_password"]))
    db.session.commit()
    login_user(consultant)  # this session carries the new password's fingerprint
    flash("Your password is changed. Sessions signed in elsewhere are signed out.", "success")
    # Tokens belong to tools, not to sign-ins: they outlive the old password. Someone who
    # changes a password they fear was seen must know the tokens are theirs to revoke.
    tokens = active_tokens(db.session, consultant.id)
    if tokens:
        these = "token keeps" if tokens == 1 else "tokens keep"
        flash(
            f"Your {tokens} active API {these} working: revoke any you no longer trust on "
            "the API tokens page.",
            "info",
        )
    response = redirect(url_for("auth.account"), code=303)
    # This browser proved the new password: it keeps signing in while the account is paused.
    remember_device(response, consultant)
    return response


def _account_page(errors: Errors) -> str:
    return render_template("web/account.html", errors=errors, password_min=PASSWORD_MIN)
