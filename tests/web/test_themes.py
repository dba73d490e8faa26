"""Themes contributed by plugins: block overrides, per-contest choice, static files, admin guard."""

from __future__ import annotations

import re

import shutil
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateNotFound

from server.hooks import hookimpl
from server.themes import THEMES_DIR, ThemeEnvironments, _NoAdmin
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    InApp,
    auth,
    fast_passwords,
    plugin_client,
    services_of,
    world_with_tokens,
)

FOOTER = "Footer of my theme"


class ThemePlugin:
    """A module-like plugin object contributing the theme ``mytheme``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @hookimpl
    def podium_themes(self) -> dict[str, Path]:
        return {"mytheme": self.folder}


class WidgetPlugin:
    """Contributes a template folder (searched after the theme, before the default)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @hookimpl
    def podium_template_dirs(self) -> list[Path]:
        return [self.folder]


class BannerPlugin:
    """Adds a template variable (the theme above prints it in its footer)."""

    @hookimpl
    def podium_template_vars(self, template: str, contest: Any,
                             settings: Any) -> dict[str, Any]:
        where = contest.slug if contest is not None else "site"
        return {"banner": f"Banner {where} {template} settings={settings is not None}"}


@pytest.fixture
def theme_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mytheme"
    (folder / "templates" / "admin").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "templates" / "base.html").write_text(
        '{% extends "default:base.html" %}\n'
        '{% block head %}<link rel="stylesheet" href="/static/mytheme/my.css">{% endblock %}\n'
        f'{{% block footer %}}{FOOTER} {{{{ banner | default("no banner") }}}}{{% endblock %}}\n')
    (folder / "templates" / "admin" / "x.html").write_text("THEME ADMIN")
    (folder / "templates" / "widget.html").write_text("THEME WIDGET")
    (folder / "static" / "my.css").write_text("body { color: rebeccapurple; }\n")
    return folder


@pytest.fixture
def plugin(theme_dir: Path) -> ThemePlugin:
    return ThemePlugin(theme_dir)


