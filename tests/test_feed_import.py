"""`podium contest import-feed` and `podium scoreboard show --json`, run as a user runs them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from server.actions.feeds import parse_feed, reltime
from server.errors import ActionError
from tests.test_cli import run

FEEDS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "feeds"
PACNW = FEEDS / "pacnw2022"


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    if db_url.startswith("sqlite"):
        return {}  # the embedded mode: a fresh data dir
    return {"PODIUM_DATABASE_URL": db_url, "PODIUM_SECRET_KEY": "test-secret-key"}


def _minutes(value: Any) -> int:
    if isinstance(value, int):
        return value
    delta = reltime(value)
    assert delta is not None, value
    return int(delta.total_seconds() // 60)


def _row(row: dict[str, Any]) -> tuple[Any, ...]:
    cells = sorted(
        (p["problem_id"], p["num_judged"], p.get("num_pending", 0), p["solved"],
         _minutes(p["time"]) if p["solved"] else None, p.get("first_to_solve", False) is True)
        for p in row["problems"] if p["num_judged"] or p.get("num_pending"))
    return (row["rank"], row["team_id"], row["score"]["num_solved"],
            _minutes(row["score"]["total_time"]), tuple(cells))


@pytest.mark.skipif(not PACNW.is_dir(), reason="the shared PacNW 2022 feed is not here")
def test_pacnw2022_replay_matches_the_final_scoreboard(tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    began = time.monotonic()
    imported = run("contest", "import-feed", str(PACNW / "event-feed.ndjson"),
                   data_dir=tmp_path, env=env)
    took = time.monotonic() - began
    assert imported.returncode == 0, imported.stderr
    slug = imported.stdout.strip()
    assert slug == "pacnw22-regional"
    assert "54 teams, 13 problems, 662 submissions" in imported.stderr
    assert "skipped 5: judgement of an unknown or skipped submission" in imported.stderr
    print(f"PacNW 2022 import: {took:.2f} s")

    shown = run("scoreboard", "show", slug, "--json", data_dir=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    board = json.loads(shown.stdout)
    expected = json.loads((PACNW / "final-scoreboard.json").read_text())
    assert [_row(r) for r in board["rows"]] == [_row(r) for r in expected["rows"]]
    assert not board["frozen"]

    public = json.loads(run("scoreboard", "show", slug, "--json", "--public",
                            data_dir=tmp_path, env=env).stdout)
    assert public["frozen"]
    pending = sum(p["num_pending"] for r in public["rows"] for p in r["problems"])
    assert pending > 0
    # nothing judged after the freeze shows: fewer solved in total than the final board
    assert (sum(r["score"]["num_solved"] for r in public["rows"])
            < sum(r["score"]["num_solved"] for r in board["rows"]))


@pytest.mark.skipif(not PACNW.is_dir(), reason="the shared PacNW 2022 feed is not here")
def test_an_exported_feed_imports_to_the_same_board(tmp_path: Path, env: dict[str, str]) -> None:
    """Export (jury feed) -> import gives the final scoreboard again; the public export of the
    frozen contest has no judgement of a try after the freeze."""
    slug = run("contest", "import-feed", str(PACNW / "event-feed.ndjson"), data_dir=tmp_path,
               env=env).stdout.strip()
    exported = run("contest", "export-feed", slug, data_dir=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "contest" and kinds[-1] == "state"
    assert kinds.count("teams") == 54 and kinds.count("problems") == 13
    feed = tmp_path / "exported.ndjson"
    feed.write_text(exported.stdout)
    again = run("contest", "import-feed", str(feed), "--slug", "replayed", data_dir=tmp_path,
                env=env)
    assert again.returncode == 0, again.stderr
    assert "skipped" not in again.stderr
    board = json.loads(run("scoreboard", "show", "replayed", "--json", data_dir=tmp_path,
                           env=env).stdout)
    expected = json.loads((PACNW / "final-scoreboard.json").read_text())
    assert [_row(r) for r in board["rows"]] == [_row(r) for r in expected["rows"]]

    public = run("contest", "export-feed", slug, "--public", data_dir=tmp_path, env=env)
    public_events = [json.loads(line) for line in public.stdout.splitlines()]
    contest = next(e["data"] for e in public_events if e["type"] == "contest")
    freeze = reltime(contest["duration"]) - reltime(contest["scoreboard_freeze_duration"])  # type: ignore[operator]
    late = {e["data"]["id"] for e in public_events if e["type"] == "submissions"
            and reltime(e["data"]["contest_time"]) >= freeze}  # type: ignore[operator]
    judged = {e["data"]["submission_id"] for e in public_events if e["type"] == "judgements"}
    assert late and not late & judged
    assert sum(k == "judgements" for k in kinds) > len(judged)


FEED_2023 = [
    {"type": "contest", "id": "c1", "data": {"id": "c1", "name": "Tiny 2023",
                                             "start_time": "2024-05-01T10:00:00Z",
                                             "duration": "5:00:00", "penalty_time": 20,
                                             "scoreboard_freeze_duration": "1:00:00"}},
    {"type": "judgement-types", "id": None, "data": [
        {"id": "AC", "solved": True, "penalty": False},
        {"id": "WA", "solved": False, "penalty": True},
        {"id": "CE", "solved": False, "penalty": False}]},
    {"type": "problems", "id": "p1", "data": {"id": "p1", "label": "A", "ordinal": 0}},
    {"type": "teams", "id": "t1", "data": {"id": "t1", "name": "One"}},
    {"type": "teams", "id": "t2", "data": {"id": "t2", "name": "Two"}},
    {"type": "submissions", "id": "s1", "data": {"id": "s1", "team_id": "t1",
                                                 "problem_id": "p1",
                                                 "contest_time": "0:10:30.000"}},
    {"type": "submissions", "id": "s2", "data": {"id": "s2", "team_id": "t1",
                                                 "problem_id": "p1",
                                                 "time": "2024-05-01T12:20:59.9+02:00"}},
    {"type": "submissions", "id": "s3", "data": {"id": "s3", "team_id": "t2",
                                                 "problem_id": "nope"}},
    {"type": "judgements", "id": "j1", "data": {"id": "j1", "submission_id": "s1",
                                                "judgement_type_id": "WA"}},
    {"type": "judgements", "id": "j2", "data": {"id": "j2", "submission_id": "s2",
                                                "judgement_type_id": "AC"}},
    {"type": "teams", "id": "t2", "data": None},
]


def test_a_malformed_line_is_skipped_and_reported_not_fatal(tmp_path: Path,
                                                            env: dict[str, str]) -> None:
    lines = [json.dumps(e) for e in FEED_2023]
    lines.insert(3, '{"type": "teams", "id": "t9", "data": {"id": "t9", "na')  # cut short
    feed = tmp_path / "feed.ndjson"
    feed.write_text("\n".join(lines) + "\n\n")
    imported = run("contest", "import-feed", str(feed), data_dir=tmp_path / "data", env=env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "tiny-2023"
    assert "skipped 1: line is not JSON (line 4)" in imported.stderr
    assert "skipped 1: submission of an unknown team or problem" in imported.stderr
    board = json.loads(run("scoreboard", "show", "tiny-2023", "--json",
                           data_dir=tmp_path / "data", env=env).stdout)
    assert [(r["rank"], r["team_id"], r["score"]) for r in board["rows"]] == [
        (1, "t1", {"num_solved": 1, "total_time": 20 + 20})]  # 0:20:59.9 → minute 20; t2 gone
    assert board["rows"][0]["problems"] == [
        {"problem_id": "p1", "num_judged": 2, "num_pending": 0, "solved": True, "time": 20,
         "first_to_solve": True}]


def test_a_2020_03_feed_is_read_too() -> None:
    lines = [
        '{"id": "1", "type": "contests", "op": "create", "data": {"id": "x", '
        '"start_time": "2020-01-01T00:00:00Z", "duration": "1:00:00"}}',
        '{"id": "2", "type": "teams", "op": "create", "data": {"id": "7", "name": "Seven"}}',
        '{"id": "3", "type": "teams", "op": "create", "data": {"id": "8", "name": "Eight"}}',
        '{"id": "4", "type": "teams", "op": "delete", "data": {"id": "8"}}',
        '{"id": "5", "type": "runs", "op": "create", "data": {"id": "r"}}',
    ]
    data = parse_feed(lines)
    assert list(data.of("teams")) == ["7"]
    assert data.ignored == {"runs": 1}


def test_a_file_that_is_not_a_feed_exits_2_with_one_line(tmp_path: Path) -> None:
    not_feed = tmp_path / "notes.txt"
    not_feed.write_text("hello\nthis is not JSON\n")
    result = run("contest", "import-feed", str(not_feed), data_dir=tmp_path / "data")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("podium: error: ")
    assert "is not an ICPC Contest API event feed" in lines[0]
    assert result.stdout == ""
    with pytest.raises(ActionError, match="no contest event"):
        parse_feed(['{"type": "teams", "id": "1", "data": {"id": "1"}}'])


def _settings_for(data_dir: Path, env: dict[str, str]) -> Any:
    from server.settings import Settings

    if "PODIUM_DATABASE_URL" in env:
        return Settings(data_dir=data_dir, database_url=env["PODIUM_DATABASE_URL"],
                        secret_key=env["PODIUM_SECRET_KEY"])
    return Settings(data_dir=data_dir)


async def _wreck_standings(data_dir: Path, env: dict[str, str]) -> None:
    """What a bug or a hand edit could leave: every stored row wrong."""
    from sqlmodel import select

    from server.models import Standing
    from server.services import Services

    services = await Services.create(_settings_for(data_dir, env))
    try:
        async with services.db.session() as session:
            for row in await session.exec(select(Standing)):
                row.solved, row.penalty, row.cells = 0, 0.0, []
                session.add(row)
            await session.commit()
    finally:
        await services.close()


def test_scoreboard_rebuild_recomputes_the_stored_standings(tmp_path: Path,
                                                            env: dict[str, str]) -> None:
    feed = tmp_path / "feed.ndjson"
    feed.write_text("\n".join(json.dumps(e) for e in FEED_2023) + "\n")
    data = tmp_path / "data"
    assert run("contest", "import-feed", str(feed), data_dir=data, env=env).returncode == 0
    before = run("scoreboard", "show", "tiny-2023", "--json", data_dir=data, env=env).stdout
    import asyncio

    asyncio.run(_wreck_standings(data, env))
    wrecked = run("scoreboard", "show", "tiny-2023", "--json", data_dir=data, env=env).stdout
    assert json.loads(wrecked)["rows"] != json.loads(before)["rows"]
    rebuilt = run("scoreboard", "rebuild", "--contest", "tiny-2023", data_dir=data, env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip() == "tiny-2023: rebuilt 1 row"
    after = run("scoreboard", "show", "tiny-2023", "--json", data_dir=data, env=env).stdout
    assert json.loads(after) == json.loads(before)
    every = run("scoreboard", "rebuild", data_dir=data, env=env)
    assert every.returncode == 0 and "tiny-2023: rebuilt 1 row" in every.stdout
    missing = run("scoreboard", "rebuild", "--contest", "nope", data_dir=data, env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "podium: error: contest 'nope' does not exist"


@pytest.mark.skipif(not PACNW.is_dir(), reason="the shared PacNW 2022 feed is not here")
def test_revealing_the_pacnw_board_ends_on_the_final_scoreboard(tmp_path: Path,
                                                                env: dict[str, str]) -> None:
    slug = run("contest", "import-feed", str(PACNW / "event-feed.ndjson"), data_dir=tmp_path,
               env=env).stdout.strip()
    first = run("contest", "reveal", slug, "--steps", "3", data_dir=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    total = int(first.stdout.split(" of ")[1].split()[0])
    assert first.stdout.startswith(f"{slug}: 3 of {total} revealed (last: team ")
    public = json.loads(run("scoreboard", "show", slug, "--json", "--public", data_dir=tmp_path,
                            env=env).stdout)
    assert public["frozen"]
    pending = sum(p["num_pending"] > 0 for r in public["rows"] for p in r["problems"])
    assert pending == total - 3  # one pending cell revealed per step
    rest = run("contest", "reveal", slug, "--steps", str(total), data_dir=tmp_path, env=env)
    assert f"{total} of {total} revealed; the board is unfrozen" in rest.stdout
    public = json.loads(run("scoreboard", "show", slug, "--json", "--public", data_dir=tmp_path,
                            env=env).stdout)
    expected = json.loads((PACNW / "final-scoreboard.json").read_text())
    assert not public["frozen"]
    assert [_row(r) for r in public["rows"]] == [_row(r) for r in expected["rows"]]
    again = run("contest", "reveal", slug, data_dir=tmp_path, env=env)
    assert again.returncode == 2 and "not frozen" in again.stderr
