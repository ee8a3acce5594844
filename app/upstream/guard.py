"""Guards on decoded upstream text before any parser or the sanitizer sees it (pure).

HTML parsers and sanitizers cost time quadratic in nesting depth (100,000 nested ``<div>``
took lexbor 11 s and nh3 16 s) and memory linear in open elements (1.5 million unclosed
``<b>`` took a poll to 700 MB). So, in one linear pass over the tags:

* **depth and count**: tags nested deeper than ``MAX_DEPTH`` are dropped (their text
  stays), as are tags in a table cell after its first ``MAX_CELL_TAGS`` and all tags after the
  first ``MAX_TAGS`` of the page; a parse warning says so. The cell bound comes first, so one
  hostile message is flattened alone and every other row keeps its markup;
* **isolation**: a ``<style>``, ``<script>``, ``<textarea>``, ``<title>``, ... or a comment
  opened inside a table cell must close before the row ends; otherwise, as the HTML rules
  make it swallow every later row, the rest of that cell is dropped, with a warning naming
  the cause; one opened anywhere else and never closed loses only its opening tag;
* **size**: a message's HTML is cut at ``MAX_MESSAGE_BYTES`` before it is sanitized, and the
  cut is marked in what is stored (``[… cut: message longer than 64 KB]``);
* **plausibility** (``app.upstream.plausible``): text whose letters cannot belong to a Danish
  or English page (a lying charset) is refused instead of stored. Invisible format characters
  (zero-width spaces, soft hyphens, bidi controls) are not letters and never count: the
  parsers strip the bidi controls (``app.upstream.text.strip_controls``) and read the page.

Depth is counted the way the HTML rules nest (the rules as data: ``app.upstream.html_rules``):
void elements do not nest; ``p``, ``li``, ``td`` ... close an open element of their own kind
only within their scope (a ``<td>`` in a table nested in a cell opens a cell of the inner
table, it does not close the outer one); and a block start tag (``<div>``, ``<table>``, ``<ul>`` ...) closes an open ``<p>``, so that
``<div><p>`` repeated nests one level per pair, as a browser builds it. Legitimate pages with
unclosed ``<p>`` or ``<li>`` are never touched.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from app.upstream.html_rules import CLOSES_P, GROUPS, RAW_TEXT, SCOPE, VOID

MAX_DEPTH = 256
MAXTABLE_TAGS_DEPTH = 8  # tables in tables in ... (a real page nests two or three)
MAX_TAGS = 100_000
MAX_CELL_TAGS = 5_000  # a real message has a few dozen
MAX_MESSAGE_BYTES = 64 * 1024
CUT_MARKER = f"[… cut: message longer than {MAX_MESSAGE_BYTES // 1024} KB]"

_TOKEN = re.compile(r"<!--|<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>")
_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9:-]*)(?:\s[^<>]*)?>")
TABLE_TAGS = frozenset({"table", "tbody", "thead", "tfoot", "tr", "td", "th"})
_ROW_BOUNDARY = re.compile(r"</?tr\b|</?table\b", re.I)
_CELL_BOUNDARY = re.compile(r"</?t[dhr]\b|</?table\b", re.I)
_GROUPED = frozenset(GROUPS.values())  # the groups whose elements close one another
_CELLS = frozenset({"td", "th"})
_SPECIAL = RAW_TEXT | {"plaintext"}  # start tags whose content is not markup


# a token the scan treats apart from plain nesting: a comment, a raw-text or <plaintext> start
# tag, a table's tag (start or end); names as the scan reads them (ASCII letters in any case,
# the name ending where _TOKEN's does)
_NEEDS_SCAN = re.compile(
    "<!--|<(?:"
    + "|".join(sorted(_SPECIAL))
    + ")(?![A-Za-z0-9:-])[^>]*>|</?(?:"
    + "|".join(sorted(TABLE_TAGS))
    + ")(?![A-Za-z0-9:-])[^>]*>",
    re.IGNORECASE | re.ASCII,
)


@functools.cache
def _closing(token: str) -> re.Pattern[str]:
    """``token`` (``</script`` ...) in any case of its ASCII letters, found where it stands in
    the text: the text in lower case is not the text (``İ`` lowers to two characters)."""
    return re.compile(re.escape(token), re.IGNORECASE | re.ASCII)


@dataclass
class _Scan:
    """The state of one pass over a document's tags."""

    text: str
    out: list[str] = field(default_factory=list)
    kept_from: int = 0  # text before this position is in ``out`` (or dropped)
    stack: list[str] = field(default_factory=list)  # open elements' groups
    open_count: dict[str, int] = field(default_factory=dict)
    positions: dict[str, list[int]] = field(default_factory=dict)  # stack indexes per group
    dropped: dict[str, int] = field(default_factory=dict)  # start tags dropped, by name
    in_cell: bool = False  # in a table cell
    warnings: list[str] = field(default_factory=list)
    _closers: dict[str, tuple[int, int]] = field(default_factory=dict)
    _rows: list[int] | None = None
    _cells: list[int] | None = None

    def drop(self, start: int, end: int) -> None:
        """Leave ``text[start:end]`` out of the result."""
        self.out.append(self.text[self.kept_from : start])
        self.kept_from = end

    def drop_run(self, token: str, start: int, end: int, most: int | None = None) -> int:
        """Drop the tag at ``start:end`` and the identical tags right after it (at most
        ``most`` in all); return how many. A flood of one tag (a million ``<b>``) is skipped
        with a few string comparisons instead of one loop turn each."""
        limit = most if most is not None else len(self.text)
        count, step, size = 1, 1, len(token)
        while count < limit:
            step = min(step, limit - count)
            if self.text.startswith(token * step, start + count * size):
                count += step
                step *= 2
            elif step == 1:
                break
            else:
                step = 1
        self.drop(start, start + count * size)
        return count

    def drop_flood(self, start: int) -> tuple[list[str], int] | None:
        """At a start tag too deep to keep: drop the run of a unit of up to four adjacent
        start tags repeated from here (``<b>``, ``<b><i>`` ... a million times) in one go;
        return the names in the unit and how often it was dropped, or None when nothing
        repeats."""
        names: list[str] = []
        end = start
        for _ in range(4):
            tag = _START_TAG.match(self.text, end)
            if tag is None or tag.group(0).endswith("/>"):
                return None
            name = tag.group(1).lower()
            if name in VOID or name in RAW_TEXT or name in TABLE_TAGS or name == "plaintext":
                return None
            names.append(name)
            end = tag.end()
            if self.text.startswith(self.text[start:end], end):
                return names, self.drop_run(self.text[start:end], start, end)
        return None

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def closer(self, token: str, start: int) -> int:
        """Where ``token`` next occurs from ``start`` (-1: never), remembered so that many
        unclosed openers cost one search, not one each."""
        searched, found = self._closers.get(token, (-2, -2))
        if searched != -2 and searched <= start and (found == -1 or found >= start):
            return found
        if token == "-->":
            found = self.text.find(token, start)
        else:  # tag names match in any case of their ASCII letters, and in no other way
            match = _closing(token).search(self.text, start)
            found = match.start() if match is not None else -1
        self._closers[token] = (start, found)
        return found

    def boundary(self, cells: bool, start: int) -> int:
        """The next row (or cell) boundary from ``start``; -1 when there is none."""
        if self._rows is None or self._cells is None:
            self._rows = [m.start() for m in _ROW_BOUNDARY.finditer(self.text)]
            self._cells = [m.start() for m in _CELL_BOUNDARY.finditer(self.text)]
        positions = self._cells if cells else self._rows
        i = bisect.bisect_left(positions, start)
        return positions[i] if i < len(positions) else -1

    def pop_to(self, group: str) -> None:
        """Close the innermost open element of ``group`` and everything inside it."""
        self.dropped.clear()  # tags dropped for depth were inside it: closed with it
        while self.stack:
            top = self.stack.pop()
            self.open_count[top] -= 1
            self.positions[top].pop()
            if top == group:
                return

    def stray_table_end(self, end: int) -> bool:
        """True for a ``</table>`` inside a cell that would close the cell's own table while
        rows of it follow (it would hide every later row). A table opened inside a cell (a
        table in a message) may close with its own cells left open, as HTML allows."""
        cells, tables = self.positions.get("td"), self.positions.get("table")
        if not cells or not tables or tables[-1] > cells[-1]:
            return False  # not in a cell, or closing a table opened inside the cell
        if cells[0] < tables[-1]:
            return False  # the table to close is itself inside a cell: it is a message's own
        following = self.boundary(False, end)
        return following != -1 and self.text[following + 1 : following + 4].lower() in {
            "tr>",
            "tr ",
            "/tr",
        }

    def in_scope(self, group: str) -> bool:
        """True when an open element of ``group`` would be closed by an implied end: no element
        of its scope was opened inside it (constant time: the innermost positions are kept)."""
        if not self.open_count.get(group):
            return False
        innermost = self.positions[group][-1]
        return not any(
            (seen := self.positions.get(name)) and seen[-1] > innermost
            for name in SCOPE.get(group, ())
        )


