"""Problem statements to safe HTML: Markdown (with ``$math$``), HTML or plain text.

Every statement goes through the same sanitizer (nh3, the Rust ammonia crate): organizers and
imported packages are trusted with formatting, never with scripts. Math is left as TeX inside
``<span class="math inline">`` / ``<div class="math block">`` for KaTeX to typeset in the
browser (without JavaScript the TeX source stays readable).
"""

from __future__ import annotations

import html
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

__all__ = ["render_statement", "sanitize_html"]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "samp", "section",
    "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul", "var",
}
_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start", "type"},
    "col": {"span"},
}


def sanitize_html(text: str) -> str:
    """Allow formatting, links (http, https, mailto, relative) and images; drop the rest."""
    return nh3.clean(
        text, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow", strip_comments=True)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    # The plugin wraps the (escaped) TeX in <span class="math inline"> / <div class="math block">.
    md.use(dollarmath_plugin, allow_space=True, double_inline=True,
           renderer=lambda content, options: html.escape(content))
    md.use(footnote_plugin)
    return md


def render_statement(text: str, fmt: str = "markdown") -> str:
    """Sanitized HTML of a statement (``fmt``: markdown, html, latex or text)."""
    if fmt == "markdown":
        raw = _markdown().render(text)
    elif fmt == "html":
        raw = text
    else:  # plain text, and LaTeX kept as source (the package import could not convert it)
        raw = f'<pre class="statement-source">{html.escape(text)}</pre>'
    return sanitize_html(raw)
