"""The status pages in a real headless Chromium: narrow screens, one host, no errors, contrast.

Uses the ``live`` server and ``page`` fixtures of tests/test_browser.py (skipped the same way
when no Chromium is installed). Takes screenshots of the index and a system page: into the
test's temporary directory, or with ``TOLDFEED_SCREENSHOTS=1`` into docs/screenshots/ for the
README (a plain test run leaves the checkout as it found it).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_browser import browser, live, page  # noqa: F401  (fixtures)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PAGES = ["/", "/systems/dms-transit", "/incidents/INC000001822307", "/da/systems/dms-import"]

# WCAG relative luminance and contrast of an element's text against the first opaque
# background behind it (the page's when none is set)
CONTRAST = """
els => els.map(el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let n = el; n && !bg; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) bg = c.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const fg = rgb(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return [el.textContent.trim().slice(0, 40), (a + 0.05) / (b + 0.05)];
})
"""
CHECKED = "a, .chip, .meta, .overall, p, th, td, dt, dd, h1, h2, summary, footer li"


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES)
def test_page_fits_320px_loads_from_one_host_without_errors(live: str, page, path: str):  # noqa: F811
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size({"width": 320, "height": 640})
    response = page.goto(live + path)
    assert response is not None and response.status == 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("script").count() == 0
    hosts = {urlsplit(url).netloc for url in requests}
    assert hosts == {urlsplit(live).netloc}, requests
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_is_aa_in_light_and_dark(live: str, page, scheme: str) -> None:  # noqa: F811
    page.emulate_media(color_scheme=scheme)
    backgrounds = set()
    for path in PAGES:
        page.goto(live + path)
        backgrounds.add(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        for text, ratio in page.eval_on_selector_all(CHECKED, CONTRAST):
            if text:
                assert ratio >= 4.5, (scheme, path, text, round(ratio, 2))
    assert len(backgrounds) == 1
    assert (backgrounds.pop() == "rgb(15, 20, 25)") is (scheme == "dark")


@pytest.mark.browser
def test_strip_bars_have_tooltips_and_screenshots_are_kept(
    live: str,  # noqa: F811
    page,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The screenshots go to ``tmp_path``; ``TOLDFEED_SCREENSHOTS=1`` renews the README's in
    docs/screenshots/ instead (the only way this test writes into the checkout)."""
    shots = SCREENSHOTS if os.environ.get("TOLDFEED_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1200, "height": 1000})
    page.goto(live + "/")
    page.screenshot(path=str(shots / "index.png"))
    page.goto(live + "/systems/dms-transit")
    bars = page.locator(".strip svg rect")
    assert bars.count() == 90
    assert page.locator(".strip svg rect title").count() == 90
    assert "disrupted" in bars.last.locator("title").text_content()
    page.screenshot(path=str(shots / "system.png"))
    assert all((shots / name).stat().st_size > 0 for name in ("index.png", "system.png"))
    assert page.errors == []  # type: ignore[attr-defined]
