"""Sanitizing upstream HTML (the only importer of nh3).

Upstream message bodies are republished, so they pass through one strict allow-list: text
structure and links only. No script, no event handlers, no styles, no images, frames or other
remote content, and links only to http(s) and mailto.
"""

from __future__ import annotations

import re

import nh3

_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "a", "h2", "h3", "h4"}
_ATTRIBUTES = {"a": {"href"}}
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript"}
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def strip_controls(text: str) -> str:
    """Remove control characters that no XML or HTML output may carry."""
    return _CONTROLS.sub("", text)


def clean_html(fragment: str) -> str:
    """Return ``fragment`` reduced to the safe allow-list above."""
    return nh3.clean(
        strip_controls(fragment),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        clean_content_tags=_DROP_WITH_CONTENT,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()
