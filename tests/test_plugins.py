"""The plugin system: discovery, validation, allow/block lists, per-contest enabling."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlmodel import select

from server import actions, hooks
from server.actions.errors import Invalid
from server.components import ScoringRule
from server.hooks import hookimpl
from server.models import BadgeAward, Contest
from server.plugins import PluginError
from server.services import Services, build_registry
from tests.factories import make_world, solve

ROOT = Path(__file__).resolve().parent.parent
BUILTINS = {"points", "medals", "first_accepted", "json_snapshot", "exact", "languages"}


def _hookspecs() -> dict[str, Any]:
    return {
        name: fn for name, fn in vars(hooks).items()
        if name.startswith("podium_") and callable(fn)
    }


def test_builtin_plugins_come_through_entry_points(make_settings: Any) -> None:
    registry = build_registry(make_settings())
    assert BUILTINS <= set(registry.info)
    for name in BUILTINS:
        assert registry.info[name].distribution == "podium", name
        assert registry.info[name].builtin
    assert registry.scoring_rules.providers["points"] == "points"
    assert registry.level_systems.providers["medals"] == "medals"
    assert registry.badges.providers["first_accepted"] == "first_accepted"
    assert registry.checkers.providers["exact"] == "exact"
    assert registry.sync_targets.providers["json_snapshot"] == "json_snapshot"
    assert {"python3", "c", "cpp", "java"} <= set(registry.languages.names())


def test_core_never_imports_a_plugin_module() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(plugins|judges\.(checkers|languages))\b", re.M)
    offenders = [
        str(path.relative_to(ROOT)) for path in (ROOT / "server").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_every_hookspec_is_documented() -> None:
    specs = _hookspecs()
    assert len(specs) >= 15
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for name, fn in specs.items():
        assert getattr(fn, "podium_spec", None) is not None, f"{name} is not a hookspec"
        doc = inspect.getdoc(fn) or ""
        assert len(doc) > 60, f"{name} has no real docstring"
        assert re.search(r"\bCalled\b", doc), f"{name}: the docstring must say when it is called"
        assert re.search(r"\bReturns?\b|awaitable", doc), f"{name}: say what it returns"
        assert f"`{name}" in architecture, f"{name} is missing from docs/ARCHITECTURE.md"


def test_the_families_of_design_md_all_have_hooks() -> None:
    specs = set(_hookspecs())
    for family in ("scoring_rules", "level_systems", "badges", "languages", "checkers",
                   "sync_targets", "themes", "submission_created", "verdict_recorded",
                   "contest_state_changed", "badge_awarded", "level_changed", "routes",
                   "menu_links", "template_vars", "settings_schema"):
        assert f"podium_{family}" in specs


def test_a_misspelled_hook_fails_at_start_up(make_settings: Any) -> None:
    @hookimpl
    def podium_verdict_recordd(contest: Any) -> None:  # the misspelling under test
        pass

    plugin = SimpleNamespace(podium_verdict_recordd=podium_verdict_recordd)
    with pytest.raises(PluginError, match=r"'typo'.*podium_verdict_recordd.*misspelling"):
        build_registry(make_settings(), {"typo": plugin})

    from server.app import create_app

    registry_error = None
    try:
        create_app(make_settings(), registry=build_registry(make_settings(), {"typo": plugin}))
    except PluginError as exc:
        registry_error = exc
    assert registry_error is not None


def test_a_bad_hook_argument_fails_at_start_up(make_settings: Any) -> None:
    @hookimpl
    def podium_scoring_rules(contest: Any) -> list[Any]:  # spec takes no `contest`
        return []

    with pytest.raises(PluginError, match="'bad'"):
        build_registry(make_settings(), {"bad": SimpleNamespace(
            podium_scoring_rules=podium_scoring_rules)})


def test_allow_list_and_block_list(make_settings: Any) -> None:
    allowed = build_registry(make_settings(plugins=("points", "exact")))
    assert set(allowed.info) == {"points", "exact"}
    assert allowed.skipped["medals"] == "not in PODIUM_PLUGINS"
    blocked = build_registry(make_settings(disable_plugins=("medals", "json_snapshot")))
    assert "medals" not in blocked.info and "json_snapshot" not in blocked.info
    assert "medals" not in blocked.level_systems
    assert blocked.skipped["json_snapshot"] == "in PODIUM_DISABLE_PLUGINS"
    assert "points" in blocked.info


def test_duplicate_component_names_are_refused(make_settings: Any) -> None:
    class Clash(ScoringRule):
        name = "points"

    @hookimpl
    def podium_scoring_rules() -> list[ScoringRule]:
        return [Clash()]

    with pytest.raises(PluginError, match="already provided by plugin 'points'"):
        build_registry(make_settings(), {"clash": SimpleNamespace(
            podium_scoring_rules=podium_scoring_rules)})


async def test_server_starts_without_a_builtin_plugin(make_settings: Any, db_url: str) -> None:
    """Removing the entry point of the contest's scoring rule leaves a server that starts."""
    from litestar.testing import AsyncTestClient

    from server.app import create_app

    full = make_settings(database_url=db_url)
    services = await Services.create(full)
    try:
        world = await make_world(services, slug="norule")
    finally:
        await services.close()
    crippled = make_settings(database_url=db_url, disable_plugins=("points",))
    app = create_app(crippled)
    async with AsyncTestClient(app=app) as client:
        page = await client.get("/contests/norule", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "scoreboard is unavailable" in page.text
        assert "points" in page.text
        api = await client.get("/api/v1/contests/norule/scoreboard")
        assert api.status_code == 404
        assert "no loaded plugin provides" in api.json()["detail"]
        assert (await client.get("/")).status_code == 200
    assert world.contest.scoring_rule == "points"


# ------------------------------------------------------------------ a third-party distribution

ACME_MODULE = '''
from pydantic import BaseModel, ConfigDict
import pluggy

from server.components import Cell, RowScore, ScoringRule

hookimpl = pluggy.HookimplMarker("podium")   # a plugin needs no import of server.hooks


class CountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_problem: int = 7


class SolvedCount(ScoringRule):
    """Ranks by the number of solved problems only; every problem is worth `per_problem`."""

    name = "acme_count"
    title = "ACME: solved count"
    Settings = CountSettings

    def cell(self, problem, attempts, settings):
        solved = any(a.verdict is not None and a.verdict.is_accepted for a in attempts)
        return Cell(problem_id=problem.id, attempts=len(attempts), solved=solved,
                    points=settings.per_problem if solved else 0)

    def row(self, cells, settings):
        return RowScore(points=sum(c.points for c in cells), solved=sum(c.solved for c in cells))

    def sort_key(self, row, settings):
        return (-row.points,)

    def rank_score(self, row, settings):
        return int(row.points)


@hookimpl
def podium_scoring_rules():
    return [SolvedCount()]
'''


@pytest.fixture(scope="session")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny third-party distribution, installed (as pip lays it out) into its own site folder.

    Only the module and its ``*.dist-info`` (METADATA, entry_points.txt, RECORD) exist there:
    discovery sees exactly what it sees for any distribution installed from PyPI.
    """
    site = tmp_path_factory.mktemp("acme-site")
    (site / "acme_podium_rules.py").write_text(ACME_MODULE)
    info = site / "acme_podium_rules-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-podium-rules\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[podium]\nacme = acme_podium_rules\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        "acme_podium_rules.py,,\n"
        + "".join(f"{info.name}/{n},,\n" for n in ("METADATA", "entry_points.txt", "INSTALLER"))
        + f"{info.name}/RECORD,,\n")
    return site


async def test_third_party_distribution_contributes_a_rule_a_contest_uses(
    acme_site: Path, monkeypatch: pytest.MonkeyPatch, make_settings: Any, db_url: str
) -> None:
    monkeypatch.syspath_prepend(str(acme_site))
    settings = make_settings(database_url=db_url)
    services = await Services.create(settings)
    try:
        info = services.plugins.info["acme"]
        assert (info.distribution, info.version, info.builtin) == ("acme-podium-rules",
                                                                    "1.2.3", False)
        assert services.plugins.scoring_rules.providers["acme_count"] == "acme"
        with pytest.raises(Invalid, match="per_problem"):
            await actions.create_contest(
                services, slug="bad-acme", title="x", start_at=_now(), end_at=_later(),
                scoring_rule="acme_count", scoring_settings={"per_problem": "many"})
        world = await make_world(services, slug="acme", scoring_rule="acme_count",
                                 problems=(("A", 100.0), ("B", 500.0)))
        await solve(services, world, 0, "B", "AC", 5)   # 500 points under `points`
        await solve(services, world, 1, "A", "AC", 1)
        await solve(services, world, 1, "B", "AC", 2)
        board = await actions.scoreboard(services, world.contest, public=False)
        assert [(r.team.id, r.score.points) for r in board.rows] == [
            (world.teams[1].id, 14), (world.teams[0].id, 7)]
    finally:
        await services.close()
    # The same discovery works for the CLI in a fresh process.
    listing = subprocess.run(
        [sys.executable, "-m", "server.cli", "plugins"], capture_output=True, text=True,
        env={"PYTHONPATH": f"{acme_site}:{ROOT}", "PATH": "/usr/bin:/bin",
             "PODIUM_DATA_DIR": str(settings.data_dir)}, cwd=ROOT, check=True)
    assert re.search(r"^acme\s+acme-podium-rules\s+scoring_rules: acme_count", listing.stdout,
                     re.M), listing.stdout


def _now() -> Any:
    from server.models import utcnow

    return utcnow()


def _later() -> Any:
    from datetime import timedelta

    return _now() + timedelta(hours=1)


# ------------------------------------------------------------------ per-contest enabling


class Recorder:
    """A plugin with settings and event hooks, registered in-process."""

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        tag: str = "none"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    @hookimpl
    def podium_settings_schema(self) -> type[BaseModel]:
        return self.Settings

    @hookimpl
    def podium_verdict_recorded(self, contest: Contest, judging: Any, settings: Any) -> None:
        self.calls.append(("verdict", contest.slug, settings.tag))

    @hookimpl
    async def podium_submission_created(self, contest: Contest, settings: Any) -> None:
        self.calls.append(("submission", contest.slug, settings.tag))

    @hookimpl
    def podium_standings_changed(self, contest: Contest, rows: Any) -> None:
        raise RuntimeError("a broken plugin must not undo the change")


async def test_a_plugin_acts_only_in_contests_that_enable_it(make_settings: Any,
                                                              db_url: str) -> None:
    recorder = Recorder()
    settings = make_settings(database_url=db_url)
    registry = build_registry(settings, {"recorder": recorder})
    services = await Services.create(settings, registry=registry)
    try:
        on = await make_world(services, slug="on", plugins={"recorder": {"tag": "hello"},
                                                            "first_accepted": {}})
        off = await make_world(services, slug="off")
        await solve(services, on, 0, "A", "AC", 3)
        await solve(services, off, 0, "A", "AC", 3)
        assert recorder.calls == [("submission", "on", "hello"), ("verdict", "on", "hello")]
        async with services.db.session() as session:
            awards = list(await session.exec(select(BadgeAward)))
        assert [(a.contest_id, a.badge) for a in awards] == [(on.contest.id, "first_accepted")]
        # The broken standings hook did not undo the verdict.
        board = await actions.scoreboard(services, on.contest, public=False)
        assert board.rows[0].score.solved == 1
    finally:
        await services.close()


async def test_plugin_settings_are_validated_before_they_are_saved(services: Services) -> None:
    world = await make_world(services, slug="medal", plugins={"medals": {}})
    assert world.contest.plugins["medals"] == {"bronze": 100, "silver": 200, "gold": 300}
    with pytest.raises(Invalid, match="thresholds must increase"):
        await actions.configure_plugin(services, "medal", "medals",
                                       {"bronze": 300, "silver": 200, "gold": 100})
    with pytest.raises(Invalid, match="Extra inputs are not permitted"):
        await actions.configure_plugin(services, "medal", "medals", {"platinum": 1})
    with pytest.raises(Invalid, match="no plugin named 'nope'"):
        await actions.configure_plugin(services, "medal", "nope", {})
    with pytest.raises(Invalid, match="relative folder"):
        await actions.configure_plugin(services, "medal", "json_snapshot",
                                       {"folder": "../../etc"})
    async with services.db.session() as session:
        stored = (await session.exec(select(Contest).where(Contest.slug == "medal"))).one()
    assert stored.plugins == {"medals": {"bronze": 100, "silver": 200, "gold": 300}}
    updated = await actions.configure_plugin(services, "medal", "medals",
                                             {"bronze": 1, "silver": 2, "gold": 3})
    assert updated.plugins["medals"] == {"bronze": 1.0, "silver": 2.0, "gold": 3.0}
    disabled = await actions.disable_plugin(services, "medal", "medals")
    assert disabled.plugins == {}

