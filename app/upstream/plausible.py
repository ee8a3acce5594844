"""Whether decoded text can be what a Danish or English page says (pure): a lying charset
gives letters neither language writes. ``open_document`` refuses a page this flags.

Invisible format characters (Unicode category Cf: zero-width spaces, soft hyphens, bidi
controls) are no such letters: text pasted from Word or a CMS carries them, names are
matched without them and the bidi controls are stripped. Counted, three of them inside words
refused a whole page.
"""

from __future__ import annotations

import re

from app.upstream.text import drop_format

# what a lying charset turns Danish and English text into: Cyrillic or box-drawing characters
# (``_cyrillic_or_box``), a UTF-8 sequence's bytes as latin-1 letters
_MOJIBAKE = re.compile(
    "[\u00c2\u00c3][\u0080-\u00bf"
    + "".join(sorted(set(bytes(range(0x80, 0xA0)).decode("cp1252", errors="ignore"))))
    + "]"
)
# a character inside a word that neither Danish nor English (nor the accents of names and
# loan words) writes: "lřrdag" (latin-1 bytes read as iso-8859-2), "l¯rdag" (mac-roman),
# "lψrdag" (iso-8859-7), "l°rdag" (cp437/cp850)
_WORD_LETTERS = "æøåÆØÅéÉèÈêÊëËáÁàÀâÂäÄíÍìÌîÎïÏóÓòÒôÔöÖúÚùÙûÛüÜýÝÿñÑçÇß"
# writing between letters that is no letter: dashes, soft and non-breaking hyphens and spaces,
# quotes, the ellipsis
_JOINERS = "\u00a0\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201c\u201d\u2026\u202f"
# a character no Danish or English word needs: every character the checks below count is one
# (a page is scanned once for them, then only they are looked at)
_UNEXPECTED = re.compile(f"[^\x00-\x7f{_WORD_LETTERS}{_JOINERS}]")
_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" + _WORD_LETTERS)
_AFTER = frozenset("abcdefghijklmnopqrstuvwxyz")
_REPLACEMENT = "\ufffd"
_SUSPICIOUS = 3  # this many suspicious characters make a page implausible


def _cyrillic_or_box(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff" or "\u2500" <= ch <= "\u259f"


def _odd_in_words(text: str) -> list[str]:
    """The characters no Danish or English word has that stand inside a word: after a letter,
    before a lower-case one ("lřrdag")."""
    return [
        m[0]
        for m in _UNEXPECTED.finditer(text)
        if (at := m.start()) and text[at - 1] in _BEFORE and text[at + 1 : at + 2] in _AFTER
    ]


def implausible(text: str) -> str | None:
    """Why ``text`` cannot be what a Danish or English page says, or None."""
    unexpected = [] if text.isascii() else _UNEXPECTED.findall(text)
    if (found := sum(map(_cyrillic_or_box, unexpected))) >= _SUSPICIOUS:
        return f"{found} Cyrillic or box-drawing characters"
    if ("\u00c2" in text or "\u00c3" in text) and (sample := _MOJIBAKE.search(text)) is not None:
        return f"UTF-8 read as latin-1 ({sample.group(0)!r})"
    if (found := unexpected.count(_REPLACEMENT)) >= _SUSPICIOUS:
        return f"{found} undecodable characters"
    if not unexpected:  # nothing a word could hold that no word has
        return None
    # format characters (zero-width spaces, soft hyphens, bidi controls) are invisible, not
    # letters: pasted text carries them and no charset makes them of Danish letters. Words
    # are read without them (so that none counts, and none hides a wrong letter beside it).
    odd = _odd_in_words(drop_format(text))
    if len(odd) >= _SUSPICIOUS:
        return f"{len(odd)} letters no Danish or English word has ({''.join(dict.fromkeys(odd))!r})"
    return None
