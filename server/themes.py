"""Themes as a Jinja loader chain.

A page is looked up in: the active theme → template folders of plugins → the default theme.
The ``default:`` prefix always reaches the default theme, so a theme can override one block::

    {% extends "default:base.html" %}
    {% block header %}…{% endblock %}

Admin pages (``admin/…``) never come from a contestant theme: they are looked up in the
default theme only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.loaders import split_template_path
from markupsafe import Markup, escape

from server import i18n
from server.plugins import PluginRegistry

__all__ = ["THEMES_DIR", "ThemeEnvironments", "available_themes", "template_filters"]

THEMES_DIR = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = "default"


def _fmt_dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _fmt_clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = int(seconds // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _fmt_num(value: float) -> str:
    """Points without a pointless ``.0``: 100.0 -> 100, 12.5 -> 12.5."""
    return f"{value:g}" if abs(value) < 1e15 else str(value)


def _when(value: datetime | None, tz: str | None = None) -> Markup:
    """A ``<time>`` element: UTC text without JavaScript; podium.js shows it in the viewer's
    time zone, with ``tz`` (the contest's zone) on hover."""
    if value is None:
        return Markup("")
    zone = f' data-tz="{escape(tz)}"' if tz else ""
    return Markup(f'<time datetime="{value.isoformat()}"{zone}>{escape(_fmt_dt(value))}</time>')


def template_filters() -> dict[str, Any]:
    return {"dt": _fmt_dt, "clock": _fmt_clock, "num": _fmt_num, "when": _when,
            "tuple_pair": lambda v: (v, v)}


def available_themes(registry: PluginRegistry) -> dict[str, Path]:
    """Theme name -> folder: the built-in ``themes/*`` plus those plugins contribute."""
    themes = {
        p.name: p for p in sorted(THEMES_DIR.iterdir()) if (p / "templates").is_dir()
    }
    for name, folder in registry.themes.items():
        themes.setdefault(name, folder)
    return themes


class _NoAdmin(BaseLoader):
    """Wraps a theme's loader so that it never serves admin templates."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if _is_admin(template):
            raise TemplateNotFound(template)
        return self.inner.get_source(environment, template)

    def list_templates(self) -> list[str]:
        return [t for t in self.inner.list_templates() if not _is_admin(t)]


def _is_admin(template: str) -> bool:
    """Whether the name reaches ``admin/`` once normalised (``./admin/x``, ``/admin/x``…)."""
    return split_template_path(template)[:1] == ["admin"]


class ThemeEnvironments:
    """One Jinja environment per theme, built lazily and cached."""

    def __init__(
        self,
        registry: PluginRegistry,
        *,
        globals: dict[str, Any] | None = None,
        filters: dict[str, Callable[..., Any]] | None = None,
        auto_reload: bool = False,
    ) -> None:
        """``auto_reload``: check every template's file for changes on each use (Jinja's
        default, a ``stat`` per template per render, for each row a loop includes): on in
        debug mode only; otherwise a changed theme shows after a restart."""
        self.registry = registry
        self.auto_reload = auto_reload
        self.themes = available_themes(registry)
        if DEFAULT_THEME not in self.themes:
            raise RuntimeError(f"the default theme is missing from {THEMES_DIR}")
        self.globals = globals or {}
        self.filters = {**template_filters(), **(filters or {})}
        self._envs: dict[str, Environment] = {}

    def static_dirs(self) -> dict[str, Path]:
        return {name: p / "static" for name, p in self.themes.items() if (p / "static").is_dir()}

    def get(self, theme: str | None) -> Environment:
        name = theme if theme in self.themes else DEFAULT_THEME
        env = self._envs.get(name)
        if env is None:
            env = self._envs[name] = self._build(name)
        return env

    def _build(self, name: str) -> Environment:
        default = FileSystemLoader(str(self.themes[DEFAULT_THEME] / "templates"))
        chain: list[BaseLoader] = []
        if name != DEFAULT_THEME:
            chain.append(_NoAdmin(FileSystemLoader(str(self.themes[name] / "templates"))))
        chain.extend(FileSystemLoader(str(p)) for p in self.registry.template_dirs)
        chain.append(default)
        loader = ChoiceLoader([PrefixLoader({"default": default}, delimiter=":"), *chain])
        env = Environment(
            loader=loader,
            autoescape=select_autoescape(default_for_string=True),
            enable_async=False,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
            auto_reload=self.auto_reload,
        )
        env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True)
        env.globals.update(self.globals, theme=name)
        env.filters.update(self.filters)
        return env
