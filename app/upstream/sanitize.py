"""Sanitizing upstream HTML (the only importer of nh3).

Upstream message bodies are republished, so they pass through one strict allow-list: text
structure and links only. No script, no event handlers, no styles, no images, frames or other
remote content, and links only to http(s) and mailto.
"""

from __future__ import annotations

import nh3

from app.upstream.text import strip_controls

_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "a", "h2", "h3", "h4"}
_ATTRIBUTES = {"a": {"href"}}
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript"}


def clean_html(fragment: str) -> str:
    """Return ``fragment`` reduced to the safe allow-list above."""
    cleaned = nh3.clean(
        strip_controls(fragment),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        clean_content_tags=_DROP_WITH_CONTENT,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return strip_controls(cleaned).strip()  # entities such as &#7; decode to controls
