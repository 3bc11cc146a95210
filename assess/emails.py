"""Email addresses as people type and paste them, taken one way wherever they are entered:
the sign-in form, the signatory form and the command line that creates accounts.

An address is often pasted with spaces around it, with characters that show nothing (a
zero-width space, a direction mark from an email signature), or with an accent typed as a
separate mark. It is still the same address, so it is stored one way: without those
characters, NFC-normalised, its domain (which is never case-sensitive) in lower case."""

from __future__ import annotations

from marshmallow import ValidationError, validate

from assess.models import EMAIL_MAX
from assess.text import UNSEEN, TextError, clean

_SYNTAX = validate.Email()


class AddressError(ValueError):
    """The text is no address to store. ``reason`` names the problem as marshmallow's error
    keys do: "required" (nothing visible), "invalid" or "too_long" (then ``length`` is the
    address's length as it would be stored)."""

    def __init__(self, reason: str, length: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.length = length


def normalise(pasted: str, *, to_store: bool = True) -> str:
    """Return the address as stored, or raise ``AddressError``.

    ``to_store=False`` is for finding an account by the address typed at sign-in: the
    address is cleaned the same way, yet only text that could never have been an account's
    is refused, since accounts made before these rules (``admin@localhost``, say) must still
    sign in.
    """
    try:
        address = clean(UNSEEN.sub("", pasted))
    except TextError:
        raise AddressError("invalid") from None
    if not address:
        raise AddressError("required")
    local, _, domain = address.rpartition("@")
    if local:
        address = f"{local}@{domain.lower()}"
    if len(address) > EMAIL_MAX:
        raise AddressError("too_long", len(address))
    if not local or not domain or any(character.isspace() for character in address):
        raise AddressError("invalid")
    if not to_store:
        return address
    # One @ and a domain with a dot: what mail can be sent to from here (a quoted "@" or a
    # host name alone is technically an address, but never meant).
    if "@" in local or "." not in domain.strip("."):
        raise AddressError("invalid")
    try:
        _SYNTAX(address)
    except ValidationError:
        raise AddressError("invalid") from None
    return address
