"""The ``podium`` command.

Bad arguments and bad input exit with code 2 and one clear line on stderr.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from server.errors import ActionError
from server.plugins import PluginError
from server.settings import ConfigurationError, Settings, load_settings

__all__ = ["cli", "main"]

T = TypeVar("T")


class CommandFailed(click.ClickException):
    """A clear, one-line failure (exit code 2)."""

    exit_code = 2


def _settings() -> Settings:
    try:
        settings = load_settings()
        settings.check()
    except ConfigurationError as exc:
        raise CommandFailed(str(exc)) from None
    return settings


def _run(settings: Settings, body: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``body(services)`` with the services built from the settings."""
    from server.services import Services

    async def go() -> T:
        services = await Services.create(settings)
        try:
            return await body(services)
        finally:
            await services.close()

    return asyncio.run(go())


def _upgrade(settings: Settings) -> None:
    from server import migrate

    migrate.upgrade(settings.effective_database_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="podium", prog_name="podium")
def cli() -> None:
    """Podium: a self-hosted, plugin-based programming-contest server.

    Configuration comes from PODIUM_* environment variables and an optional TOML file
    (PODIUM_CONFIG). With no database and no Redis URL, Podium runs embedded: SQLite in the
    data dir and in-memory queue, index and channels.
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes (production mode only; the embedded mode needs one).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app and the API."""
    import uvicorn

    from server import migrate
    from server.app import FREEZE_HEAP_ENV, create_app

    settings = _settings()
    if settings.is_embedded:
        if workers != 1:
            raise CommandFailed("the embedded mode runs one process; unset --workers or "
                                "configure PODIUM_DATABASE_URL and PODIUM_REDIS_URL")
        _upgrade(settings)
    else:
        head = migrate.head()
        now = migrate.current(settings.effective_database_url)
        if now != head:
            raise CommandFailed(f"the database is at revision {now or 'none'}, not {head}: run "
                                "`podium db upgrade` first")
    try:
        create_app(settings)  # fail fast on configuration or plugin errors
    except PluginError as exc:
        raise CommandFailed(str(exc)) from None
    click.echo(f"Podium on http://{host}:{port} ({'embedded' if settings.is_embedded else 'production'} mode)")
    os.environ[FREEZE_HEAP_ENV] = "1"  # for the web processes (spawned: they inherit it)
    uvicorn.run("server.app:create_app", factory=True, host=host, port=port, workers=workers,
                timeout_graceful_shutdown=10, log_config=None, proxy_headers=True,
                ws="websockets-sansio", ws_per_message_deflate=False)


@cli.command()
@click.option("--server", "server_url", required=True, metavar="URL",
              help="Base URL of the Podium server, e.g. http://web:8000.")
@click.option("--token", required=True, envvar="PODIUM_JUDGE_TOKEN",
              help="Judge host token (`podium judge add-host NAME` prints one).")
@click.option("--sandbox", "sandbox_name", type=click.Choice(["bwrap", "docker"]),
              default="bwrap", show_default=True, help="Sandbox backend.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Test data cache (default: <data dir>/judge-cache).")
@click.option("--once", is_flag=True, help="Judge at most one submission, then exit.")
@click.option("--unsafe-no-sandbox", "unsafe", is_flag=True,
              help="Run submissions WITHOUT isolation (rlimits only). Only for trusted code "
                   "on a throw-away machine.")
