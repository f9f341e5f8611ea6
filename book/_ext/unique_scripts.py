"""Sphinx extension: include each inline ``<script>`` once per page.

Sphinx 7.4 re-adds scripts registered after the builder starts and turns their filename ``None``
into ``''`` on the way, so its own de-duplication misses them: every page got sphinx-thebe's
``const THEBE_JS_URL = …`` twice, a SyntaxError in the browser console. Drops the second copy of
any script with the same source and attributes. (tests/test_browser.py fails on console errors.)
"""

from __future__ import annotations

from typing import Any


def _unique_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _unique_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
