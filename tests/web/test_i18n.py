"""Translations: strings are extractable with Babel, and a compiled catalog changes the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo

from server import i18n
from tests.web import HTML, fast_passwords  # noqa: F401 (fast_passwords is an autouse fixture)

ROOT = Path(__file__).resolve().parents[2]


def _extract() -> dict[str, list[str]]:
    """msgid -> files, extracted the way babel.cfg says (templates with the i18n extension)."""
    method_map = [("server/**.py", "python"), ("themes/**/templates/**.html", "jinja2")]
    options = {"themes/**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: dict[str, list[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options, keywords={"_": None, "gettext": None, "N_": None,
                                                      "ngettext": (1, 2)}):
        key = message if isinstance(message, str) else message[0]
        found.setdefault(key, []).append(filename)
    return found


def test_page_strings_are_extracted() -> None:
    messages = _extract()
    assert len(messages) > 80
    for text in ("Log in", "Create my account", "Your team", "Join code",
                 "Too many failed logins. Try again in %(n)d minute(s).",
                 "Wrong answer", "Judge error",  # names in a table (N_)
                 "%(num)d try", "frozen: later results are pending",  # the live board
                 "this invite code is not valid",  # the actions' errors (N_)
                 "user %(username)r does not exist", "team %(name)r already exists"):
        assert text in messages, text
    assert any(f.startswith("themes/default/templates/admin/") for fs in messages.values()
               for f in fs)


@pytest.fixture
def norwegian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    catalog = Catalog(locale="nb")
    catalog.add("Log in", "Logg inn")
    catalog.add("Wrong username or password.", "Feil brukernavn eller passord.")
    folder = tmp_path / "nb" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()


async def test_a_catalog_translates_pages_by_accept_language(client: Any, norwegian: Path) -> None:
    assert i18n.available_locales() == ["en", "nb"]
    english = await client.get("/login", headers=HTML)
    assert "<h1>Log in</h1>" in english.text and '<html lang="en">' in english.text
    page = await client.get("/login", headers={**HTML, "accept-language": "nb-NO,nb;q=0.9"})
    assert "<h1>Logg inn</h1>" in page.text
    assert '<html lang="nb">' in page.text
    assert "No account yet?" in page.text  # what the catalog lacks stays English


async def test_the_live_board_is_rendered_in_the_instance_language_for_every_viewer(
        make_settings: Any, db_url: str, norwegian: Path) -> None:
    """One rendering of the board serves every viewer: it is in the instance's default
    language, while the page around it follows each viewer's language."""
    from litestar.testing import AsyncTestClient

    from server.app import create_app
    from tests.web import solve_in_app, world_with_tokens

    catalog = Catalog(locale="nb")
    catalog.add("Team", "Lag")
    catalog.add(("%(num)d try", "%(num)d tries"), ("%(num)d forsøk", "%(num)d forsøk"))
    catalog.add("Log in", "Logg inn")
    with (norwegian / "nb" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    i18n.translations.cache_clear()
    settings = make_settings(database_url=db_url, default_locale="nb")
    async with AsyncTestClient(app=create_app(settings)) as client:
        world = world_with_tokens(client, teams=2)
        solve_in_app(client, world, 0, "A", "WA", 5)
        solve_in_app(client, world, 0, "A", "AC", 9)
        english = await client.get("/contests/spring/scoreboard",
                                   headers={**HTML, "accept-language": "en-GB"})
        assert "<th>Lag</th>" in english.text and "2 forsøk" in english.text
        assert ">2 tries<" not in english.text and ">Log in<" in english.text
        french = await client.get("/login", headers={**HTML, "accept-language": "fr"})
        assert "<h1>Logg inn</h1>" in french.text  # no French: the instance's language


def test_an_instance_language_without_a_catalog_renders_english() -> None:
    assert i18n.negotiate("fr", None, "xx") == "en"
    with i18n.using_locale("xx"):
        assert i18n.current_locale() == "en"
    assert i18n.current_locale() == "en"


async def test_messages_made_before_the_page_follow_the_viewers_language(
        client: Any, norwegian: Path) -> None:
    """A form error or a flash is made by the handler (or an action) before the page renders:
    it is in the viewer's language too — the browser's, then the saved one."""
    from tests.web import form_post, log_in, user_with_token

    catalog = Catalog(locale="nb")
    catalog.add("Unknown time zone.", "Ukjent tidssone.")
    catalog.add("Your account is saved.", "Kontoen er lagret.")
    with (norwegian / "nb" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    i18n.translations.cache_clear()
    user_with_token(client, "kari", password="a-long-password")
    await log_in(client, "kari", "a-long-password")
    client.headers["accept-language"] = "nb"
    bad = await form_post(client, "/account", {"display_name": "Kari", "timezone": "Mars/Base"},
                          token_from="/account")
    assert bad.status_code == 400 and "Ukjent tidssone." in bad.text
    # Saved as her language, it wins over the browser's from the next request on.
    client.headers["accept-language"] = "en"
    saved = await form_post(client, "/account", {"display_name": "Kari", "locale": "nb"},
                            token_from="/account")
    assert saved.status_code == 303
    page = await client.get("/account", headers=HTML)
    assert "Kontoen er lagret." in page.text
    home = await client.get("/", headers={**HTML, "accept-language": "en"})
    assert '<html lang="nb">' in home.text


async def test_an_actions_error_is_shown_in_the_viewers_language(
        client: Any, norwegian: Path) -> None:
    """The actions' messages are msgids with parameters, translated when raised in a request
    (the command line and the API keep English where no catalog applies)."""
    from server.actions.errors import Invalid
    from tests.web import form_post

    catalog = Catalog(locale="nb")
    catalog.add("password must have at least %(min_password)s characters",
                "passordet må ha minst %(min_password)s tegn")
    with (norwegian / "nb" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    i18n.translations.cache_clear()
    client.headers["accept-language"] = "nb"
    data = {"username": "kari", "display_name": "Kari", "password": "short",
            "password2": "short"}
    page = await form_post(client, "/register", data, token_from="/register")
    assert page.status_code == 400 and "passordet må ha minst 8 tegn" in page.text
    error = Invalid("password must have at least %(min_password)s characters", min_password=8)
    assert str(error) == error.message == "password must have at least 8 characters"  # en
    assert (error.msgid, error.params) == (
        "password must have at least %(min_password)s characters", {"min_password": 8})


async def test_an_error_page_is_in_the_viewers_language(client: Any, norwegian: Path) -> None:
    catalog = Catalog(locale="nb")
    catalog.add("contest %(slug)r does not exist", "konkurransen %(slug)r finnes ikke")
    with (norwegian / "nb" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    i18n.translations.cache_clear()
    page = await client.get("/contests/nope", headers={**HTML, "accept-language": "nb"})
    assert page.status_code == 404 and "finnes ikke" in page.text
    english = await client.get("/contests/nope", headers=HTML)
    assert english.status_code == 404 and "does not exist" in english.text


def test_a_translation_with_wrong_placeholders_falls_back_to_english(norwegian: Path) -> None:
    from server.actions.errors import NotFound

    catalog = Catalog(locale="nb")
    catalog.add("user %(username)r does not exist", "brukeren %(navn)r finnes ikke")
    with (norwegian / "nb" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    i18n.translations.cache_clear()
    with i18n.using_locale("nb"):
        error = NotFound("user %(username)r does not exist", username="kari")
    assert error.message == "user 'kari' does not exist"