def worker(server_url: str, token: str, sandbox_name: str, cache_dir: Path | None,
           once: bool, unsafe: bool) -> None:
    """Run a judge host that claims submissions from the server's judge API.

    Judge hosts hold no database or Redis credentials; they speak HTTP only.
    """
    import httpx

    from judges.sandbox.select import choose_sandbox
    from judges.worker import JudgeWorker, WorkerError
    from server.services import build_registry

    if not server_url.startswith(("http://", "https://")):
        raise CommandFailed("--server must be an http:// or https:// URL")
    settings = load_settings()
    try:
        response = httpx.get(server_url.rstrip("/") + "/healthz", timeout=10)
    except httpx.HTTPError as exc:
        raise CommandFailed(f"cannot reach {server_url}: {exc}") from None
    if response.status_code != 200:
        raise CommandFailed(f"{server_url}/healthz answered {response.status_code}")
    if unsafe:
        sandbox_name = "unsafe"
        click.echo("WARNING: --unsafe-no-sandbox: submissions run on this host WITHOUT "
                   "isolation (rlimits only)", err=True)
    try:
        registry = build_registry(settings)
        sandbox = asyncio.run(choose_sandbox(sandbox_name, settings.data_dir))
    except (PluginError, RuntimeError) as exc:
        raise CommandFailed(f"{exc} (`podium judge doctor` tells which sandboxes work here)"
                            ) from None

    async def go() -> None:
        judge = JudgeWorker(server_url, token, sandbox=sandbox, registry=registry,
                            cache_dir=cache_dir or settings.data_dir / "judge-cache")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            if once:
                await judge.run_once()
            else:
                click.echo(f"judging for {server_url} with {sandbox.name}")
                await judge.run_forever(stop)
        finally:
            await judge.close()

    try:
        asyncio.run(go())
    except WorkerError as exc:
        raise CommandFailed(str(exc)) from None


@cli.group()
def problem() -> None:
    """Problem packages (ICPC / Kattis format)."""


@problem.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--contest", default=None, help="Also add the problem to this contest (slug).")
@click.option("--label", default=None, help="Its label in the contest (default: next letter).")
@click.option("--points", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Its points in the contest.")
@click.option("--slug", default=None, help="Problem slug (default: the package's short name).")
def problem_import(path: Path, contest: str | None, label: str | None, points: float,
                   slug: str | None) -> None:
    """Import a problem package (a folder or a .zip), all or nothing."""
    from judges.problems import PackageError, load_package
    from server.actions.problems import import_package

    settings = _settings()
    _upgrade_if_embedded(settings)
    try:
        package = load_package(path)
    except PackageError as exc:
        raise CommandFailed(f"{path}: {exc}") from None
    with package:
        report = _run(settings, lambda s: import_package(
            s, package, slug=slug, contest=contest, label=label, points=points))
    click.echo(f"imported {report.problem.slug!r} ({report.problem.title}): "
               f"{report.test_cases} test cases in {report.groups} groups, time limit "
               f"{report.problem.time_limit_ms} ms, checker {report.problem.checker}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


@problem.command("verify")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array instead.")
@click.option("--sandbox", "sandbox_name", type=click.Choice(["bwrap", "docker"]),
              default="bwrap", show_default=True, help="Sandbox backend.")
def problem_verify(path: Path, as_json: bool, sandbox_name: str) -> None:
    """Judge the package's submissions/ and compare with the expected verdicts (exit 1 on
    any mismatch)."""
    import json

    from judges.problems import PackageError, load_package
    from judges.sandbox.select import choose_sandbox
    from judges.verify import verify_package
    from server.services import build_registry

    settings = load_settings()
    try:
        registry = build_registry(settings)
        package = load_package(path)
    except PackageError as exc:
        raise CommandFailed(f"{path}: {exc}") from None
    except PluginError as exc:
        raise CommandFailed(str(exc)) from None

    async def go() -> tuple[float, list[Any]]:
        sandbox = await choose_sandbox(sandbox_name, settings.data_dir)
        return await verify_package(package, sandbox=sandbox,
                                    languages=registry.languages.items,
                                    checkers=registry.checkers.items)

    with package:
        try:
            time_limit, rows = asyncio.run(go())
        except (RuntimeError, ValueError) as exc:
            raise CommandFailed(str(exc)) from None
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], indent=1))
    else:
        width = max((len(r.submission) for r in rows), default=10)
        click.echo(f"time limit {time_limit:g} s")
        scoring = any(r.max_score is not None for r in rows)
        score_head = f" {'score':>17}" if scoring else ""
        click.echo(f"{'submission':<{width}}  {'expected':<12} {'got':<4} {'time':>7}"
                   f"{score_head}  ok")
        for r in rows:
            used = "-" if r.time_s is None else f"{r.time_s:.2f}s"
            expected = ",".join(r.expected)
            if len(expected) > 12:
                expected = "rejected"
            score = ""
            if scoring:
                want = r.expected_score or "any"
                score = f" {f'{r.score or 0:g}/{r.max_score:g} ({want})':>17}"
            click.echo(f"{r.submission:<{width}}  {expected:<12} {r.verdict:<4} "
                       f"{used:>7}{score}  {'yes' if r.ok else 'NO'}")
        bad = sum(not r.ok for r in rows)
        click.echo(f"{len(rows) - bad} of {len(rows)} as expected")
    if any(not r.ok for r in rows):
        sys.exit(1)


