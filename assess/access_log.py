"""Personal links kept out of the logs: gunicorn's access and error logs, the development
server's request lines and the app's own log alike.

Only a fingerprint of a personal link is stored: a log line keeping it whole would let
whoever reads the logs answer the questionnaire, or approve a charter, in someone's name.
"""

from __future__ import annotations

import logging
import re

# The token of a personal link (questionnaire /i/..., sign-off /sign/...) in a path. Every
# route taking a token starts so; a test holds the app's routes to it.
LINK_TOKEN = re.compile(r"(/(?:i|sign)/)[^/?#\s\"]+")
HIDDEN = "<hidden>"


def without_link_tokens(text: str) -> str:
    """Return a logged value with the tokens of personal links hidden."""
    if "/i/" not in text and "/sign/" not in text:
        return text
    return LINK_TOKEN.sub(rf"\1{HIDDEN}", text)


class HideLinkTokens(logging.Filter):
    """Hide personal links in a log record's message, keeping the rest of the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = without_link_tokens(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


_HIDE_LINK_TOKENS = HideLinkTokens()


def hide_link_tokens(*loggers: logging.Logger) -> None:
    """Hide personal links in what these loggers write (added once, however many apps)."""
    for logger in loggers:
        logger.addFilter(_HIDE_LINK_TOKENS)
