"""The e-mail subscription's form and pages (``/subscribe``, ``/subscription...``). Pure.

The form is one macro (``templates/mailform.html``): the sign-up page shows it with the
address, every system's page shows it with that system ticked, and the subscriber's own page
without the address, ticked as they chose. No page carries JavaScript; every state change is
a POST of a form (``app.web.routes`` answers them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.catalogue import Catalogue
from app.model import Lang
from app.render.chrome import Html, ordered_systems, other_language, page_chrome, trusted_html
from app.render.i18n import word
from app.render.pages import template
from app.render.words import WORDS
from app.site.documents import IndexPage
from app.site.forms import CONFIRM, SUBSCRIBE, SUBSCRIPTION, UNSUBSCRIBE, form_url
from app.site.urls import Urls
from app.store.rendered import PageContext
from app.store.subscriber_records import DEFAULT_INTERESTS, Choices, Interest


@dataclass(frozen=True, slots=True)
class FormValues:
    """What a form shows ticked and filled in; ``systems`` None ticks every system."""

    systems: frozenset[str] | None = None
    interests: frozenset[Interest] = DEFAULT_INTERESTS
    lang: Lang = Lang.EN
    address: str = ""
    error: str = ""

    @classmethod
    def of(cls, choices: Choices) -> FormValues:
        """The form as ``choices`` fill it (no systems chosen: every one)."""
        return cls(choices.systems or None, choices.interests, choices.lang)


@dataclass(frozen=True, slots=True)
class Button:
    """A form that is one button (Confirm, Unsubscribe), under its own heading if any."""

    action: str
    label: str
    cls: str = ""
    heading: str = ""
    intro: str = ""


@dataclass(frozen=True, slots=True)
class PageParts:
    """What one subscription page says, besides the frame."""

    heading: str
    paragraphs: Sequence[str] = ()
    summary: Sequence[str] = ()
    form: dict[str, Any] | None = None
    button: Button | None = None
    link: dict[str, str] = field(default_factory=dict)


def interest_label(interest: Interest, lang: Lang) -> str:
    """What an interest is called on the form."""
    return WORDS[lang][f"sub_{interest.value}"]


def describe_choices(choices: Choices, catalogue: Catalogue, lang: Lang) -> list[str]:
    """Lines saying what a subscriber gets: systems, what, language."""
    w = WORDS[lang]
    systems = [s.name_in(lang) for s in ordered_systems(catalogue) if s.slug in choices.systems]
    things = [interest_label(i, lang) for i in Interest if i in choices.interests]
    return [
        f"{w['sub_systems']}: {', '.join(systems) if choices.systems else w['sub_all_systems']}",
        f"{w['sub_what']}: {'; '.join(things)}",
        f"{w['sub_language']}: {w['lang_' + choices.lang.value]}",
    ]


def form_part(
    catalogue: Catalogue,
    lang: Lang,
    action: str,
    values: FormValues,
    *,
    submit: str,
    with_address: bool = True,
    form_id: str = "form",
) -> dict[str, Any]:
    """The form macro's values: every system (ticked as ``values`` say), every interest, the
    languages."""
    return {
        "id": form_id,
        "action": action,
        "with_address": with_address,
        "address": values.address,
        "error": values.error,
        "submit": submit,
        "systems": [
            {
                "slug": s.slug,
                "name": s.name_in(lang),
                "checked": values.systems is None or s.slug in values.systems,
            }
            for s in ordered_systems(catalogue)
        ],
        "interests": [
            {"value": i.value, "label": interest_label(i, lang), "checked": i in values.interests}
            for i in Interest
        ],
        "langs": [
            {
                "value": code.value,
                "label": WORDS[lang][f"lang_{code.value}"],
                "checked": code is values.lang,
            }
            for code in Lang
        ],
    }


def system_form(catalogue: Catalogue, lang: Lang, urls: Urls, slug: str) -> Html:
    """The form on a system's page: that system ticked, posting to ``<base URL>/subscribe``."""
    values = FormValues(systems=frozenset({slug}), lang=lang)
    action = form_url(urls.settings.base_url, SUBSCRIBE)
    part = form_part(
        catalogue, lang, action, values, submit=WORDS[lang]["sub_submit"], form_id=slug
    )
    module = template("mailform.html").module
    return trusted_html(module.subscribe_form(part, WORDS[lang]))  # type: ignore[attr-defined]


