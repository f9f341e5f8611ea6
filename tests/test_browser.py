"""The built book, page by page, in headless Chromium: what a reader sees.

Serves ``_build/html`` on 127.0.0.1, opens every page in Debian's ``chromium`` through Playwright
(any other address is blocked and reported: the book must work offline), and checks:

* no console errors, uncaught exceptions, or failed and external requests;
* every math element typeset by the locally served MathJax, and no MathJax errors;
* every image loaded; every figure opaque, so that it stays readable in dark mode;
* every internal link and cross-reference resolves: the file exists and the ``#anchor`` is on it;
* no MyST markup leaked into the text (``{term}``, ``{cite}``, ``:::``, raw TeX delimiters);
* on every chapter: the Colab launch button with this notebook's URL, visible when the rocket is
  clicked; links into the glossary; the note on running at full scale; exercise solutions that
  start hidden and open on a click;
* the search page finds a word of the book;
* every static slider (``symlib.plot.StaticSlider``) moves and changes its picture, and the chapters
  with an explorer have one;
* nothing sticks out of its column, at 1280 px (light and dark) and at a phone's 390 px: the page
  never scrolls sideways, and wide math, code or tables scroll inside their own box.

A screenshot of every page (light, whole page), of its first figure in dark mode and of its top at
390 px, and
``report.md`` (what was checked, how long it took) go to ``_build/screenshots``. Run ``make book``
first. Without Chromium or a built book the tests are skipped, except under CI (``CI`` set), where
they fail instead: CI must run them. ``SYMLIB_BOOK_HTML`` points the test at another built book.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("SYMLIB_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = HTML.parent / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# As root in a container Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-quic", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}  # a phone held upright
SHOT_HEIGHT = 16_000  # px: full-page screenshots stop there (the API page is ~100,000 px tall)
TIMEOUT_MS = 30_000


def _load_check_book():
    spec = importlib.util.spec_from_file_location("check_book_script", ROOT / "scripts" / "check_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _why_not() -> str | None:
    if not (HTML / "index.html").exists():
        return f"no built book at {HTML}: run `make book` first"
    if not CHROMIUM:
        return "no chromium on PATH (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (make env installs it)"
    return None


def _chapters() -> dict[str, str]:
    """Chapter page (relative to the HTML root) -> the Colab URL its launch button must open, for
    every notebook built into the book (scripts/check_book.py checks that all of them are)."""
    colab_url = _load_check_book().colab_url
    return {f"notebooks/{nb.stem}.html": colab_url(nb.relative_to(ROOT))
            for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))
            if (HTML / "notebooks" / f"{nb.stem}.html").exists()}


def _pages() -> list[str]:
    skip = ("_static/", "_sources/", "_images/")
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).as_posix().startswith(skip))


@dataclass
class PageReport:
    path: str
    crawl_error: str | None = None
    seconds: float = 0.0
    redirect: str | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    math_total: int = 0
    math_unrendered: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    figures: int = 0
    transparent_figures: list[str] = field(default_factory=list)
    dark_theme: bool = False
    links: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    leaked_markup: list[str] = field(default_factory=list)
    colab_links: list[str] = field(default_factory=list)
    colab_visible_on_click: bool = False
    glossary_links: int = 0
    full_scale_note: bool = False
    solutions: int = 0
    solutions_hidden: bool = False
    solutions_open_on_click: bool = False
    search_results: int = 0
    claims_sort: list[float] = field(default_factory=list)   # the p column after clicking its header
    forests: list[dict] = field(default_factory=list)        # the Reproductions page's forest plots
    overflow: list[str] = field(default_factory=list)
    sliders: int = 0
    broken_sliders: list[str] = field(default_factory=list)


# --- JavaScript run in the page ------------------------------------------------------------------

WAIT_FOR_MATH = """async () => {
  if (!document.querySelector('.math')) return;
  for (let i = 0; i < 400 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 25));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
}"""

MATH = """() => {
  const els = [...document.querySelectorAll('.math')];
  return {
    total: els.length,
    unrendered: els.filter(e => !e.querySelector('mjx-container'))
                   .map(e => e.textContent.trim().slice(0, 80)),
    errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
              .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120)),
  };
}"""

# Figures: images in the article body. The fraction of pixels that are not opaque is measured on
# a canvas (the images are same-origin, so the canvas can be read).
IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  const settle = i => i.complete ? Promise.resolve()
      : new Promise(r => {
          i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 10000);
        });
  await Promise.all(imgs.map(settle));
  const transparency = img => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d', {willReadFrequently: true});
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) if (d[k] < 250) n++;
    return n / (d.length / 4);
  };
  return imgs.map(i => {
    const ok = i.complete && i.naturalWidth > 0;
    const figure = ok && !!i.closest('article') && !i.closest('.header-article-main, .bd-header-article');
    return {src: i.getAttribute('src'), ok, figure, transparency: figure ? transparency(i) : 0};
  });
}"""

