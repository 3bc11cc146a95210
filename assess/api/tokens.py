"""API tokens: issued on the consultant's account page, shown once, stored hashed, revocable."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from assess.models import Base, Consultant, UTCDateTime, hash_token, utcnow
from assess.text import same_name

# Tokens start with a fixed marker so leaked ones are easy to recognise in logs and scanners.
TOKEN_PREFIX = "asst_"
NAME_MAX = 80
# Longer than anything we issue; longer presented tokens are rejected before hashing.
TOKEN_MAX = 100
# How often "last used" is written: every request would turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiToken(Base):
    """A consultant's bearer token for the JSON API; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(
        ForeignKey("consultants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, kept to tell tokens apart on the account page.
    hint: Mapped[str] = mapped_column(String(16))
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultant: Mapped[Consultant] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def matches(self, token: str) -> bool:
        """Compare a presented token with the stored hash in constant time."""
        return hmac.compare_digest(self.token_hash, hash_token(token))


def issue_token(
    session: Session, consultant: Consultant, name: str, *, can_write: bool
) -> tuple[ApiToken, str]:
    """Add a new token for the consultant; return it and the secret, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        consultant=consultant,
        name=name,
        token_hash=hash_token(secret),
        hint=secret[: len(TOKEN_PREFIX) + 4],
        can_write=can_write,
    )
    session.add(token)
    return token, secret


def find_token(session: Session, secret: str) -> ApiToken | None:
    """Return the active token behind a presented secret, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > TOKEN_MAX:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or not token.matches(secret) or not token.active:
        return None
    return token


def mark_used(token: ApiToken) -> bool:
    """Record that the token was used now; return whether anything changed."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    token.last_used_at = now
    return True


# Revoked tokens stay stored for the record; the page lists only the latest, so a script that
# creates and revokes tokens cannot make it grow without end.
REVOKED_LISTED = 20


def tokens_of(session: Session, consultant_id: int) -> tuple[list[ApiToken], int]:
    """Return the consultant's active tokens and the latest revoked ones, newest first, with
    the number of older revoked tokens left out."""
    mine = ApiToken.consultant_id == consultant_id
    active = list(session.scalars(select(ApiToken).where(mine, ApiToken.revoked_at.is_(None))))
    revoked = list(
        session.scalars(
            select(ApiToken)
            .where(mine, ApiToken.revoked_at.is_not(None))
            .order_by(ApiToken.id.desc())
            .limit(REVOKED_LISTED)
        )
    )
    older = 0
    if len(revoked) == REVOKED_LISTED:
        counted = select(func.count()).where(mine, ApiToken.revoked_at.is_not(None))
        older = (session.scalar(counted) or 0) - REVOKED_LISTED
    listed = sorted(active + revoked, key=lambda token: token.id, reverse=True)
    return listed, older


def active_named(session: Session, consultant_id: int, name: str) -> ApiToken | None:
    """Return the consultant's active token whose name reads as ``name``, if any."""
    query = select(ApiToken).where(
        ApiToken.consultant_id == consultant_id, ApiToken.revoked_at.is_(None)
    )
    return next((token for token in session.scalars(query) if same_name(token.name, name)), None)


# Tools and their environments, each with a token of its own, fit many times over; a bound
# keeps a runaway script from filling the list and the table.
ACTIVE_MAX = 50


def revoke_all(session: Session, consultant_id: int) -> int:
    """Revoke every active token of the consultant; return how many there were."""
    query = select(ApiToken).where(
        ApiToken.consultant_id == consultant_id, ApiToken.revoked_at.is_(None)
    )
    tokens = list(session.scalars(query))
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)


def active_tokens(session: Session, consultant_id: int) -> int:
    """Return how many of the consultant's tokens work."""
    query = select(func.count()).where(
        ApiToken.consultant_id == consultant_id, ApiToken.revoked_at.is_(None)
    )
    return session.scalar(query) or 0
