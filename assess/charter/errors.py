"""Errors the charter raises when it cannot be produced."""


class CharterError(Exception):
    """The charter cannot be produced on this machine (a missing font, for instance)."""
