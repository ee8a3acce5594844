"""JSON written compactly in UTF-8: the store's records and the JSON documents (the only
importer of orjson).

orjson writes the bytes ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``
writes, for the values toldfeed has (str, int, bool, None, lists, tuples, dicts with str or
int keys, str enums, floats from 0.0001 up; a test holds the two to each other), in a fifth of
the time: an all-changed poll writes some 200 records and 100 JSON documents and entries. What
orjson refuses (an integer past 64 bits; dataclasses and datetimes, which json refuses too, as
it should) goes to json. Where the two differ, both are valid JSON: a float under 0.0001 in
another, equal form (``0.00001``), NaN and infinity as ``null`` (json wrote ``NaN`` and
``Infinity``, which no JSON reader takes). Reading stays with ``json.loads``: orjson reads an
integer past 64 bits as a float, silently.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# int keys written as strings, as json writes them; dataclasses and datetimes not written at all
_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def dumps_text(value: Any) -> str:
    """``value`` as compact JSON text."""
    return dumps(value).decode("utf-8")


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON in UTF-8."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # an integer past 64 bits (or what json refuses too)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
