"""Translations (gettext via Babel): every user-visible string goes through ``_``.

Templates use Jinja's i18n extension (``{% trans %}…{% endtrans %}``, ``{{ _("…") }}``);
Python code uses :func:`gettext` / :func:`lazy_gettext` from here. Catalogs live in
``server/i18n/<locale>/LC_MESSAGES/messages.mo``; extract with
``pybabel extract -F babel.cfg -o server/i18n/messages.pot .`` (see README, "Translating").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

__all__ = [
    "LOCALE_DIR",
    "N_",
    "available_locales",
    "current_locale",
    "gettext",
    "negotiate",
    "ngettext",
    "set_locale",
    "translations",
    "using_locale",
]

LOCALE_DIR = Path(__file__).resolve().parent
DEFAULT_LOCALE = "en"


def available_locales() -> list[str]:
    """English plus every compiled catalog (read once per folder: every page asks)."""
    return list(_locales_in(LOCALE_DIR))


@lru_cache(maxsize=8)
def _locales_in(folder: Path) -> tuple[str, ...]:
    found = sorted(p.name for p in folder.iterdir()
                   if (p / "LC_MESSAGES" / "messages.mo").is_file())
    return (DEFAULT_LOCALE, *[name for name in found if name != DEFAULT_LOCALE])


@lru_cache(maxsize=32)
def translations(locale: str | None) -> NullTranslations:
    """The catalog of a locale (English, the source language, when there is none)."""
    if not locale or locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def negotiate(accept_language: str, preferred: str | None = None,
              fallback: str = DEFAULT_LOCALE) -> str:
    """The user's saved locale, else the best match of the Accept-Language header, else
    ``fallback`` (the instance's default language) when it has a catalog."""
    locales = available_locales()
    if preferred in locales:
        return preferred  # type: ignore[return-value]
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if not tag:
            continue
        for candidate in (tag, tag.split("_")[0]):
            if candidate in locales:
                return candidate
    return fallback if fallback in locales else DEFAULT_LOCALE


_current: ContextVar[str] = ContextVar("podium_locale", default=DEFAULT_LOCALE)


def set_locale(locale: str) -> None:
    """The locale of the current request (a context variable: one per task)."""
    _current.set(locale)


def current_locale() -> str:
    return _current.get()


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    """Render in ``locale`` (English when it has no catalog) for the duration, whatever the
    current request's locale: for what is rendered once and shown to every viewer."""
    token = _current.set(locale if locale in available_locales() else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current.get()).upgettext(context, message)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here (a table of names that a
    template translates when it shows one: ``{{ _(name) }}``). Babel extracts ``N_`` calls by
    default."""
    return message
