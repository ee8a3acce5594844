"""Sanitizing upstream HTML (the only importer of nh3).

Upstream message bodies are republished, so they pass through one strict allow-list: text
structure and links only. No script, no event handlers, no styles, no images, frames or other
remote content, and links only to http(s) and mailto, never with a user name or password in
them (``https://info.skat.dk@evil.example/`` reads as the agency's host but is not).

Before nh3 sees a fragment it is cut to ``MAX_MESSAGE_BYTES`` and its nesting bounded
(``app.upstream.guard``): sanitizing costs time quadratic in depth. A cut message ends with a
visible marker, so nobody mistakes it for the whole text.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import nh3

from app.upstream.guard import CUT_MARKER, bound_markup, cap_fragment
from app.upstream.text import strip_controls

_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "a", "h2", "h3", "h4"}
_ATTRIBUTES = {"a": {"href"}}
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript"}


def _href(element: str, attribute: str, value: str) -> str | None:
    """Drop a link carrying a user name or password (the link's text stays)."""
    try:
        netloc = urlsplit(value.strip()).netloc
    except ValueError:
        return None
    return None if "@" in netloc else value


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """The allow-list above as one sanitizer, built once (``nh3.clean`` builds one a call)."""
    return nh3.Cleaner(
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_href,
        clean_content_tags=_DROP_WITH_CONTENT,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def clean_html(fragment: str) -> str:
    """Return ``fragment`` reduced to the safe allow-list above (cut and marked if too long)."""
    fragment, cut = cap_fragment(fragment)
    fragment, _ = bound_markup(strip_controls(fragment))
    cleaned = _cleaner().clean(fragment)
    cleaned = strip_controls(cleaned).strip()  # entities such as &#7; decode to controls
    return f"{cleaned}<p>{CUT_MARKER}</p>" if cut else cleaned
