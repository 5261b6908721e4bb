"""Every page fits a phone: on the demo data, each owner page at 390×844 and 360×740 in English
and Chinese has the tab bar, no sideways scroll and no tap target under 44 × 44 px; every page
each staff role, HQ and the partner can reach by following links has no sideways scroll at
360×740.

Tap targets follow WCAG 2.5.8's inline exception: a link inside a sentence of running text
(a paragraph, list item or definition whose text goes on around the link) is sized by the line
it sits in, and is not counted. Everything else that can be tapped is."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from demo.seed import DEMO_OWNER, STAFF
from tests.browser.conftest import PHONE
from tests.browser.demo_world import demo_log_in, seed_demo_world

PHONES = {"390": {"width": 390, "height": 844}, "360": {"width": 360, "height": 740}}
# Tap targets under 44 px, but for links inside running text (WCAG 2.5.8's inline exception).
# A checkbox or radio counts with its labels: tapping the label ticks it.
SMALL_TARGETS_JS = """() => {
  const targets = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  const block = e => e.parentElement.closest('p, li, dd, td, label, div, section');
  const inText = e => {
    if (e.tagName !== 'A') return false;
    const parent = block(e);
    if (!parent || !/^(P|LI|DD|TD)$/.test(parent.tagName)) return false;
    const own = (e.innerText || '').trim().length;
    return (parent.innerText || '').trim().length - own > 8;
  };
  const box = e => {
    let r = e.getBoundingClientRect();
    if (e.labels && /^(checkbox|radio)$/.test(e.type)) {
      for (const l of e.labels) {
        const b = l.getBoundingClientRect();
        r = new DOMRect(Math.min(r.left, b.left), Math.min(r.top, b.top),
          Math.max(r.right, b.right) - Math.min(r.left, b.left),
          Math.max(r.bottom, b.bottom) - Math.min(r.top, b.top));
      }
    }
    return r;
  };
  return [...document.querySelectorAll(targets)]
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
    .filter(e => !e.closest('.visually-hidden, dialog:not([open])') && !inText(e))
    .map(e => [e, box(e)])
    .filter(([e, r]) => r.width < 43.5 || r.height < 43.5)
    .map(([e, r]) => `${e.tagName.toLowerCase()}${e.className ? '.' + e.className : ''} `
      + `"${(e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40)}" `
      + `${Math.round(r.width)}x${Math.round(r.height)}`);
}"""
OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"
LINKS_JS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
# Not pages to look at: downloads, feeds, the language switch, sign-in and payment hand-offs.
SKIP = re.compile(
    r"\.(csv|ics|json|js|ico|png|svg|webmanifest)$|^/(static|lang|api|login|logout|payments|register"
    r"|password|account-deleted)(/|$)|/card/token"
)
# The owner pages that must be among those reached from home (as patterns, ids as <id>).
OWNER_PAGES = {
    "/",
    "/card",
    "/card/reissue",
    "/events",
    "/events/<id>",
    "/me/tickets",
    "/me/tickets/<id>",
    "/rewards",
    "/me/vouchers",
    "/me/vouchers/<id>",
    "/perks",
    "/me/perks",
    "/me/perks/<id>",
    "/me/points",
    "/me/tier",
    "/me",
    "/me/vehicles",
    "/me/vehicles/<id>",
    "/me/notifications",
    "/me/profile",
    "/me/referrals",
    "/me/invite",
    "/me/invite/poster",
    "/me/appointments",
    "/me/inbox",
}


@pytest.fixture(scope="module")
def demo(live_server) -> None:
    """The demo data, and the demo owner with one of most things (tests/browser/demo_world.py)."""
    seed_demo_world(live_server.app)


def pattern(url: str) -> str | None:
    """The page a link leads to, ids as <id> and query values dropped; None if not a page."""
    parts = urlsplit(url)
    if SKIP.search(parts.path):
        return None
    path = re.sub(r"/\d+(?=/|$)", "/<id>", parts.path)
    keys = sorted({k for k, _ in parse_qsl(parts.query)} - {"next", "page"})
    return path + ("?" + "&".join(keys) if keys else "")


def walk(page, start: str, seen: set[str], limit: int = 150):
    """Open ``start`` and every same-site page reachable from it by links, one page of each
    pattern not in ``seen``; yield each page's path once it is open."""
    origin = urlsplit(page.url).netloc
    queue = [start]
    seen.add(pattern(start))
    while queue and limit:
        url = queue.pop(0)
        page.goto(url)
        limit -= 1
        yield url
        for link in page.evaluate(LINKS_JS):
            parts = urlsplit(link)
            found = pattern(link)
            if parts.netloc == origin and found and found not in seen:
                seen.add(found)
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))


def test_owner_pages_fit_both_phones_in_both_languages(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, **PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        demo_log_in(page, DEMO_OWNER)
        problems, reached = [], set()
        for lang in ("en", "zh"):
            page.goto(f"/lang/{lang}?next=/")
            for size, viewport in PHONES.items():
                page.set_viewport_size(viewport)
                seen: set[str] = set()
                for path in walk(page, "/", seen):
                    where = f"{size} {lang} {path}"
                    if page.locator(".tabbar a").count() != 5:
                        problems.append(f"{where}: no tab bar")
                    if (overflow := page.evaluate(OVERFLOW_JS)) > 0:
                        problems.append(f"{where}: scrolls sideways by {overflow}px")
                    problems += [f"{where}: {t}" for t in page.evaluate(SMALL_TARGETS_JS)]
                reached |= seen
        assert not problems, "\n".join(problems)
        assert not OWNER_PAGES - reached, OWNER_PAGES - reached
    finally:
        context.close()


def test_no_staff_or_partner_page_scrolls_sideways(browser, live_server, demo, artifacts):
    # The admins first: they reach most pages; the others then look at what is left.
    accounts = sorted(STAFF, key=lambda s: s[1] not in ("dealer_admin", "hq_admin"))
    seen: set[str] = set()
    problems, pages, visited = [], 0, []
    for mobile, role, *_ in accounts:
        context = browser.new_context(
            base_url=live_server.url, **{**PHONE, "viewport": PHONES["360"]}
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            demo_log_in(page, mobile)
            start = urlsplit(page.url).path
            seen.discard(pattern(start))
            for path in walk(page, start, seen):
                pages += 1
                visited.append(f"{role} {path}")
                if (overflow := page.evaluate(OVERFLOW_JS)) > 0:
                    problems.append(f"{role} {path}: scrolls sideways by {overflow}px")
        finally:
            context.close()
    (artifacts / "polish").mkdir(exist_ok=True)
    (artifacts / "polish" / "staff-pages.txt").write_text("\n".join(visited) + "\n")
    assert not problems, "\n".join(problems)
    assert pages > 60
