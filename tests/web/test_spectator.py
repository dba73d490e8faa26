"""The spectators' scoreboard: group filter data in rows, favourites/ticker script, themes
(`?theme=`, projector, contrast) on the scoreboard and reveal pages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from server.themes import THEMES_DIR, ThemeEnvironments
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    InApp,
    auth,
    fast_passwords,
    solve_in_app,
    world_with_tokens,
)

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
PAGE = "/contests/spring/scoreboard"


def row_tags(html: str) -> dict[int, dict[str, str]]:
    """team id -> the attributes of its ``<tr>`` on the board."""
    out = {}
    for tag in re.findall(r'<tr id="row-\d+"[^>]*>', html):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        out[int(attrs["data-team"])] = attrs
    return out


def board_groups(html: str) -> list[dict[str, Any]]:
    found = re.search(r'<div id="board"[^>]*data-groups=\'([^\']*)\'', html)
    assert found, "the board names its groups"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def grouped_world(client: Any) -> tuple[Any, dict[str, Any]]:
    """spring with 4 teams: division > juniors (nested), a global group, a hidden group."""
    world = world_with_tokens(client, teams=0)
    app = InApp(client)
    division = app.create_group(name="Division One", kind="division", contest="spring")
    juniors = app.create_group(name="Juniors", kind="category", contest="spring",
                               parent_id=division.id)
    seniors = app.create_group(name="Seniors", kind="category")  # global
    secret = app.create_group(name="Secret Sponsors", contest="spring", hidden=True)
    school = app.create_affiliation(name="Polytechnic of Somewhere", short_name="Poly")
    college = app.create_affiliation(name="Riverside College")
    teams = {
        "junior": app.create_team("spring", name="Junior Team", group_ids=[juniors.id, secret.id],
                                  affiliation_id=school.id),
        "senior": app.create_team("spring", name="Senior Team", group_ids=[seniors.id],
                                  affiliation_id=college.id),
        "division": app.create_team("spring", name="Division Team", group_ids=[division.id]),
        "none": app.create_team("spring", name="Loner Team"),
    }
    groups = {"division": division, "juniors": juniors, "seniors": seniors, "secret": secret}
    return world, {"teams": teams, "groups": groups}


# ------------------------------------------------------------------------- group filter data


async def test_rows_carry_their_public_groups_and_affiliation(client) -> None:
    world, made = grouped_world(client)
    teams, groups = made["teams"], made["groups"]
    page = await client.get(PAGE, headers=HTML)
    assert page.status_code == 200
    rows = row_tags(page.text)
    ids = lambda *names: " ".join(str(i) for i in sorted(groups[n].id for n in names))  # noqa: E731
    # A team's groups include their parents (a division shows its sub-groups' teams); a hidden
    # group is never named.
    assert rows[teams["junior"].id]["data-groups"] == ids("division", "juniors")
    assert rows[teams["senior"].id]["data-groups"] == ids("seniors")
    assert rows[teams["division"].id]["data-groups"] == ids("division")
    assert rows[teams["none"].id]["data-groups"] == ""
    assert rows[teams["junior"].id]["data-affiliation"] == "Poly"  # the short name first
    assert rows[teams["senior"].id]["data-affiliation"] == "Riverside College"
    assert "data-affiliation" not in rows[teams["none"].id]
    # The board lists the groups in use, for the filter chips, without the hidden one.
    assert [g["name"] for g in board_groups(page.text)] == ["Division One", "Juniors", "Seniors"]
    assert "Secret Sponsors" not in page.text
    # The JSON scoreboard carries the same, and nothing about the hidden group either.
    board = (await client.get(f"{API}/contests/spring/scoreboard")).json()
    assert "Secret Sponsors" not in json.dumps(board)
    by_team = {r["team_id"]: r for r in board["rows"]}
    assert by_team[teams["junior"].id]["groups"] == sorted(
        [groups["division"].id, groups["juniors"].id])
    assert by_team[teams["junior"].id]["affiliation"] == "Poly"
    assert by_team[teams["none"].id]["groups"] == []
    assert [g["name"] for g in board["groups"]] == ["Division One", "Juniors", "Seniors"]
    assert world.contest.slug == "spring"


async def test_a_change_of_groups_reaches_the_rows(client) -> None:
    _, made = grouped_world(client)
    teams, groups = made["teams"], made["groups"]
    app = InApp(client)
    app.update_team(teams["none"].id, group_ids=[groups["seniors"].id])
    contest = app(_contest, app.services)
    app(app.services.live.refresh, contest)
    rows = row_tags((await client.get(PAGE, headers=HTML)).text)
    assert rows[teams["none"].id]["data-groups"] == str(groups["seniors"].id)


async def _contest(services: Any) -> Any:
    from server.actions.base import contest_by_ref

    async with services.db.session() as session:
        return await contest_by_ref(session, "spring")


async def test_first_to_solve_cells_are_marked(client) -> None:
    world = world_with_tokens(client, teams=2)
    solve_in_app(client, world, 0, "A", "AC", 10)
    solve_in_app(client, world, 1, "A", "AC", 20)
    page = (await client.get(PAGE, headers=HTML)).text
    rows = dict(re.findall(r'<tr id="row-(\d+)"[^>]*>(.*?)</tr>', page, flags=re.S))
    assert 'class="cell solved first"' in rows[str(world.teams[0].id)]
    assert 'class="cell solved"' in rows[str(world.teams[1].id)]
    css = (await client.get("/static/default/scoreboard.css")).text
    assert ".cell.first" in css


# --------------------------------------------------------------- progressive enhancement, JS


async def test_the_board_is_a_plain_table_and_the_script_adds_the_rest(client) -> None:
    world = world_with_tokens(client, teams=2)
    solve_in_app(client, world, 0, "A", "AC", 10)
    page = (await client.get(PAGE, headers=HTML)).text
    # Without scripts: a table with every row; the tools and the ticker are hidden.
    assert '<table class="scoreboard">' in page
    assert len(row_tags(page)) == 2
    assert re.search(r'<div id="board-tools" class="board-tools" hidden>', page)
    assert re.search(r'<aside id="ticker" class="ticker" hidden', page)
    assert "<noscript>" in page
    # The script and the stylesheet are referenced and served.
    assert '<script src="/static/default/scoreboard.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/static/default/scoreboard.css">' in page
    assert page.index("podium.js") < page.index("scoreboard.js")  # rows ordered first
    script = await client.get("/static/default/scoreboard.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    js = script.text
    for feature in ("localStorage", "favourites", "htmx:wsAfterMessage", "htmx:wsBeforeMessage",
                    "ticker-items", "data-groups", "filtered-out", "board-pinned",
                    "translateY", "prefers-reduced-motion", '"scroll"'):
        assert feature in js, feature
    # The texts the script shows come from the page (translatable), not from the script.
    assert 'data-t-solved="{team} solved {problem}"' in page
    assert 'data-t-first="first!"' in page
    assert (await client.get("/static/default/scoreboard.css")).status_code == 200


async def test_the_ticker_reads_only_the_public_board(client) -> None:
    """The ticker is derived in the browser from the public board: a frozen solve is pending
    on the page, so it can never show up as solved anywhere in it."""
    from tests.web import frozen_world

    frozen = frozen_world(client)
    page = (await client.get("/contests/frozen/scoreboard", headers=HTML)).text
    team1 = re.search(rf'<tr id="row-{frozen.world.teams[1].id}"[^>]*>(.*?)</tr>', page,
                      flags=re.S)
    assert team1 and "solved" not in team1.group(1)
    assert "2:30" not in page
    # The page's socket is the public one.
    assert 'ws-connect="/contests/frozen/scoreboard/ws"' in page


# ------------------------------------------------------------------------------ ?theme=


async def test_theme_query_shows_the_scoreboard_in_a_known_theme(client) -> None:
    world = world_with_tokens(client, teams=2)
    solve_in_app(client, world, 0, "A", "AC", 10)
    plain = (await client.get(PAGE, headers=HTML)).text
    projector = await client.get(PAGE + "?theme=projector", headers=HTML)
    assert projector.status_code == 200
    text = projector.text
    assert re.search(r'<body class="theme-projector page-scoreboard autoscroll"', text)
    assert '<link rel="stylesheet" href="/static/projector/projector.css">' in text
    assert '<link rel="stylesheet" href="/static/default/scoreboard.css">' in text
    # No site chrome on the projector, the same board.
    assert "Log in" not in text and "Podium contest server" not in text
    assert re.findall(r'<tr id="row-\d+"[^>]*>.*?</tr>', text, flags=re.S) == re.findall(
        r'<tr id="row-\d+"[^>]*>.*?</tr>', plain, flags=re.S)
    css = await client.get("/static/projector/projector.css")
    assert css.status_code == 200 and ".page-scoreboard .site-header" in css.text

    contrast = (await client.get(PAGE + "?theme=contrast", headers=HTML)).text
    assert '<link rel="stylesheet" href="/static/contrast/contrast.css">' in contrast
    assert re.search(r'<body class="theme-contrast page-scoreboard"', contrast)
    assert "Log in" in contrast  # the contrast theme keeps the chrome
    default = (await client.get(PAGE + "?theme=default", headers=HTML)).text
    assert re.search(r'<body class="theme-default page-scoreboard"', default)

    reveal = await client.get("/contests/spring/reveal?theme=projector", headers=HTML)
    assert reveal.status_code == 200
    assert re.search(r'<body class="theme-projector page-scoreboard page-reveal', reveal.text)


@pytest.mark.parametrize("name", ["nope", "../default", "admin", "default:", "", "PROJECTOR"])
async def test_theme_query_accepts_only_available_themes(client, name: str) -> None:
    world_with_tokens(client, teams=1)
    for path in (PAGE, "/contests/spring/reveal"):
        response = await client.get(path, params={"theme": name}, headers=HTML)
        assert response.status_code == 400, (path, name)
        assert "no theme named" in response.text


async def test_theme_query_is_for_the_scoreboard_only(client) -> None:
    world_with_tokens(client, teams=1)
    contest = await client.get("/contests/spring?theme=projector", headers=HTML)
    assert contest.status_code == 200
    assert "projector.css" not in contest.text
    assert re.search(r'<body class="theme-default', contest.text)


async def test_anonymous_theme_pages_are_not_served_to_others(client) -> None:
    """The anonymous page is kept for the fast path only when the URL has no query: a
    projector page must never become everyone's scoreboard."""
    world_with_tokens(client, teams=1)
    for _ in range(2):
        assert "projector.css" in (await client.get(PAGE + "?theme=projector")).text
        plain = await client.get(PAGE)
        assert "projector.css" not in plain.text
        assert re.search(r'<body class="theme-default page-scoreboard"', plain.text)