LINKS_AND_IDS = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id)
        .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
})"""

# Text a reader sees, outside code: MyST roles, directive fences or TeX delimiters there mean
# something was not parsed or not typeset.
LEAKED_MARKUP = r"""() => {
  const bad = /\{(term|cite|glue|glue:text|doc|ref|numref|eq|math)\}`|^\s*:::|:class:|\\\(|\\\[|\$\$/m;
  const skip = 'code, pre, script, style, textarea, mjx-container, .highlight, .cell_input, .output, '
             + '.cell_output';
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const found = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && n.parentElement.closest(skip)) continue;
    if (bad.test(n.textContent)) found.push(n.textContent.trim().slice(0, 100));
  }
  return found;
}"""

# Elements wider than their column. An element may stick out only inside an ancestor that scrolls
# (overflow-x auto/scroll: wide code and math scroll in their own box); inside one that hides the
# overflow it is cut off; with neither, it sticks out of the article. MathJax's assistive MathML is
# clipped on purpose (it is for screen readers) and skipped.
OVERFLOW = """() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1)
    out.push(`the page scrolls sideways: ${doc.scrollWidth} px wide in ${doc.clientWidth}`);
  const article = document.querySelector('article.bd-article');
  if (!article) return out;
  const column = article.getBoundingClientRect();
  for (const el of article.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || el.closest('mjx-assistive-mml')) continue;
    let box = el.parentElement, style = null;
    while (box && box !== article && (style = getComputedStyle(box).overflowX) === 'visible')
      box = box.parentElement;
    let why = null;
    if (box && box !== article) {
      if ((style === 'hidden' || style === 'clip') && r.right > box.getBoundingClientRect().right + 1)
        why = 'cut off';
    } else if (r.right > column.right + 1 || r.left < column.left - 1) {
      why = 'outside the column';
    }
    if (why) out.push(`${why} by ${Math.round(r.right - column.right)} px: <${el.tagName.toLowerCase()}> `
                      + JSON.stringify((el.textContent || '').trim().slice(0, 60)));
  }
  return out.slice(0, 10);
}"""

# Each static slider, moved to its last frame as a reader would drag it: the picture and the value
# shown beside it must change.
SLIDERS = """() => [...document.querySelectorAll('.symlib-slider')].map(root => {
  const input = root.querySelector('input[type=range]'), img = root.querySelector('img');
  const out = root.querySelector('output');
  const before = [img.src, out.textContent];
  input.value = input.max;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  const after = [img.src, out.textContent];
  input.value = input.min;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  return {id: root.id, frames: Number(input.max) + 1, picture: before[0] !== after[0],
          value: before[1] !== after[1], back: img.src === before[0]};
})"""

DARK = """() => {
  document.documentElement.dataset.theme = 'dark';
  const bg = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return (0.2126 * bg[0] + 0.7152 * bg[1] + 0.0722 * bg[2]) / 255 < 0.3;
}"""


# --- The crawl -----------------------------------------------------------------------------------

class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    reason = _why_not()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI, but: {reason}")
        pytest.skip(reason)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


def _visible_after(click, target, timeout: int = 5_000) -> bool:
    """Whether ``target`` becomes visible after ``click()``."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        click()
        target.wait_for(state="visible", timeout=timeout)
        return True
    except PlaywrightError:
        return False


def _check_chapter(page, report: PageReport, colab: str) -> None:
    """What a reader of a chapter uses: the Colab button, glossary links, the full-scale note, solutions."""
    report.colab_links = page.eval_on_selector_all(
        'a[href*="colab.research.google.com"]', "els => els.map(e => e.href)")
    rocket = page.locator(".dropdown-launch-buttons button.dropdown-toggle")
    item = page.locator(f'.dropdown-launch-buttons a[href="{colab}"]')
    report.colab_visible_on_click = rocket.count() == 1 and _visible_after(rocket.click, item)
    page.keyboard.press("Escape")
    report.glossary_links = page.locator('main a[href*="glossary.html#term-"]').count()
    report.full_scale_note = page.locator("main blockquote", has_text='SCALE = "full"').first.is_visible()
    solutions = page.locator("main .admonition.dropdown", has_text="Solution")
    report.solutions = solutions.count()
    if report.solutions:
        title = solutions.first.locator(".admonition-title")
        body = solutions.first.locator("> :not(.admonition-title)").first
        report.solutions_hidden = not body.is_visible()
        report.solutions_open_on_click = _visible_after(title.click, body)
        title.click()  # closed again for the screenshot


def _visit(context, base: str, path: str, colab: str | None) -> PageReport:
    report = PageReport(path)
    start = time.perf_counter()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: m.type == "error" and report.console_errors.append(m.text))
    page.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: r.url.startswith(base)
            and report.failed_requests.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and report.failed_requests.append(f"{r.url} ({r.status})"))

    def only_local(route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            report.external_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)

    refresh = re.search(r'http-equiv="Refresh" content="\d+; url=([^"]+)"', (HTML / path).read_text(), re.I)
    page.goto(base + path, wait_until="load")
    if refresh:  # index.html: a redirect to the first page
        report.redirect = refresh.group(1)
        page.wait_for_url(base + report.redirect)
        report.seconds = time.perf_counter() - start
        page.close()
        return report

    page.evaluate(WAIT_FOR_MATH)
    math = page.evaluate(MATH)
    report.math_total, report.math_unrendered = math["total"], math["unrendered"]
    report.math_errors = math["errors"]
    images = page.evaluate(IMAGES)
    report.images = len(images)
    report.broken_images = [i["src"] for i in images if not i["ok"]]
    report.figures = sum(i["figure"] for i in images)
    report.transparent_figures = [f"{i['src']} ({i['transparency']:.0%} transparent)" for i in images
                                  if i["figure"] and i["transparency"] > 0]
    found = page.evaluate(LINKS_AND_IDS)
    report.links, report.ids = found["links"], found["ids"]
    report.leaked_markup = page.evaluate(LEAKED_MARKUP)
    report.overflow += [f"{VIEWPORT['width']} px: {o}" for o in page.evaluate(OVERFLOW)]
    sliders = page.evaluate(SLIDERS)
    report.sliders = len(sliders)
    report.broken_sliders = [str(x) for x in sliders
                             if not (x["frames"] > 1 and x["picture"] and x["value"] and x["back"])]

    if colab is not None:
        _check_chapter(page, report, colab)

    # The whole page (up to SHOT_HEIGHT) as a reader sees it; then the first figure in dark mode.
    name = path.removesuffix(".html").replace("/", "__")
    height = min(page.evaluate("document.documentElement.scrollHeight"), SHOT_HEIGHT)
    page.screenshot(path=str(SHOTS / f"{name}.jpg"), full_page=True, type="jpeg", quality=85,
                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    report.dark_theme = page.evaluate(DARK)
    report.overflow += [f"{VIEWPORT['width']} px, dark: {o}" for o in page.evaluate(OVERFLOW)]
    page.evaluate("() => document.querySelector('article img')?.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(SHOTS / f"{name}.dark.png"))
    report.seconds = time.perf_counter() - start
    page.close()
    return report


def _visit_narrow(context, base: str, report: PageReport) -> None:
    """The page on a phone: what overflows its column at NARROW width, and a screenshot of its top."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
               else route.abort())
    page.goto(base + report.path, wait_until="load")
    page.evaluate(WAIT_FOR_MATH)
    report.overflow += [f"{NARROW['width']} px: {o}" for o in page.evaluate(OVERFLOW)]
    name = report.path.removesuffix(".html").replace("/", "__")
    page.screenshot(path=str(SHOTS / f"{name}.{NARROW['width']}px.jpg"), type="jpeg", quality=85)
    page.close()


@pytest.fixture(scope="module")
def crawl(server: str) -> dict[str, PageReport]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    chapters = _chapters()
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    start = time.perf_counter()
    reports: dict[str, PageReport] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
        for path in _pages():
            try:
                reports[path] = _visit(context, server, path, chapters.get(path))
            except PlaywrightError as e:  # reported by test_every_page_loads, the other pages still checked
                reports[path] = PageReport(path, crawl_error=str(e).splitlines()[0])
        try:
            search = _search(context, server)
        except PlaywrightError:
            search = 0
        try:
            reports["book/claims.html"].claims_sort = _sort_claims(context, server)
        except (PlaywrightError, KeyError, ValueError):
            pass                                       # test_the_claims_table_sorts reports it
        try:
            reports["book/reproductions.html"].forests = _forests(context, server)
        except (PlaywrightError, KeyError):
            pass                                       # test_each_reproduction_has_its_forest_plot reports it
        phone = browser.new_context(viewport=NARROW, color_scheme="light", is_mobile=True)
        for report in reports.values():
            if report.redirect is None and report.crawl_error is None:
                try:
                    _visit_narrow(phone, server, report)
                except PlaywrightError as e:
                    report.crawl_error = f"at {NARROW['width']} px: {str(e).splitlines()[0]}"
        browser.close()
    reports["search.html"].search_results = search
    _write_report(reports, search, time.perf_counter() - start)
    return reports


def _search(context, base: str) -> int:
    """Number of pages the search page finds for a word every chapter uses."""
    page = context.new_page()
    page.goto(base + "search.html?q=equivariance", wait_until="load")
    summary = page.locator("#search-results .search-summary")
    summary.filter(has_text=re.compile(r"Search finished|did not match")).wait_for(timeout=TIMEOUT_MS)
    found = re.search(r"found (\d+) page", summary.inner_text())
    page.close()
    return int(found.group(1)) if found else 0


def _sort_claims(context, base: str) -> list[float]:
    """Click the findings table's "p" header on the Claims page; return the p column as shown."""
    page = context.new_page()
    page.goto(base + "book/claims.html", wait_until="load")
    table = page.locator(".claims-findings table")
    table.locator("thead th", has_text=re.compile(r"^p$")).click()
    column = [th.strip() for th in table.locator("thead th").all_inner_texts()].index("p")
    values = [float(row.locator("td").nth(column).inner_text())
              for row in table.locator("tbody tr").all()]
    page.close()
    return values


FORESTS = """() => [...document.querySelectorAll('article svg')]
  .filter(s => s.querySelector('g[id^="figure_"]'))
  .map(s => ({width: s.getBoundingClientRect().width, text: s.textContent}))"""


def _forests(context, base: str) -> list[dict]:
    """The inline SVG figures (matplotlib's) on the Reproductions page: each one's rendered width and
    its text."""
    page = context.new_page()
    page.goto(base + "book/reproductions.html", wait_until="load")
    found = page.evaluate(FORESTS)
    page.close()
    return found


def _write_report(reports: dict[str, PageReport], search: int, seconds: float) -> None:
    chapters = [r for r in reports.values() if r.path.startswith("notebooks/")]
    lines = [
        f"# Browser test: {len(reports)} pages in headless Chromium, {seconds:.0f} s",
        "",
        f"- {sum(r.math_total for r in reports.values())} math elements typeset by local MathJax",
        (f"- {sum(r.images for r in reports.values())} images loaded, "
         f"{sum(r.figures for r in reports.values())} of them figures checked opaque "
         "(readable in dark mode)"),
        f"- {sum(len(r.links) for r in reports.values())} links followed to their file and anchor",
        (f"- {len(chapters)} chapters: Colab button, glossary links "
         f"({sum(r.glossary_links for r in chapters)}), full-scale note, hidden solutions"),
        f"- search for 'equivariance': {search} results",
        f"- {sum(r.sliders for r in reports.values())} static sliders dragged: picture and value change",
        (f"- overflow checked at {VIEWPORT['width']} px (light and dark) and {NARROW['width']} px: "
         f"{sum(len(r.overflow) for r in reports.values())} elements wider than their column"),
        "",
        "| page | s | math | images | links | console errors | external requests |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r.path} | {r.seconds:.1f} | {r.math_total} | {r.images} | {len(r.links)} | "
              f"{len(r.console_errors)} | {len(r.external_requests)} |" for r in reports.values()]
    (SHOTS / "report.md").write_text("\n".join(lines) + "\n")
    data = {path: {k: v for k, v in asdict(r).items() if k not in ("links", "ids")}
            for path, r in reports.items()}
    summary = {"seconds": seconds, "search_results": search, "pages": data}
    (SHOTS / "report.json").write_text(json.dumps(summary, indent=1))


# --- The checks ----------------------------------------------------------------------------------

def _problems(crawl: dict[str, PageReport], attribute: str) -> dict[str, list]:
    return {p: getattr(r, attribute) for p, r in crawl.items() if getattr(r, attribute)}


def test_every_page_of_the_book_was_opened(crawl: dict[str, PageReport]) -> None:
    assert "book/intro.html" in crawl and "book/glossary.html" in crawl and "book/api.html" in crawl
    assert "book/reproductions.html" in crawl and "book/claims.html" in crawl
    assert _chapters() and set(_chapters()) <= set(crawl)
    assert crawl["index.html"].redirect == "book/intro.html"


def test_every_page_loads(crawl: dict[str, PageReport]) -> None:
    assert not _problems(crawl, "crawl_error")


def test_no_console_errors(crawl: dict[str, PageReport]) -> None:
    assert not _problems(crawl, "console_errors")


def test_every_request_succeeds_and_stays_local(crawl: dict[str, PageReport]) -> None:
    assert not _problems(crawl, "failed_requests")
    assert not _problems(crawl, "external_requests"), "the book must not load anything from the internet"


def test_math_is_rendered(crawl: dict[str, PageReport]) -> None:
    assert sum(r.math_total for r in crawl.values()) > 100, "hardly any math found: is MathJax configured?"
    assert not _problems(crawl, "math_unrendered")
    assert not _problems(crawl, "math_errors")


def test_every_image_loads(crawl: dict[str, PageReport]) -> None:
    assert sum(r.figures for r in crawl.values()) > 20
    assert not _problems(crawl, "broken_images")


def test_figures_are_readable_in_dark_mode(crawl: dict[str, PageReport]) -> None:
    """Opaque figures keep their own light background on the dark page; transparent ones would show
    black axes and labels on near-black."""
    pages = [r for r in crawl.values() if r.redirect is None]
    assert all(r.dark_theme for r in pages), "switching to the dark theme did not darken the page"
    assert not _problems(crawl, "transparent_figures")


def test_no_markup_leaks_into_the_text(crawl: dict[str, PageReport]) -> None:
    assert not _problems(crawl, "leaked_markup")


def test_internal_links_and_cross_references_resolve(crawl: dict[str, PageReport], server: str) -> None:
    ids = {path: set(r.ids) for path, r in crawl.items()}
    broken: dict[str, list[str]] = {}
    checked = 0
    for path, report in crawl.items():
        for href in report.links:
            if not href.startswith(server):
                continue
            url, fragment = urldefrag(href)
            target = unquote(urlparse(url).path).lstrip("/") or "index.html"
            if target.endswith("/"):
                target += "index.html"
            checked += 1
            if not (HTML / target).is_file():
                broken.setdefault(path, []).append(f"{href}: no file {target}")
            elif fragment and target in ids and unquote(fragment) not in ids[target]:
                broken.setdefault(path, []).append(f"{href}: no #{unquote(fragment)} on {target}")
    assert checked > 500
    assert not broken


def test_every_chapter_has_its_colab_button(crawl: dict[str, PageReport]) -> None:
    problems = {}
    for path, url in _chapters().items():
        report = crawl[path]
        if report.colab_links != [url]:
            problems[path] = f"Colab links {report.colab_links}, expected [{url}]"
        elif not report.colab_visible_on_click:
            problems[path] = "the Colab item does not show when the launch (rocket) button is clicked"
    assert not problems


def test_every_chapter_links_the_glossary(crawl: dict[str, PageReport]) -> None:
    assert not {p: 0 for p in _chapters() if crawl[p].glossary_links == 0}


def test_every_chapter_shows_how_to_run_at_full_scale(crawl: dict[str, PageReport]) -> None:
    assert not [p for p in _chapters() if not crawl[p].full_scale_note]


def test_exercise_solutions_start_hidden_and_open_on_click(crawl: dict[str, PageReport]) -> None:
    problems = {p: asdict(crawl[p]) for p in _chapters()
                if not (crawl[p].solutions and crawl[p].solutions_hidden
                        and crawl[p].solutions_open_on_click)}
    assert not {p: {k: r[k] for k in ("solutions", "solutions_hidden", "solutions_open_on_click")}
                for p, r in problems.items()}


# Chapters whose notebook has an ipywidgets explorer: the rendered book must offer a static slider.
EXPLORERS = ("notebooks/01_the_property.html", "notebooks/05_rotation_symmetry.html")


def test_static_sliders_move_their_pictures(crawl: dict[str, PageReport]) -> None:
    assert not _problems(crawl, "broken_sliders")
    assert not [p for p in EXPLORERS if crawl[p].sliders == 0], "a chapter with an explorer lacks its slider"


def test_nothing_overflows_its_column(crawl: dict[str, PageReport]) -> None:
    """At 1280 px (light and dark) and 390 px no page scrolls sideways and nothing is cut off or
    sticks out of the article's column; wide math, code and tables scroll inside their own box."""
    assert not _problems(crawl, "overflow")


def test_the_claims_table_sorts(crawl: dict[str, PageReport]) -> None:
    """The Claims page's findings table sorts by the column whose header is clicked (p, ascending)."""
    values = crawl["book/claims.html"].claims_sort
    assert len(values) > 50 and values == sorted(values) and values[0] < values[-1]


def test_each_reproduction_has_its_forest_plot(crawl: dict[str, PageReport]) -> None:
    """One forest plot per reproduction table (every ``results/*.json`` with rows), drawn at a
    readable width, each naming the verdicts of its rows."""
    tables = [p for p in sorted((ROOT / "results").glob("*.json")) if "rows" in json.loads(p.read_text())]
    forests = crawl["book/reproductions.html"].forests
    assert len(forests) == len(tables), (len(forests), [p.stem for p in tables])
    for forest in forests:
        assert forest["width"] > 200 and re.search(r"agrees|disagrees|not judged", forest["text"]), forest


def test_search_finds_the_books_words(crawl: dict[str, PageReport]) -> None:
    assert crawl["search.html"].search_results >= len(_chapters()) // 2