def _raw_text(scan: _Scan, name: str, start: int, end: int) -> int:
    """Handle a comment or raw-text element opened at ``start``; return where to go on."""
    token = "-->" if name == "!--" else f"</{name}"
    shown = "<!--" if name == "!--" else f"<{name}>"
    if name == "!--" and scan.text.startswith((">", "->"), end):  # <!--> and <!---> are empty
        return scan.text.index(">", end) + 1
    closed_at = scan.closer(token, end)
    if scan.in_cell:
        row_end = scan.boundary(False, end)
        if closed_at == -1 or (row_end != -1 and closed_at > row_end):
            cell_end = scan.boundary(True, end)
            stop = cell_end if cell_end != -1 else end
            scan.drop(start, stop)
            scan.warn(
                f"a table cell holds an unclosed {shown}: the rest of that cell was dropped "
                "so that the rows after it are read"
            )
            return stop
    elif closed_at == -1:
        scan.drop(start, end)
        scan.warn(f"an unclosed {shown} was dropped")
        return end
    close_end = scan.text.find(">", closed_at) if name != "!--" else closed_at + 2
    return (close_end + 1) if close_end != -1 else len(scan.text)


def bound_markup(
    text: str, max_depth: int = MAX_DEPTH, max_tags: int = MAX_TAGS
) -> tuple[str, list[str]]:
    """Return ``text`` with the guards above applied, and the warnings they raised.

    One turn per tag, each written for the common case (a page has thousands of tags, every
    one of them legitimate): the scan's lists and counters are local names, the stack is
    pushed in place."""
    if text.count("<") < min(max_depth, max_tags) and _NEEDS_SCAN.search(text) is None:
        # fewer tags than any bound, none in a table, no comment or raw text: nothing to guard
        # (most sanitized fragments: the scan would give the text back with no warning)
        return text, []
    scan = _Scan(text)
    stack, open_count, positions, dropped = (
        scan.stack,
        scan.open_count,
        scan.positions,
        scan.dropped,
    )
    search, group_of, grouped = _TOKEN.search, GROUPS.get, _GROUPED
    tags = cell_tags = 0  # start tags kept, and kept in the current table cell
    pos = 0
    while (match := search(text, pos)) is not None:
        start, end = match.span()
        pos = end
        tag = match[2]
        if tag is None:  # <!--
            pos = _raw_text(scan, "!--", start, end)
            continue
        closing, name = match[1] == "/", tag.lower()
        boundary = name in TABLE_TAGS
        if boundary:
            if name != "table" and dropped.get("table"):
                # the rows and cells of a table dropped for depth go with it (their text
                # stays): kept, they would close the cells and rows of the tables around it
                scan.drop(start, end)
                continue
            scan.in_cell = not closing and name in _CELLS
            cell_tags = 0
            if closing and name == "table" and not dropped.get(name) and scan.stray_table_end(end):
                scan.drop(start, end)
                scan.warn("a </table> inside a table cell, before more rows, was dropped")
                continue
        group = group_of(name, name)
        if closing:
            if dropped and dropped.get(name):
                dropped[name] -= scan.drop_run(match[0], start, end, dropped[name])
                pos = scan.kept_from
            elif tags > max_tags:
                scan.drop(start, end)
            elif open_count.get(group):
                scan.pop_to(group)
            continue
        if not boundary and cell_tags >= MAX_CELL_TAGS and scan.in_cell:
            dropped[name] = dropped.get(name, 0) + 1
            scan.drop(start, end)
            scan.warn(f"a table cell with more than {MAX_CELL_TAGS} tags was flattened")
            continue
        if tags >= max_tags:
            tags = max_tags + 1
            scan.drop(start, end)
            scan.warn(f"more than {max_tags} tags: the markup after them was flattened")
            continue
        if name in _SPECIAL:
            if name == "plaintext":  # never ends: everything after it would be one text
                scan.drop(start, end)
                scan.warn("a <plaintext> tag was dropped")
            else:
                pos = _raw_text(scan, name, start, end)
            continue
        if name in VOID or text[end - 2] == "/":  # void, or written self-closing
            tags += 1
            cell_tags += 1
            continue
        if name == "table" and len(positions.get("table") or ()) >= MAXTABLE_TAGS_DEPTH:
            dropped["table"] = dropped.get("table", 0) + 1  # its rows and cells too
            scan.drop(start, end)
            scan.warn(f"tables nested deeper than {MAXTABLE_TAGS_DEPTH} levels were flattened")
            continue
        if name in CLOSES_P and open_count.get("p") and scan.in_scope("p"):
            scan.pop_to("p")
        if group in grouped and open_count.get(group) and scan.in_scope(group):
            scan.pop_to(group)
        if len(stack) >= max_depth:
            flood = scan.drop_flood(start)
            if flood is None:
                scan.drop(start, end)
                flood = [name], 1
            for unit in flood[0]:
                dropped[unit] = dropped.get(unit, 0) + flood[1]
            pos = scan.kept_from
            scan.warn(f"markup nested deeper than {max_depth} levels was flattened")
            continue
        tags += 1
        cell_tags += 1
        if (at := positions.get(group)) is None:
            positions[group] = [len(stack)]
        else:
            at.append(len(stack))
        stack.append(group)
        open_count[group] = open_count.get(group, 0) + 1
    if not scan.out:
        return text, scan.warnings
    scan.out.append(text[scan.kept_from :])
    return "".join(scan.out), scan.warnings


def cap_fragment(fragment: str, limit: int = MAX_MESSAGE_BYTES) -> tuple[str, bool]:
    """``fragment`` cut to about ``limit`` bytes (never inside a tag); True when it was cut."""
    if len(fragment) <= limit // 4 or len(fragment.encode("utf-8")) <= limit:
        return fragment, False
    cut = fragment.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut, True
