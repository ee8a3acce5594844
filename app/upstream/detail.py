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
from app.model import Kind, Lang, Observation, SourceKind, Status, Update, Version
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
_STAMP_TAGS = "p, div, span, h3, h4, dt"  # elements that hold a version stamp
# elements that make an element a container of values rather than one value
_BLOCKS = "p, li, ul, ol, div, dl, dd, dt, table, tr, td, th, h1, h2, h3, h4, h5, h6, br"
_RICH = "p, li, ul, ol, table, br"  # what a message holds and a field value does not
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


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
        said = text_of(node)
        name = DETAIL_LABELS.get(label_key(said))
        if name is None or name in fields:
            continue
        if any(text_of(child) == said for child in node.iter()):
            continue  # an inner element holds the same label: take that one
        if node.parent is not None and VERSION_STAMP.match(text_of(node.parent)):
            continue  # "Updated: 19-05-2026 18:12:40" opens a version, it labels no field
        value = _value_after(node)
        if value is not None:
            fields[name] = value
    return fields


def _names_systems(text: str, catalogue: Catalogue) -> bool:
    """True for a value that is system names: short names joined by `` + ``, or one catalogue
    name."""
    if " + " in text:
        return all(0 < len(name.strip()) <= 60 for name in text.split("+"))
    return len(text) < 100 and not catalogue.resolve([text])[1]


def _value_kind(text: str, catalogue: Catalogue) -> str | None:
    """What an unlabelled value is by its content: a date, a status or type word, systems."""
    if parse_local(text) is not None:
        return "updated"
    if is_status_word(text):
        return "status"
    if _names_systems(text, catalogue):
        return "system"  # "Import" alone is the legacy system, not "other"
    return None


def _holders(scope: Node, selector: str) -> set[int]:
    """The ``mem_id`` of every element with a descendant matching ``selector`` (one pass)."""
    marked: set[int] = set()
    for found in scope.css(selector):
        node = found.parent
        while node is not None and node.mem_id not in marked:
            marked.add(node.mem_id)
            node = node.parent
    return marked


def _only_child(node: Node) -> bool:
    """True when ``node`` is its parent's one element child and no text stands beside it."""
    parent = node.parent
    child = parent.child if parent is not None else None
    while child is not None:
        if child.mem_id != node.mem_id and (
            child.tag not in {"-text", "-comment"} or (child.text() or "").strip()
        ):
            return False
        child = child.next
    return True


def _field_block(scope: Node, catalogue: Catalogue) -> Node | None:
    """The element whose children are the page's fields, found by their values.

    Each value (an element with no block inside it, under one that has) is classified by
    its content; its field is the outermost element wrapping only it, so wrappers around a
    value do not matter. The block is the element holding the most *kinds* of fields: the
    date, the type or status and the system names stand side by side there, while the site's
    navigation or a paragraph of the message holds at most a stray system name. Fewer than
    two kinds is no block: the page is not read by position then. Linear in the page's size.
    """
    holders = _holders(scope, _BLOCKS)
    kinds: dict[int, set[str]] = {}
    blocks: dict[int, Node] = {}
    for node in scope.css("*"):
        parent = node.parent
        if node.mem_id in holders or parent is None or parent.mem_id not in holders:
            continue  # not a value, or inside one already looked at
        kind = _value_kind(text_of(node), catalogue)
        if kind is None:
            continue
        field = node
        while field.parent is not None and field.parent.mem_id != scope.mem_id:
            if not _only_child(field):
                break
            field = field.parent
        if field.parent is not None:
            blocks[field.parent.mem_id] = field.parent
            kinds.setdefault(field.parent.mem_id, set()).add(kind)
    best = max(kinds, key=lambda mem_id: len(kinds[mem_id]), default=None)  # first of equals
    return blocks[best] if best is not None and len(kinds[best]) >= 2 else None


def _children(node: Node) -> list[Node]:
    """The element and text children of ``node`` that hold text, in order."""
    found: list[Node] = []
    child = node.child
    while child is not None:
        if child.tag != "-comment" and text_of(child):
            found.append(child)
        child = child.next
    return found


def _stamps(scope: Node) -> list[tuple[Node, datetime]]:
    """The version stamps (``Updated: DD-MM-YYYY HH:MM:SS`` ...) in document order."""
    found: list[tuple[Node, datetime]] = []
    for node in scope.css(_STAMP_TAGS):
        match = VERSION_STAMP.match(text_of(node))
        if match is not None and (at := parse_local(match.group(2))) is not None:
            found.append((node, at))
    return found


def _positional_fields(scope: Node, catalogue: Catalogue) -> tuple[dict[str, Node], list[Node]]:
    """Classify unlabelled values by position and content (SPEC.md section 3 fallback); and
    the message: what follows the last field (the System field, when there is one) up to the
    version history.

    Only the field block (``_field_block``) is read, never the site's navigation, breadcrumb
    or footer around it: no block, no fields and no message.
    """
    block = _field_block(scope, catalogue)
    if block is None:
        return {}, []
    history: set[int] = set()  # the stamps and every element around one
    for stamp, _ in _stamps(block):
        node: Node | None = stamp
        while node is not None and node.mem_id != block.mem_id and node.mem_id not in history:
            history.add(node.mem_id)
            node = node.parent
    children = list(itertools.takewhile(lambda n: n.mem_id not in history, _children(block)))
    fields: dict[str, Node] = {}
    message_from = 0
    for index, child in enumerate(children):
        if "system" in fields or (child.tag != "-text" and contains(child, _RICH)):
            break  # the message: after the System field whatever its words, or rich text
        if child.tag in _HEADINGS:
            continue  # the title, not a field
        text = text_of(child)
        kind = _value_kind(text, catalogue)
        if kind == "status" and "type" not in fields and parse_status(text) is not Status.CLOSED:
            kind = "type"  # the type comes first, the status (when there is one) after it
        if kind is not None and kind not in fields:
            fields[kind] = child
            message_from = index + 1
    return fields, children[message_from:]


def _versions(scope: Node) -> list[Version]:
    """History blocks, newest first: a stamp element followed by the text of that version."""
    found: list[Version] = []
    for node, at in _stamps(scope):
        body = _value_after(node)
        if body is None:
            continue
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
    message = [fields["message"]] if "message" in fields else []
    if not message:
        positional, message = _positional_fields(scope, catalogue)
        fields = {**positional, **fields}
        if positional:
            warnings.append(f"{url}: field labels not found, read by position and vocabulary")
    if not message:
        return ParseResult(
            warnings=(
                *warnings,
                f"{url}: no message text found (has the page layout changed?)",
            )
        )
    h1 = scope.css_first("h1")
    title = text_of(h1) if h1 else text_of(tree.css_first("title")).rsplit(" - ", 1)[0]
    html, lines = rich_text(*message)
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
