"""Detail pages of one message, with the version history: bytes in, one observation out.

Fields are found by their label (``Last updated``/``Opdateret``, ``Type``, ``Status``,
``System``, ``Message``/``Meddelelse``) in any label/value markup (dt/dd, th/td, or a label
element followed by its value). Without labels, values are recognised by position and
vocabulary: a ``DD Mon YYYY HH:MM`` date, a type or status word, names joined by `` + ``, and
the rich text. The history blocks (``Updated:``/``Published:`` stamps, newest first) give the
creation time to the second and, compared with each other, what was added when.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime

from app.catalogue import Catalogue
from app.model import Kind, Lang, Observation, SourceKind, Update, Version
from app.upstream.dates import parse_local
from app.upstream.links import Origin, link_problem
from app.upstream.markup import Node, contains, open_document, rich_text, text_of
from app.upstream.result import ParseResult
from app.upstream.text import added_lines, extract_updates, find_refs, update_identity
from app.upstream.vocab import (
    DETAIL_LABELS,
    VERSION_STAMP,
    is_status_word,
    label_key,
    lang_of_url,
    oid_of,
    parse_kind,
    parse_status,
)

_LABEL_TAGS = "dt, th, strong, b, label, span, div, p, td"


def _value_after(label: Node) -> Node | None:
    """The element holding a label's value: the next element sibling (or the parent's)."""
    node = label.next
    while node is not None and node.tag in {"-text", "-comment"}:
        node = node.next
    if node is None and label.parent is not None and label.tag in {"strong", "b", "span"}:
        return _value_after(label.parent)
    return node


def _labelled_fields(scope: Node) -> dict[str, Node]:
    fields: dict[str, Node] = {}
    for node in scope.css(_LABEL_TAGS):
        name = DETAIL_LABELS.get(label_key(text_of(node)))
        if name is None or name in fields:
            continue
        if any(text_of(child) == text_of(node) for child in node.iter()):
            continue  # an inner element holds the same label: take that one
        value = _value_after(node)
        if value is not None:
            fields[name] = value
    return fields


def _names_systems(text: str, catalogue: Catalogue) -> bool:
    """True for a value that is system names: joined by `` + ``, or one catalogue name."""
    if " + " in text:
        return True
    return len(text) < 100 and not catalogue.resolve([text])[1]


def _positional_fields(scope: Node, catalogue: Catalogue) -> dict[str, Node]:
    """Classify unlabelled values by their content (SPEC.md section 3 fallback)."""
    fields: dict[str, Node] = {}
    for node in scope.css("dd, td, p, div"):
        text = text_of(node)
        if not text or contains(node, "dd, td"):
            continue
        if "message" not in fields and contains(node, "p, li"):
            fields["message"] = node
        elif "updated" not in fields and parse_local(text) is not None:
            fields["updated"] = node
        elif is_status_word(text) and not contains(node, "p, li"):
            fields.setdefault("type", node) if "type" not in fields else fields.setdefault(
                "status", node
            )
        elif "system" not in fields and _names_systems(text, catalogue):
            fields["system"] = node  # "Import" alone is the legacy system, not "other"
    return fields


def _versions(scope: Node) -> list[Version]:
    """History blocks, newest first: a stamp element followed by the text of that version."""
    found: list[Version] = []
    seen: set[int] = set()
    for node in scope.css("p, div, span, h3, h4, dt"):
        match = VERSION_STAMP.match(text_of(node))
        if match is None or node.mem_id in seen:
            continue
        at = parse_local(match.group(2))
        body = _value_after(node)
        if at is None or body is None:
            continue
        seen.add(node.mem_id)
        html, lines = rich_text(body)
        found.append(Version(at=at, text="\n".join(lines), html=html))
    return found


def parse_detail_page(
    body: bytes,
    headers: Mapping[str, str],
    *,
    url: str,
    lang: Lang,
    catalogue: Catalogue,
    observed_at: datetime,
    origins: frozenset[Origin] | None = None,
) -> ParseResult:
    """Parse a detail page into one observation of its message.

    ``origins``: where the page's own URL may point to be published (None: any http(s) host).
    """
    tree, page_lang, warnings = open_document(body, headers, lang_of_url(url, lang), url)
    if tree is None:
        return ParseResult(warnings=tuple(warnings))
    oid = oid_of(url)
    scope = tree.body
    if oid is None or scope is None:
        return ParseResult(warnings=(f"{url}: not a detail page (no oid or no body)",))
    link = url
    if (problem := link_problem(url, origins)) is not None:
        warnings.append(f"{url}: the page's link is not published ({problem})")
        link = ""
    fields = _labelled_fields(scope)
    if "message" not in fields:
        fields = {**_positional_fields(scope, catalogue), **fields}
        if fields:
            warnings.append(f"{url}: field labels not found, read by position and vocabulary")
    if "message" not in fields:
        return ParseResult(
            warnings=(f"{url}: no message text found (has the page layout changed?)",)
        )
    h1 = scope.css_first("h1")
    title = text_of(h1) if h1 else text_of(tree.css_first("title")).rsplit(" - ", 1)[0]
    html, lines = rich_text(fields["message"])
    last_updated = parse_local(text_of(fields.get("updated")))
    if last_updated is None and "updated" in fields:
        warnings.append(f"{url}: unreadable last-updated date {text_of(fields['updated'])!r}")
    versions = _versions(scope)
    created = versions[-1].at if versions else None
    systems, unknown = catalogue.resolve(text_of(fields.get("system")).split("+"))
    ref, refs = find_refs(lines)
    kind = parse_kind(text_of(fields.get("type")))
    status = parse_status(text_of(fields.get("status")))
    updates = _updates(lines, versions, page_lang, last_updated or created)
    observation = Observation(
        oid=oid,
        lang=page_lang,
        source_kind=SourceKind.DETAIL,
        observed_at=observed_at,
        link=link,
        title=title,
        ref=ref,
        refs=refs,
        systems=systems,
        unknown_systems=unknown,
        status=status,
        kind=kind or (Kind.SCHEDULED if ref and ref.startswith("WO") else None),
        created_at=created,
        last_updated_at=last_updated,
        message_html=html,
        message_text="\n".join(lines),
        updates=tuple(updates),
        versions=tuple(versions),
    )
    return ParseResult(
        observations=(observation,), warnings=tuple(warnings), unknown_systems=unknown
    )


def _updates(
    lines: list[str], versions: list[Version], lang: Lang, current_at: datetime | None
) -> list[Update]:
    """Update lines of the current text, dated by the first version that carried them.

    Lines added between versions that follow no pattern count as updates too.
    """
    history = [(v.at, v.text.split("\n")) for v in reversed(versions)]
    if current_at is not None:
        history.append((current_at, lines))
    first_seen: dict[str, datetime] = {}
    for at, version_lines in history:
        for line in version_lines:
            first_seen.setdefault(update_identity(line), at)
    updates = extract_updates(lines, lang, current_at, first_seen if versions else None)
    known = {update_identity(u.text) for u in updates}
    for (_, older), (at, newer) in itertools.pairwise(history):
        for line in added_lines(older, newer):
            if update_identity(line) not in known and update_identity(line) in {
                update_identity(x) for x in lines
            }:
                known.add(update_identity(line))
                updates.append(Update(text=line, lang=lang, at=None, seen_at=at))
    return updates
