"""Print the whole book to one PDF with headless Chromium, offline.

    jupyter-book build --builder singlehtml .      # the book as one HTML page: _build/singlehtml
    python scripts/book_pdf.py [_build/singlehtml] [_build/pdf/symmetry.pdf]

(``make pdf`` does both.) The single page is served on 127.0.0.1, MathJax (served from the book's
own ``_static``) typesets it, exercise solutions are opened as they are when a reader prints a
page, and Chromium prints it to A4. Chromium: ``$CHROMIUM``, else ``chromium`` or ``google-chrome``
on PATH. Jupyter Book's own PDF builders need a TeX installation (pdflatex) or download a browser
(pdfhtml), so neither works offline here.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-quic", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

WAIT_FOR_PAGE = """async () => {
  for (let i = 0; i < 400 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 25));
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  await Promise.all([...document.images].map(
    i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  await document.fonts.ready;
  window.dispatchEvent(new Event('beforeprint'));  // sphinx-togglebutton opens the solutions for print
  return [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length;
}"""


# Code blocks wider than the printed column: on paper they cannot scroll, so they must wrap
# (book/_static/fit.css does it for print).
CLIPPED_CODE = """() => [...document.querySelectorAll('pre')]
  .filter(p => p.scrollWidth > p.clientWidth + 1)
  .map(p => p.textContent.trim().split('\\n')[0].slice(0, 80))"""
# The printed column in CSS pixels: A4 (210 mm) less the margins below (2 × 12 mm), at 96 px per inch.
PRINT_WIDTH = round((210 - 2 * 12) / 25.4 * 96)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("google-chrome")
    if not found:
        sys.exit("no Chromium: set $CHROMIUM or install it (Debian: apt-get install chromium)")
    return found


def print_pdf(html_dir: Path, out: Path) -> int:
    """Print ``html_dir``'s start page to ``out``; return the number of pages."""
    from playwright.sync_api import sync_playwright

    start = (html_dir / "index.html").read_text()
    page_path = m.group(1) if (m := re.search(r'url=([^"]+)"', start)) else "index.html"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": PRINT_WIDTH, "height": 1000})
            page.emulate_media(media="print")
            page.set_default_timeout(300_000)
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
            # singlehtml writes the page to book/intro.html with links relative to the root: serve it there.
            page.route(base + "book.html", lambda r: r.fulfill(path=html_dir / page_path))
            page.goto(base + "book.html", wait_until="load")
            unrendered = page.evaluate(WAIT_FOR_PAGE)
            if unrendered:
                raise RuntimeError(f"{unrendered} math elements were not typeset")
            clipped = page.evaluate(CLIPPED_CODE)
            if clipped:
                raise RuntimeError(f"{len(clipped)} code blocks are wider than the page, e.g. {clipped[:3]}")
            pdf = page.pdf(format="A4", print_background=True, outline=True, tagged=True,
                           margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def main(args: list[str]) -> None:
    html_dir = Path(args[0]) if args else ROOT / "_build" / "singlehtml"
    out = Path(args[1]) if len(args) > 1 else ROOT / "_build" / "pdf" / "symmetry.pdf"
    t = time.perf_counter()
    pages = print_pdf(html_dir, out)
    if pages < 20:
        sys.exit(f"{out}: only {pages} pages, the book did not print")
    print(f"{out}: {pages} pages, {out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