async def test_projector_as_the_contest_theme(client) -> None:
    world = world_with_tokens(client, teams=2)
    admin = auth(world.tokens["admin"])
    changed = await client.patch(f"{API}/contests/spring", json={"theme": "projector"},
                                 headers=admin)
    assert changed.status_code == 200, changed.text
    board = (await client.get(PAGE, headers=HTML)).text
    assert "projector.css" in board and "Log in" not in board
    assert "autoscroll" in board
    # Other pages of the contest keep the site's navigation (big type only).
    contest = (await client.get("/contests/spring", headers=HTML)).text
    assert "projector.css" in contest and "Log in" in contest
    # A spectator may still ask for the default look.
    assert "projector.css" not in (await client.get(PAGE + "?theme=default")).text


async def test_admin_pages_of_a_themed_contest_use_the_default_theme(client) -> None:
    world = world_with_tokens(client, teams=1)
    admin = auth(world.tokens["admin"])
    for theme in ("contrast", "projector"):
        assert (await client.patch(f"{API}/contests/spring", json={"theme": theme},
                                   headers=admin)).status_code == 200
        assert f"{theme}.css" in (await client.get("/contests/spring", headers=HTML)).text
        page = await client.get("/admin/contests/spring", headers={**HTML, **admin})
        assert page.status_code == 200, page.text
        # The admin base extends the default theme's base: no theme stylesheet or block.
        assert f"{theme}.css" not in page.text
        assert "high-contrast theme" not in page.text


