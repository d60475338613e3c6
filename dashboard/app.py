"""The Bokeh applications of the dashboard: the ward view at ``/``, a bed at ``/bed?bed=N``.

``/bed?bed=N&render=canvas`` draws the traces without WebGL; without the
argument the ``eegmon_render`` cookie set by the page's own WebGL probe
decides (see `browser`).

Every session reads the same shared `FeedClient` objects, one per feed; the
sessions never touch the network themselves (see `ward` and `bed`).
"""

from __future__ import annotations

import contextlib

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.document import Document

from .bed import make_bed_document
from .beds import Beds
from .browser import RENDER_COOKIE
from .panels.traces import RENDERERS
from .ward import make_ward_document


def bed_index(doc: Document, shown: list[int]) -> int:
    """The ``?bed=N`` argument of the page (0-based), the first bed shown when absent or gone."""
    index = -1
    with contextlib.suppress(TypeError, ValueError):
        index = int(page_argument(doc, "bed") or 0)
    return index if index in shown else (shown[0] if shown else -1)


def page_argument(doc: Document, name: str) -> str | None:
    """A query argument of the page's URL, None when absent."""
    request = getattr(doc.session_context, "request", None)
    try:
        return bytes(request.arguments[name][0]).decode() if request is not None else None
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def page_cookie(doc: Document, name: str) -> str | None:
    """A cookie sent with the page's request, None when absent."""
    request = getattr(doc.session_context, "request", None)
    cookies = getattr(request, "cookies", None) or {}
    value = cookies.get(name)
    return getattr(value, "value", value)


def build_applications(beds: Beds) -> dict[str, Application]:
    """The ward and bed applications for the shared `beds`, by URL path."""

    def ward(doc: Document) -> None:
        make_ward_document(doc, beds)

    def bed(doc: Document) -> None:
        render = page_argument(doc, "render") or page_cookie(doc, RENDER_COOKIE)
        render = render if render in RENDERERS else "webgl"
        index = bed_index(doc, beds.shown())
        if index < 0:  # a ward with no bed yet: its page says so
            make_ward_document(doc, beds)
            return
        make_bed_document(doc, beds, index, render)

    return {"/": Application(FunctionHandler(ward)), "/bed": Application(FunctionHandler(bed))}
