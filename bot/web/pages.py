"""The few human pages the HTTP server shows: short, plain, never a traceback."""

from __future__ import annotations

from html import escape

from aiohttp import web

from handlers.text import html_inline


def page(status: int, title: str, message: str, *, button: str | None = None) -> web.Response:
    """A page saying `message`; with `button`, a button that posts back to the same address (a
    change a link only offers, so a mail scanner opening the link changes nothing)."""
    form = (f"<form method=post><button type=submit style='font:inherit;padding:.5rem 1rem'>"
            f"{escape(button)}</button></form>") if button else ""
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;"
        "padding:0 1rem;color:#1f2933}h1{font-size:1.4rem}</style></head>"
        f"<body><h1>{escape(title)}</h1><p>{html_inline(message)}</p>{form}</body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")