# ------------------------------------------------------------------------- built-in themes


def test_built_in_themes_override_blocks_only() -> None:
    for name in ("projector", "contrast"):
        folder = THEMES_DIR / name
        templates = sorted(p.relative_to(folder / "templates").as_posix()
                           for p in (folder / "templates").rglob("*.html"))
        assert templates == ["base.html"], name
        assert (folder / "templates" / "base.html").read_text().count(
            '{% extends "default:base.html" %}') == 1
        assert (folder / "static" / f"{name}.css").is_file()


async def test_built_in_themes_render_with_the_default_blocks(client) -> None:
    themes: ThemeEnvironments = client.app.state.themes
    assert {"default", "projector", "contrast"} <= set(themes.themes)
    world = world_with_tokens(client, teams=1)
    admin = auth(world.tokens["admin"])
    assert (await client.patch(f"{API}/contests/spring", json={"theme": "contrast"},
                               headers=admin)).status_code == 200
    page = (await client.get("/contests/spring", headers=HTML)).text
    assert re.search(r'<body class="theme-contrast"', page)
    # The default's stylesheets and blocks, then the theme's own.
    assert page.index("/static/default/podium.css") < page.index("/static/contrast/contrast.css")
    assert '<a class="brand" href="/">Podium</a>' in page
    assert "Podium contest server · " in page and "high-contrast theme" in page
    css = (await client.get("/static/contrast/contrast.css")).text
    assert "--bg: #000" in css and "color-scheme: dark" in css


async def test_built_in_themes_never_serve_admin_templates(client, tmp_path) -> None:
    themes: ThemeEnvironments = client.app.state.themes
    default_admin = (THEMES_DIR / "default" / "templates" / "admin" / "base.html").resolve()
    for name in ("projector", "contrast"):
        env = themes.get(name)
        assert env.get_template("admin/base.html").filename == str(default_admin)
        assert not any(t.startswith("admin/") for t in env.loader.list_templates()  # type: ignore[union-attr]
                       if (THEMES_DIR / name / "templates" / t).exists())
    # Even a copy of the contrast theme that ships an admin page cannot serve it.
    import shutil

    copy = tmp_path / "contrast"
    shutil.copytree(THEMES_DIR / "contrast", copy)
    (copy / "templates" / "admin").mkdir()
    (copy / "templates" / "admin" / "base.html").write_text("HIJACKED ADMIN")
    fresh = ThemeEnvironments(client.app.state.plugins)
    fresh.themes["contrast"] = copy
    env = fresh.get("contrast")
    assert "HIJACKED" not in env.get_template("admin/base.html").render(section="")
    assert env.get_template("admin/base.html").filename == str(default_admin)
    assert "high-contrast theme" in env.get_template("base.html").render(theme="contrast")
