"""The one function every export passes its cells through.

A cell whose text starts with =, +, -, @, a tab or a carriage return would be run as a formula
by Excel / WPS (CSV injection). Such text is prefixed with an apostrophe, the spreadsheet
convention for "this is text"; the importer drops exactly that apostrophe again
(`unneutralise`), so an exported file re-imports unchanged.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# Control characters XML 1.0 cannot hold (openpyxl refuses them); a pasted or fuzzed value may.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CHINA = timezone(timedelta(hours=8))  # spreadsheets hold no time zone: times shown as in China


def safe(value: Any) -> Any:
    """A value fit for a spreadsheet cell: numbers and dates as they are, text neutralised."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(CHINA).replace(tzinfo=None)
    if value is None or isinstance(value, bool | int | float | date | datetime):
        return value
    text = ILLEGAL.sub("", value if isinstance(value, str) else str(value))
    if text.startswith(DANGEROUS):
        return QUOTE + text
    return text


def unneutralise(text: str) -> str:
    """The inverse of `safe` for text read back from a file."""
    if text.startswith(QUOTE) and text[1:2] and text[1:].startswith(DANGEROUS):
        return text[1:]
    return text