@cli.group()
def judge() -> None:
    """Judge hosts and sandboxes."""


@judge.command("bench")
@click.option("--submissions", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Submissions to post in one burst.")
@click.option("--tests", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Test cases of the problem.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="`podium worker` processes (default: one per CPU).")
@click.option("--keep", "keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Work in this folder and keep it (default: a temporary one).")
def judge_bench(submissions: int, tests: int, workers: int | None, keep: Path | None) -> None:
    """Measure judging throughput end to end: a real server, a burst of trivial Python
    submissions over the API, `podium worker` processes on bwrap; prints the figures."""
    from judges.bench_throughput import run_bench

    try:
        result = run_bench(submissions=submissions, tests=tests, workers=workers, workdir=keep,
                           echo=click.echo)
    except RuntimeError as exc:
        raise CommandFailed(f"bench: {exc}") from None
    for line in result.lines():
        click.echo(line)


@judge.command("doctor")
def judge_doctor() -> None:
    """Say which sandbox backends work on this host, and why the others do not."""
    from judges.sandbox.select import diagnose

    settings = load_settings()
    report = asyncio.run(diagnose(settings.data_dir))
    for name, problem in report.items():
        click.echo(f"{name:<7} {'ok' if problem is None else 'unavailable: ' + problem}")
    if all(problem is not None for problem in report.values()):
        click.echo("no sandbox works here: the judge refuses to run submissions (see "
                   "`podium worker --help` for the unsafe escape hatch)", err=True)
        sys.exit(1)


@judge.command("selftest")
@click.option("--backend", type=click.Choice(["bwrap", "docker", "all"]), default="all",
              show_default=True, help="Sandbox backend (all: every one that works here).")
@click.option("--language", "language_names", multiple=True, metavar="NAME",
              help="Only this language (repeatable; default: every language plugin).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def judge_selftest(backend: str, language_names: tuple[str, ...], as_json: bool) -> None:
    """Judge every language's self-test program on every working sandbox backend and print
    each language's version (exit 1 if a language fails)."""
    import json

    from judges.sandbox.select import BACKENDS
    from judges.selftest import format_table, open_backends, run_selftest
    from server.services import build_registry

    settings = load_settings()
    catalog = build_registry(settings).languages
    unknown = [name for name in language_names if name not in catalog]
    if unknown:
        raise CommandFailed(f"no language named {unknown[0]!r} (have: "
                            f"{', '.join(catalog.names())})")
    languages = {name: lang for name, lang in catalog.items.items()
                 if not language_names or name in language_names}

    async def go() -> Any:
        sandboxes, unavailable = await open_backends(
            BACKENDS if backend == "all" else (backend,), settings.data_dir)
        try:
            if backend in unavailable:
                raise CommandFailed(f"the {backend} sandbox is unavailable: "
                                    f"{unavailable[backend]}")
            return await run_selftest(languages, sandboxes, unavailable)
        finally:
            for sandbox in sandboxes.values():
                if (close := getattr(sandbox, "aclose", None)) is not None:
                    await close()

    report = asyncio.run(go())
    click.echo(json.dumps(report.as_json(), indent=1) if as_json
               else "\n".join(format_table(report)))
    if not report.rows:
        click.echo("no sandbox works here: nothing was tested", err=True)
    if not report.ok:
        sys.exit(1)


@judge.command("add-host")
@click.argument("name")
def judge_add_host(name: str) -> None:
    """Register a judge host and print its token (shown once)."""
    from server.actions.judging import create_judge_host

    settings = _settings()
    _upgrade_if_embedded(settings)
    host, token = _run(settings, lambda s: create_judge_host(s, name))
    click.echo(token)


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to a revision (default: the newest)."""
    from server import migrate

    settings = _settings()
    migrate.upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {migrate.current(settings.effective_database_url)}")


@db.command("current")
def db_current() -> None:
    """Print the database's revision."""
    from server import migrate

    settings = _settings()
    click.echo(migrate.current(settings.effective_database_url) or "empty")


@cli.group()
def user() -> None:
    """Users and API tokens."""


@user.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--role", type=click.Choice(["admin", "organizer", "jury", "contestant"]),
              default=None, help="Role (default contestant; --admin means admin).")
@click.option("--password", default=None, help="Password (default: generate and print one).")
def user_create(username: str, admin: bool, role: str | None, password: str | None) -> None:
    """Create a user."""
    from server import actions

    if admin and role not in (None, "admin"):
        raise CommandFailed("--admin and --role disagree")
    role = "admin" if admin else (role or "contestant")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    settings = _settings()
    _upgrade_if_embedded(settings)
    created = _run(settings, lambda s: actions.create_user(s, username, password=password,
                                                            role=role))
    click.echo(f"created {created.role} {created.username!r} (id {created.id})")
    if generated:
        click.echo(f"password: {password}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def user_token(username: str, name: str) -> None:
    """Create an API token for a user and print it (shown once)."""
    from server import actions

    async def body(services: Any) -> str:
        found = await actions.get_user(services, username)
        return await actions.create_api_token(services, found.id, name=name)

    click.echo(_run(_settings(), body))


def _upgrade_if_embedded(settings: Settings) -> None:
    if settings.is_embedded:
        _upgrade(settings)


@cli.command("rejudge")
@click.argument("contest")
@click.option("--problem", default=None, help="Only this problem (contest label or slug).")
@click.option("--submission", "submission_id", type=click.IntRange(min=1), default=None,
              help="Only this submission (its id).")
@click.option("--verdict", "verdicts", multiple=True, metavar="VERDICT",
              help="Only submissions with this verdict, e.g. JE or TLE (repeatable).")
@click.option("--reason", default="", help="Why; kept with the rejudging.")
def rejudge_cmd(contest: str, problem: str | None, submission_id: int | None,
                verdicts: tuple[str, ...], reason: str) -> None:
    """Judge a contest's submissions again (all of them, one problem's, one, or those with
    some verdicts), keeping every earlier judging."""
    from server.actions.judging import rejudge

    settings = _settings()
    _upgrade_if_embedded(settings)
    made = _run(settings, lambda s: rejudge(
        s, contest, submission_id=submission_id, problem=problem,
        verdicts=[v.upper() for v in verdicts], reason=reason))
    count = made.submission_count
    click.echo(f"rejudging {made.id}: queued {count} submission{'' if count == 1 else 's'}")
    if settings.is_embedded:
        click.echo("note: the embedded judge queue lives in the `podium serve` process: a "
                   "running server judges these after its next start (the API queues them at "
                   "once: POST /api/v1/contests/<slug>/rejudgings)", err=True)


@cli.command()
def demo() -> None:
    """Create the demo event (idempotent): a running contest, 3 problems, 20 contestants."""
    from server.demo import create_demo

    settings = _settings()
    _upgrade(settings)
    summary = _run(settings, create_demo)
    click.echo(summary)


@cli.command("plugins")
def plugins_cmd() -> None:
    """List the loaded plugins and what they provide."""
    from server.services import build_registry

    settings = _settings()
    try:
        registry = build_registry(settings)
    except PluginError as exc:
        raise CommandFailed(str(exc)) from None
    for item in registry.describe():
        provides = "; ".join(f"{k}: {', '.join(v)}" for k, v in item["provides"].items())
        origin = item["distribution"] or "?"
        click.echo(f"{item['name']:<16} {origin:<12} {provides}")
    for name, why in sorted(registry.skipped.items()):
        click.echo(f"{name:<16} (skipped: {why})")


@cli.group()
def contest() -> None:
    """Contests: import and export ICPC Contest API event feeds, freeze, reveal."""


@contest.command("import-feed")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", default=None, help="Slug of the new contest (default: from its name).")
def contest_import_feed(feed: Path, slug: str | None) -> None:
    """Create a contest (scoring rule icpc) from an event feed (2020-03 or 2023-06 NDJSON);
    prints what was skipped and why on stderr and the new contest's slug on stdout."""
    from server.actions.feeds import import_feed, parse_feed

    settings = _settings()
    _upgrade_if_embedded(settings)
    try:
        with feed.open(encoding="utf-8", errors="replace") as lines:
            data = parse_feed(lines, name=str(feed))
    except OSError as exc:
        raise CommandFailed(f"{feed}: {exc.strerror or exc}") from None
    report = _run(settings, lambda s: import_feed(s, data, slug=slug))
    for line in report.summary():
        click.echo(line, err=True)
    click.echo(report.contest.slug)


@contest.command("export-feed")
@click.argument("slug")
@click.option("--public", is_flag=True,
              help="The public feed: results hidden by the freeze are left out.")
def contest_export_feed(slug: str, public: bool) -> None:
    """Print the contest as an ICPC Contest API event feed (2023-06 NDJSON)."""
    import json

    from server.actions.feed_export import event_feed

    settings = _settings()
    _upgrade_if_embedded(settings)
    events = _run(settings, lambda s: event_feed(s, slug, jury=not public))
    for event in events:
        click.echo(json.dumps(event, separators=(",", ":")))


@contest.command("freeze")
@click.argument("slug")
def contest_freeze(slug: str) -> None:
    """Freeze the public scoreboard now."""
    from server.actions.freeze import freeze_now

    settings = _settings()
    _upgrade_if_embedded(settings)
    contest = _run(settings, lambda s: freeze_now(s, slug))
    click.echo(f"{contest.slug}: frozen since {contest.freeze_at.isoformat()}")  # type: ignore[union-attr]


@contest.command("unfreeze")
@click.argument("slug")
def contest_unfreeze(slug: str) -> None:
    """Show every result on the public scoreboard now."""
    from server.actions.freeze import unfreeze

    settings = _settings()
    _upgrade_if_embedded(settings)
    contest = _run(settings, lambda s: unfreeze(s, slug))
    click.echo(f"{contest.slug}: unfrozen")


@contest.command("reveal")
@click.argument("slug")
@click.option("--steps", type=click.IntRange(min=1), default=1, show_default=True,
              help="Pending cells to reveal (the reveal starts on the first call).")
def contest_reveal(slug: str, steps: int) -> None:
    """Reveal the frozen board of an ended contest, from the bottom up."""
    from server.actions.freeze import reveal_next, reveal_status, start_reveal

    async def go(services):  # type: ignore[no-untyped-def]
        status = await reveal_status(services, slug)
        if not status["active"]:
            await start_reveal(services, slug)
        return await reveal_next(services, slug, steps=steps)

    settings = _settings()
    _upgrade_if_embedded(settings)
    status = _run(settings, go)
    last = status.get("last") or {}
    click.echo(f"{slug}: {status['step']} of {status['total']} revealed"
               + ("; the board is unfrozen" if not status["frozen"] else "")
               + (f" (last: team {last['team_id']}, problem {last['problem_id']}, "
                  f"{'solved' if last['solved'] else 'not solved'})" if last else ""))


@cli.group("scoreboard")
def scoreboard_cmd() -> None:
    """Contest scoreboards."""


@scoreboard_cmd.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, required=True,
              help="Print the ICPC Contest API scoreboard object (the only format so far).")
@click.option("--public", is_flag=True, help="The public view (pending tries after the freeze).")
def scoreboard_show(slug: str, as_json: bool, public: bool) -> None:
    """Print a contest's scoreboard."""
    import json

    from server.actions.feeds import contest_api_scoreboard

    settings = _settings()
    _upgrade_if_embedded(settings)
    board = _run(settings, lambda s: contest_api_scoreboard(s, slug, public=public))
    click.echo(json.dumps(board, indent=1))


@scoreboard_cmd.command("rebuild")
@click.option("--contest", "slug", default=None,
              help="Only this contest (slug or id; default: every contest).")
def scoreboard_rebuild(slug: str | None) -> None:
    """Recompute the standings from the submissions and refill the sorted index (Redis in
    production; the embedded mode's memory index is refilled by every start)."""
    from sqlmodel import col, select

    from server.actions.base import contest_by_ref
    from server.actions.standings import rebuild_standings
    from server.models import Contest

    settings = _settings()
    _upgrade_if_embedded(settings)

    async def body(services: Any) -> list[tuple[str, int | None]]:
        async with services.db.session() as session:
            if slug is not None:
                contests = [await contest_by_ref(session, slug)]
            else:
                contests = list(await session.exec(select(Contest).order_by(col(Contest.id))))
        done = []
        for contest in contests:
            board = await rebuild_standings(services, contest.id)
            done.append((contest.slug, None if board is None else len(board.rows)))
        return done

    for contest_slug, rows in _run(settings, body):
        click.echo(f"{contest_slug}: rebuilt {rows} row{'' if rows == 1 else 's'}"
                   if rows is not None
                   else f"{contest_slug}: skipped, its scoring rule is not available")


@cli.group("leaderboard")
def leaderboard_cmd() -> None:
    """Named leaderboards."""


@leaderboard_cmd.command("rebuild")
@click.option("--board", "ref", default=None,
              help="Only this leaderboard (slug or id; default: every one).")
def leaderboard_rebuild(ref: str | None) -> None:
    """Refill the leaderboards' sorted index from the database (Redis in production; without
    Redis each process rebuilds its memory index on a board's first read)."""
    from server.actions import leaderboards as lb
    from server.actions.leaderboard_upkeep import rebuild_index

    settings = _settings()
    _upgrade_if_embedded(settings)

    async def body(services: Any) -> list[tuple[str, int]]:
        boards = ([await lb.get_leaderboard(services, ref)] if ref is not None
                  else await lb.list_leaderboards(services, include_private=True))
        return [(board.slug, await rebuild_index(services, board)) for board in boards]

    for slug, entries in _run(settings, body):
        click.echo(f"{slug}: {entries} entr{'y' if entries == 1 else 'ies'}")
    if settings.redis_url is None:
        click.echo("note: without Redis the index lives in each server process, which "
                   "rebuilds it by itself: this command only checked the database", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear line and exit code 2 for every usage or input error."""
    try:
        result = cli.main(args=argv, prog_name="podium", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see 'podium {exc.ctx.command_path.partition(' ')[2]} --help')".replace(
            "podium  --help", "podium --help") if exc.ctx else ""
        click.echo(f"podium: error: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"podium: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (ActionError, ConfigurationError, PluginError) as exc:
        click.echo(f"podium: error: {exc}", err=True)
        return 2
    except click.Abort:
        click.echo("podium: aborted", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