async def _themed_world(client) -> Any:
    world = world_with_tokens(client)
    admin = auth(world.tokens["admin"])
    body = {"slug": "themed", "title": "Themed Cup", "start_at": world.start.isoformat(),
            "end_at": world.contest.end_at.isoformat(), "theme": "mytheme"}
    created = await client.post(f"{API}/contests", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["theme"] == "mytheme"
    return world


async def test_a_contest_theme_overrides_one_block(settings, plugin: ThemePlugin) -> None:
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        await _themed_world(client)
        themed = await client.get("/contests/themed")
        assert themed.status_code == 200
        assert FOOTER in themed.text
        assert "Podium contest server" not in themed.text
        assert re.search(r'<body class="theme-mytheme"[\s>]', themed.text)
        assert '<link rel="stylesheet" href="/static/mytheme/my.css">' in themed.text
        # Everything else still comes from the default theme.
        assert '<link rel="stylesheet" href="/static/default/podium.css">' in themed.text
        assert "<h1>Themed Cup</h1>" in themed.text
        assert '<a class="brand" href="/">Podium</a>' in themed.text

        for url in ("/contests/spring", "/"):
            page = await client.get(url)
            assert page.status_code == 200
            assert FOOTER not in page.text, url
            assert "Podium contest server" in page.text, url
            assert re.search(r'<body class="theme-default"[\s>]', page.text), url
        missing = await client.get("/contests/nope", headers={"accept": "text/html"})
        assert missing.status_code == 404
        assert FOOTER not in missing.text


async def test_theme_static_files_are_served(settings, plugin: ThemePlugin) -> None:
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        css = await client.get("/static/mytheme/my.css")
        assert css.status_code == 200
        assert "rebeccapurple" in css.text
        assert (await client.get("/static/mytheme/nope.css")).status_code == 404
        assert (await client.get("/static/default/podium.css")).status_code == 200


async def test_switching_a_contest_theme(settings, plugin: ThemePlugin) -> None:
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        world = world_with_tokens(client)
        admin = auth(world.tokens["admin"])
        url = f"{API}/contests/spring"
        bad = await client.patch(url, json={"theme": "nope"}, headers=admin)
        assert bad.status_code == 400
        assert bad.json()["field"] == "theme"
        assert FOOTER not in (await client.get("/contests/spring")).text

        switched = await client.patch(url, json={"theme": "mytheme"}, headers=admin)
        assert switched.status_code == 200
        assert FOOTER in (await client.get("/contests/spring")).text

        assert (await client.patch(url, json={"theme": None}, headers=admin)).status_code == 200
        assert FOOTER not in (await client.get("/contests/spring")).text


async def test_without_the_plugin_the_theme_does_not_exist(client) -> None:
    world = world_with_tokens(client)
    response = await client.patch(f"{API}/contests/spring", json={"theme": "mytheme"},
                                  headers=auth(world.tokens["admin"]))
    assert response.status_code == 400
    assert response.json()["detail"] == "no theme named 'mytheme'"
    assert (await client.get("/static/mytheme/my.css")).status_code == 404


async def test_default_theme_setting_applies_outside_contests(make_settings, db_url: str,
                                                              plugin: ThemePlugin) -> None:
    settings = make_settings(database_url=db_url, default_theme="mytheme")
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        world_with_tokens(client)
        home = await client.get("/")
        assert FOOTER in home.text
        error = await client.get("/contests/nope", headers={"accept": "text/html"})
        assert error.status_code == 404
        assert FOOTER in error.text
        # A contest without a theme of its own uses the built-in default.
        assert FOOTER not in (await client.get("/contests/spring")).text


async def test_template_vars_reach_pages(make_settings, db_url: str,
                                        plugin: ThemePlugin) -> None:
    settings = make_settings(database_url=db_url, default_theme="mytheme")
    async with plugin_client(settings, {"mytheme_plugin": plugin,
                                        "banner": BannerPlugin()}) as client:
        await _themed_world(client)
        # Outside a contest every loaded plugin adds its variables (without settings).
        home = await client.get("/")
        assert "Banner site contests.html settings=False" in home.text
        # On a contest page only the plugins enabled there do, with their settings.
        themed = await client.get("/contests/themed")
        assert FOOTER in themed.text
        assert "no banner" in themed.text
        InApp(client).configure_plugin("themed", "banner", {})
        themed = await client.get("/contests/themed")
        assert "Banner themed contest.html settings=True" in themed.text


async def test_theme_and_plugin_templates_order(settings, plugin: ThemePlugin,
                                                tmp_path: Path) -> None:
    widgets = tmp_path / "widgets"
    widgets.mkdir()
    (widgets / "widget.html").write_text("PLUGIN WIDGET")
    (widgets / "only-plugin.html").write_text("ONLY PLUGIN")
    async with plugin_client(settings, {"mytheme_plugin": plugin,
                                        "widgets": WidgetPlugin(widgets)}) as client:
        themes: ThemeEnvironments = client.app.state.themes
        assert themes.get("mytheme").get_template("widget.html").render() == "THEME WIDGET"
        assert themes.get("default").get_template("widget.html").render() == "PLUGIN WIDGET"
        assert themes.get("mytheme").get_template("only-plugin.html").render() == "ONLY PLUGIN"
        # An unknown theme name falls back to the default environment.
        assert themes.get("no-such-theme") is themes.get("default")
        assert themes.get(None) is themes.get("default")


# ----------------------------------------------------------------------------- admin guard


@pytest.fixture
def default_with_admin(tmp_path: Path) -> Path:
    """A copy of the default theme that has an admin page."""
    folder = tmp_path / "default-copy"
    shutil.copytree(THEMES_DIR / "default", folder)
    (folder / "templates" / "admin").mkdir(exist_ok=True)
    (folder / "templates" / "admin" / "x.html").write_text("DEFAULT ADMIN")
    return folder


async def test_a_theme_never_serves_admin_templates(settings, plugin: ThemePlugin) -> None:
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        themes: ThemeEnvironments = client.app.state.themes
        env = themes.get("mytheme")
        # The theme has admin/x.html; the default theme has none: nothing is found.
        with pytest.raises(TemplateNotFound):
            env.get_template("admin/x.html")
        # Its other templates are found.
        assert FOOTER in env.get_template("base.html").render(theme="mytheme")


@pytest.mark.parametrize("name", ["admin/x.html", "./admin/x.html", "/admin/x.html",
                                  "admin/./x.html", "admin//x.html"])
async def test_admin_templates_come_from_the_default_theme(
    settings, plugin: ThemePlugin, default_with_admin: Path, name: str
) -> None:
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        themes = ThemeEnvironments(client.app.state.plugins)
        themes.themes["default"] = default_with_admin
        env = themes.get("mytheme")
        assert env.get_template(name).render() == "DEFAULT ADMIN"
        assert env.get_template("default:admin/x.html").render() == "DEFAULT ADMIN"
        # The theme still overrides ordinary pages.
        assert FOOTER in env.get_template("base.html").render(theme="mytheme")


def test_no_admin_guard(theme_dir: Path) -> None:
    from jinja2 import Environment, FileSystemLoader

    inner = FileSystemLoader(str(theme_dir / "templates"))
    guard = _NoAdmin(inner)
    env = Environment(loader=guard)
    assert "admin/x.html" in inner.list_templates()
    assert guard.list_templates() == ["base.html", "widget.html"]
    for name in ("admin/x.html", "./admin/x.html", "/admin/x.html", "admin/../admin/x.html"):
        with pytest.raises(TemplateNotFound):
            guard.get_source(env, name)
    text, filename, _ = guard.get_source(env, "widget.html")
    assert text == "THEME WIDGET"
    assert filename is not None and filename.endswith("widget.html")
    # A template merely named like "administration.html" is not an admin page.
    (theme_dir / "templates" / "administration.html").write_text("FINE")
    assert guard.get_source(env, "administration.html")[0] == "FINE"


async def test_services_see_the_plugin_theme(settings, plugin: ThemePlugin) -> None:
    async with plugin_client(settings, {"mytheme_plugin": plugin}) as client:
        registry = services_of(client).plugins
        assert registry is client.app.state.plugins
        assert registry.themes == {"mytheme": plugin.folder}
        assert "mytheme_plugin" in registry.names


# ------------------------------------------------- a plugin shipping templates and a theme


class StadiumPlugin:
    """One plugin that ships both a template folder (a sponsor line on every scoreboard, by
    wrapping the default's `_live_board.html`) and a theme with a stylesheet."""

    def __init__(self, root: Path) -> None:
        self.templates = root / "templates"
        self.theme = root / "stadium"
        self.templates.mkdir(parents=True)
        (self.theme / "templates").mkdir(parents=True)
        (self.theme / "static").mkdir()
        (self.templates / "_live_board.html").write_text(
            '<p class="sponsor">Board sponsored by ACME</p>\n'
            '{% include "default:_live_board.html" %}\n')
        (self.theme / "templates" / "base.html").write_text(
            '{% extends "default:base.html" %}\n'
            '{% block theme_css %}{{ super() }}'
            '<link rel="stylesheet" href="/static/stadium/stadium.css">{% endblock %}\n')
        (self.theme / "static" / "stadium.css").write_text("body { background: green; }\n")

    @hookimpl
    def podium_template_dirs(self) -> list[Path]:
        return [self.templates]

    @hookimpl
    def podium_themes(self) -> dict[str, Path]:
        return {"stadium": self.theme}


async def test_a_plugin_ships_a_template_and_a_theme(settings, tmp_path: Path) -> None:
    async with plugin_client(settings, {"stadium": StadiumPlugin(tmp_path / "p")}) as client:
        world_with_tokens(client, teams=1)
        board = await client.get("/contests/spring/scoreboard")
        assert board.status_code == 200
        # The plugin's template wraps the default one: the live board is still there.
        assert '<p class="sponsor">Board sponsored by ACME</p>' in board.text
        assert 'ws-connect="/contests/spring/scoreboard/ws"' in board.text
        assert '<tr id="row-' in board.text
        assert "stadium.css" not in board.text
        # Its theme: chosen by a spectator (?theme=) or by the contest; its static file served.
        themed = await client.get("/contests/spring/scoreboard?theme=stadium")
        assert themed.status_code == 200
        assert '<link rel="stylesheet" href="/static/stadium/stadium.css">' in themed.text
        assert '<link rel="stylesheet" href="/static/default/scoreboard.css">' in themed.text
        assert "Board sponsored by ACME" in themed.text
        assert re.search(r'<body class="theme-stadium page-scoreboard"', themed.text)
        assert "green" in (await client.get("/static/stadium/stadium.css")).text
        world = InApp(client)
        world.update_contest("spring", theme="stadium")
        assert "stadium.css" in (await client.get("/contests/spring/scoreboard")).text


async def test_without_its_plugin_a_theme_is_refused_by_the_scoreboard(client) -> None:
    world_with_tokens(client, teams=1)
    refused = await client.get("/contests/spring/scoreboard?theme=stadium")
    assert refused.status_code == 400
    assert (await client.get("/static/stadium/stadium.css")).status_code == 404
    assert "Board sponsored by ACME" not in (await client.get("/contests/spring/scoreboard")).text
