"""HTML access for the upstream parsers (the only importer of selectolax).

Decoding follows what works on real servers: a byte-order mark wins; then strict UTF-8 (a body
that decodes as UTF-8 almost surely is UTF-8, whatever the header says); then the charset the
header or a ``<meta>`` declares; then windows-1252, which never fails and is what a Danish
server that declares nothing usually sends. Text that decodes into letters no Danish or
English page holds (a lying ``koi8-r``, mojibake) is refused, not parsed; what is parsed first
passes the guards of ``app.upstream.guard`` (nesting depth, tag count, unclosed raw text).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from selectolax.lexbor import LexborHTMLParser, LexborNode

from app.model import Lang
from app.upstream.guard import bound_markup
from app.upstream.plausible import implausible
from app.upstream.sanitize import clean_html
from app.upstream.text import normalize, strip_controls
from app.upstream.vocab import lang_of_document

Node = LexborNode
Document = LexborHTMLParser  # a parsed page (``css``, ``css_first`` as on a node)

_CHARSET_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_CHARSET_META = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|li|div|h[1-6]|tr|ul|ol)>", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_body_as(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a response body to text, robust to a wrong or missing charset; and the codec."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace"), encoding
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    header = _CHARSET_HEADER.search(content_type or "")
    meta = _CHARSET_META.search(body[:4096])
    declared = _known(header.group(1) if header else None) or _known(
        meta.group(1).decode("ascii", "ignore") if meta else None
    )
    if declared and declared not in {"utf-8", "ascii"}:
        # latin-1 is declared where windows-1252 is meant (the HTML standard says the same)
        declared = "cp1252" if declared == "iso8859-1" else declared
        return body.decode(declared, errors="replace"), declared
    return body.decode("cp1252", errors="replace"), "cp1252"


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode a response body to text, robust to a wrong or missing charset."""
    return decode_body_as(body, content_type)[0]


def decode_checked(body: bytes, content_type: str | None, url: str) -> tuple[str, str | None]:
    """The decoded text, and a warning when it is implausible (then it must not be used)."""
    text, encoding = decode_body_as(body, content_type)
    problem = implausible(text)
    if problem is None:
        return text, None
    return text, (
        f"{url}: decoded as {encoding}, the text cannot be a Danish or English page "
        f"({problem}); nothing was taken from it"
    )


_INERT = ["script", "style", "noscript", "template", "iframe", "object", "embed"]


def parse_html(text: str) -> LexborHTMLParser:
    """Parse an HTML document, dropping elements whose content is never message text."""
    tree = LexborHTMLParser(strip_controls(text))
    tree.strip_tags(_INERT)
    return tree


def open_document(
    body: bytes, headers: Mapping[str, str], default: Lang, url: str
) -> tuple[LexborHTMLParser | None, Lang, list[str]]:
    """Decode, guard and parse an HTML response; its language from ``<html lang>``, else
    ``default``; the warnings of decoding and of the guards. No tree when the decoded text
    is implausible (the warning says why)."""
    text, refused = decode_checked(body, headers.get("content-type"), url)
    if refused is not None:
        return None, default, [refused]
    bounded, warnings = bound_markup(text)
    tree = parse_html(bounded)
    html = tree.css_first("html")
    lang = lang_of_document(attr(html, "lang") if html is not None else "", default)
    return tree, lang, [f"{url}: {w}" for w in warnings]


FIELD_CHARS = 4000  # a title, a date, a label: never longer than this


def text_of(node: Node | None) -> str:
    """The normalized visible text of ``node`` (at most ``FIELD_CHARS`` of it)."""
    if node is None:
        return ""
    return normalize(node.text(separator=" ")[:FIELD_CHARS])


def lines_of_html(fragment: str) -> list[str]:
    """Split an HTML fragment into its non-empty block-level text lines."""
    marked = _BLOCK_END.sub("\n", fragment)
    tree = LexborHTMLParser(f"<body>{marked}</body>")
    body = tree.body
    raw = body.text(separator="") if body is not None else ""
    return [line for line in (normalize(part) for part in raw.split("\n")) if line]


def rich_text(*nodes: Node) -> tuple[str, list[str]]:
    """Return (sanitized HTML, text lines) of a rich-text cell or field (or of the adjacent
    elements that together hold one)."""
    # the cell's own tag is not on the allow-list
    safe = clean_html("".join(node.html or "" for node in nodes))
    # spacer paragraphs that hold only a non-breaking space are dropped from the HTML too
    safe = re.sub(r"<p>(?:\s|&nbsp;|\xa0)*</p>", "", safe).strip()
    return safe, lines_of_html(safe)


def attr(node: Node, name: str) -> str:
    """An attribute's value ('' when absent), without the controls text may not carry (an
    entity such as ``&#x202E;`` in an href decodes to one)."""
    return strip_controls(node.attributes.get(name) or "").strip()


def contains(node: Node, selector: str) -> bool:
    """True when a descendant of ``node`` (not ``node`` itself) matches ``selector``."""
    return any(found.mem_id != node.mem_id for found in node.css(selector))
