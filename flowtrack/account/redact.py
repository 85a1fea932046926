"""Keep single-use link tokens out of access logs.

An invitation or reset link carries its token in the query string, and the
one request that lands on it would otherwise print it in the web server's
access log (Werkzeug's in development, gunicorn's in production). The landing
page moves the token into the signed cookie at once; this filter blanks it in
the log line of that request. A reminder's opt-out link carries its token in
the path, and is blanked the same way.
"""
from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"((?:^|[?&])token=)[^&\s\"]+")
_PATH_TOKEN = re.compile(r"(/reminders/opt-out/)[^/?\s\"]+")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    return _PATH_TOKEN.sub(r"\1[redacted]", _TOKEN.sub(r"\1[redacted]", text))


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            # gunicorn's atoms: changed in place, so the mapping keeps its own lookup rules.
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = redact(value)
        elif record.args:
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
