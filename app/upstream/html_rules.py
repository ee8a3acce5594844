"""The HTML parsing rules the markup guard (``app.upstream.guard``) models: which elements hold
raw text, which are void, which close an open one of their kind and within what scope, which
close an open paragraph. Data only; a subset of the HTML standard's tree construction.
"""

from __future__ import annotations

RAW_TEXT = frozenset(  # and <template>, whose content an unclosed one swallows the same way
    {
        "style",
        "script",
        "textarea",
        "title",
        "xmp",
        "iframe",
        "noembed",
        "noframes",
        "noscript",
        "template",
    }
)
VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
# an element of one of these kinds closes an open one of the same group (HTML's implied ends)
GROUPS = {
    "p": "p",
    "li": "li",
    "dt": "dt",
    "dd": "dt",
    "td": "td",
    "th": "td",
    "tr": "tr",
    "option": "option",
    "tbody": "tbody",
    "thead": "tbody",
    "tfoot": "tbody",
}
# an implied end applies only while no element of the group's scope is open inside the one to
# close (HTML's "has an element in (table / list item / button) scope")
SCOPE = {
    "td": frozenset({"table"}),
    "tr": frozenset({"table"}),
    "tbody": frozenset({"table"}),
    "li": frozenset({"ul", "ol", "table", "td"}),
    "dt": frozenset({"dl", "table", "td"}),
    "option": frozenset({"select", "table", "td"}),
    "p": frozenset({"table", "td", "button", "object", "marquee", "template", "caption"}),
}
# start tags that close an open <p> (HTML's block elements)
CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    ]
)