def render_page(urls: Urls, lang: Lang, parts: PageParts, other_url: str = "") -> bytes:
    """A subscription page in ``lang``; its language switch leads to ``other_url`` (default:
    the index in the other language)."""
    base = urls.settings.base_url
    chrome = page_chrome(
        urls,
        PageContext(base, None, {}),
        lang,
        IndexPage(other_language(lang)),
        parts.heading,
        False,
    )
    if other_url:
        chrome["other_lang_url"] = other_url
    html = template("subscription.html").render(
        **chrome,
        heading=parts.heading,
        paragraphs=parts.paragraphs,
        summary=parts.summary,
        form=parts.form,
        button=parts.button,
        link=parts.link,
    )
    return html.encode("utf-8")


def form_page(urls: Urls, catalogue: Catalogue, lang: Lang, values: FormValues) -> PageParts:
    """``GET /subscribe``: the form with the address (``values.error`` above it)."""
    w = WORDS[lang]
    action = form_url(urls.settings.base_url, SUBSCRIBE)
    form = form_part(catalogue, lang, action, values, submit=w["sub_submit"])
    return PageParts(w["sub_title"], (w["sub_intro"],), form=form)


def sent_page(lang: Lang) -> PageParts:
    """The answer to every sign-up, whatever the address."""
    w = WORDS[lang]
    return PageParts(w["sub_sent_title"], (w["sub_sent"],))


def confirm_page(base_url: str, lang: Lang, token: str, summary: list[str]) -> PageParts:
    """``GET /subscription/confirm``: what is to be confirmed, and the Confirm button."""
    w = WORDS[lang]
    action = form_url(base_url, CONFIRM, token)
    return PageParts(
        w["sub_confirm_title"],
        (w["sub_confirm_intro"],),
        summary,
        button=Button(action, w["sub_confirm_button"]),
    )


def confirmed_page(base_url: str, lang: Lang, token: str, summary: list[str]) -> PageParts:
    """After the Confirm button: what the address now gets, and a link to its page."""
    w = WORDS[lang]
    return PageParts(
        w["sub_confirmed_title"],
        (w["sub_confirmed"],),
        summary,
        link={"url": form_url(base_url, SUBSCRIPTION, token), "label": w["sub_page_title"]},
    )


def manage_page(
    urls: Urls,
    catalogue: Catalogue,
    lang: Lang,
    token: str,
    address: str,
    values: FormValues,
    *,
    confirmed: bool,
    saved: bool = False,
) -> PageParts:
    """The subscriber's own page: the form as they chose it (Save), and Unsubscribe."""
    w = WORDS[lang]
    base = urls.settings.base_url
    paragraphs = [word(lang, "sub_page_intro", address=address)]
    if not confirmed:
        paragraphs.append(w["sub_not_confirmed"])
    if saved:
        paragraphs.append(w["sub_saved"])
    action = form_url(base, SUBSCRIPTION, token)
    form = form_part(catalogue, lang, action, values, submit=w["sub_save"], with_address=False)
    button = Button(
        form_url(base, UNSUBSCRIBE, token),
        w["sub_unsubscribe_button"],
        "danger",
        w["sub_unsubscribe_title"],
        w["sub_unsubscribe_intro"],
    )
    return PageParts(w["sub_page_title"], paragraphs, form=form, button=button)


def unsubscribe_page(base_url: str, lang: Lang, token: str) -> PageParts:
    """``GET /subscription/unsubscribe``: a button, for the links that a GET must not act on."""
    w = WORDS[lang]
    action = form_url(base_url, UNSUBSCRIBE, token)
    return PageParts(
        w["sub_unsubscribe_title"],
        (w["sub_unsubscribe_intro"],),
        button=Button(action, w["sub_unsubscribe_button"], "danger"),
    )


def said_page(lang: Lang, what: str, **values: str) -> PageParts:
    """A page that only says something: ``what`` is ``unsubscribed``, ``expired``, ``invalid``,
    ``gone``, ``foreign`` or ``limited`` (its heading is ``sub_<what>_title``)."""
    w = WORDS[lang]
    link = {}
    if what in {"expired", "gone", "invalid"}:
        link = {"url": form_url("", SUBSCRIBE, lang=lang), "label": w["sub_title"]}
    return PageParts(w[f"sub_{what}_title"], (word(lang, f"sub_{what}", **values),), link=link)
