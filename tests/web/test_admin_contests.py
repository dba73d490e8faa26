"""Organizer pages for setting up contests (/admin): forms, errors, permissions, uploads."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlmodel import select

from server.actions.accounts import contest_code_hash
from server import models
from server.models import (
    AuditEntry,
    Contest,
    ContestLanguage,
    ContestProblem,
    Problem,

    utcnow,
)
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    fast_passwords,
    form_post,
    frozen_world,
    log_in,
    solve_in_app,
    world_with_tokens,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "problems"
PASSWORD = "correct horse"


def _staff(client: AsyncTestClient[Any], username: str = "olga", role: str = "organizer") -> Any:
    return InApp(client).create_user(username, password=PASSWORD, role=role)


async def _as(client: AsyncTestClient[Any], role: str = "organizer", username: str | None = None
              ) -> Any:
    user = _staff(client, username or role, role)
    await log_in(client, user.username, PASSWORD)
    return user


def _rows(client: AsyncTestClient[Any], model: Any, *where: Any) -> list[Any]:
    app = InApp(client)

    async def go(services: Any) -> list[Any]:
        async with services.db.session() as session:
            return list(await session.exec(select(model).where(*where)))
    return app(go, app.services)


def _contest(client: AsyncTestClient[Any], slug: str) -> Contest | None:
    rows = _rows(client, Contest, Contest.slug == slug)
    return rows[0] if rows else None


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', html)
    assert found, f"no error for {field}"
    return found.group(1)


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()


NEW = {"slug": "autumn", "title": "Autumn cup", "description": "Hello",
       "start_at": "2030-10-01T10:00", "end_at": "2030-10-01T15:00", "freeze_at": "",
       "unfreeze_at": "", "timezone": "Europe/Paris", "scoring_rule": "icpc",
       "visibility": "public", "registration_mode": "code", "registration_code": "s3cret",
       "theme": ""}


# -- dashboard and new contest ----------------------------------------------------------------

async def test_empty_dashboard_explains_the_first_steps(client) -> None:
    await _as(client)
    page = await client.get("/admin/", headers=HTML)
    assert page.status_code == 200
    for step in ("Create a contest", "Add problems", "Enable languages", "Open registration"):
        assert step in page.text
    assert 'href="/admin/contests/new"' in page.text


async def test_new_contest_form_creates_the_contest(client) -> None:
    await _as(client)
    page = await client.get("/admin/contests/new", headers=HTML)
    assert page.status_code == 200
    for label in ("Slug", "Title", "Description", "Start", "End", "Freeze at", "Unfreeze at",
                  "Time zone", "Scoring rule", "Visibility", "Registration",
                  "Registration code", "Practice contest", "Theme"):
        assert re.search(rf'<label for="f-[a-z_]+">{re.escape(label)}( <span|</label>)',
                         page.text), label
    assert '<option value="icpc"' in page.text and '<option value="default"' in page.text
    assert "Create contest" in page.text
    response = await form_post(client, "/admin/contests/new", {**NEW, "is_practice": "on"},
                               token_from="/admin/contests/new")
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == "/admin/contests/autumn"
    contest = _contest(client, "autumn")
    assert contest is not None
    assert contest.timezone == "Europe/Paris"
    assert contest.start_at.hour == 8 and contest.start_at.utcoffset() == timedelta(0)  # 10:00 CEST
    assert contest.scoring_rule == "icpc" and contest.is_practice
    assert contest.registration_code_hash == contest_code_hash("s3cret")
    assert _rows(client, AuditEntry, AuditEntry.action == "contest.create")
    overview = await client.get("/admin/contests/autumn", headers=HTML)
    assert overview.status_code == 200
    assert 'value="2030-10-01T10:00"' in overview.text  # shown in the contest's zone
    dashboard = await client.get("/admin/", headers=HTML)
    assert "Autumn cup" in dashboard.text and "Upcoming" in dashboard.text


@pytest.mark.parametrize(("change", "field", "status"), [
    ({"slug": "Bad Slug!"}, "slug", 400),
    ({"end_at": "2030-10-01T09:00"}, "end_at", 400),
    ({"start_at": "yesterday"}, "start_at", 400),
    ({"timezone": "Mars/Olympus"}, "timezone", 400),
    ({"registration_code": ""}, "registration_code", 400),
    ({"title": "  "}, "title", 400),
])
async def test_new_contest_errors_next_to_their_field(client, change, field, status) -> None:
    await _as(client)
    response = await form_post(client, "/admin/contests/new", {**NEW, **change},
                               token_from="/admin/contests/new")
    assert response.status_code == status
    assert _field_error(response.text, field)
    assert 'value="Autumn cup"' in response.text or field == "title"  # values kept
    assert _rows(client, Contest) == []


async def test_duplicate_slug_is_a_conflict_on_the_slug(client) -> None:
    await _as(client)
    first = await form_post(client, "/admin/contests/new", NEW, token_from="/admin/contests/new")
    assert first.status_code == 303
    again = await form_post(client, "/admin/contests/new", {**NEW, "title": "Other"},
                            token_from="/admin/contests/new")
    assert again.status_code == 409
    assert "already exists" in _field_error(again.text, "slug")
    assert [c.title for c in _rows(client, Contest)] == ["Autumn cup"]


# -- contest settings and scoring settings ----------------------------------------------------

async def test_contest_settings_save_and_errors(client) -> None:
    world = world_with_tokens(client, teams=1)
    await _as(client)
    page = await client.get("/admin/contests/spring", headers=HTML)
    assert page.status_code == 200
    assert "Save contest" in page.text and "Scoring settings" in page.text
    form = {"title": "Spring renamed", "description": "", "timezone": "UTC",
            "start_at": world.start.strftime("%Y-%m-%dT%H:%M"),
            "end_at": (world.start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
            "freeze_at": "", "unfreeze_at": "", "scoring_rule": "points",
            "visibility": "private", "registration_mode": "open", "theme": "",
            "show_test_results": "all"}
    bad = await form_post(client, "/admin/contests/spring",
                          {**form, "end_at": world.start.strftime("%Y-%m-%dT%H:%M")},
                          token_from="/admin/contests/spring")
    assert bad.status_code == 400
    assert "end after it starts" in _field_error(bad.text, "end_at")
    assert 'value="Spring renamed"' in bad.text
    assert _contest(client, "spring").title == "Contest spring"  # unchanged
    ok = await form_post(client, "/admin/contests/spring", form,
                         token_from="/admin/contests/spring")
    assert ok.status_code == 303
    contest = _contest(client, "spring")
    assert (contest.title, contest.visibility, contest.registration_mode,
            contest.show_test_results) == ("Spring renamed", "private", "open", "all")
    wrong = await form_post(client, "/admin/contests/spring",
                            {**form, "show_test_results": "everything"},
                            token_from="/admin/contests/spring")
    assert wrong.status_code == 400
    assert "must be one of" in _field_error(wrong.text, "show_test_results")
    assert contest.start_at == world.start  # shown in minutes, untouched: seconds are kept
    [entry] = _rows(client, AuditEntry, AuditEntry.action == "contest.update")
    assert entry.data["title"] == "Spring renamed" and "start_at" not in entry.data


async def test_scoring_settings_form_round_trips_and_shows_field_errors(client) -> None:
    world_with_tokens(client, teams=1)
    app = InApp(client)
    app.update_contest("spring", scoring_rule="icpc")
    await _as(client)
    page = await client.get("/admin/contests/spring", headers=HTML)
    assert 'name="scoring.penalty_minutes"' in page.text and 'value="20"' in page.text
    bad = await form_post(client, "/admin/contests/spring/scoring",
                          {"scoring.penalty_minutes": "-5"}, token_from="/admin/contests/spring")
    assert bad.status_code == 400
    assert "greater than or equal to 0" in _field_error(bad.text, "sf-scoring-penalty_minutes")
    assert 'value="-5"' in bad.text
    assert _contest(client, "spring").scoring_settings["penalty_minutes"] == 20
    ok = await form_post(client, "/admin/contests/spring/scoring",
                         {"scoring.penalty_minutes": "15", "scoring.count_compile_errors": "on"},
                         token_from="/admin/contests/spring")
    assert ok.status_code == 303
    assert _contest(client, "spring").scoring_settings == {"penalty_minutes": 15,
                                                           "count_compile_errors": True}


async def test_exports_download_the_feed_and_the_scoreboard(client) -> None:
    import json

    world_with_tokens(client, teams=2)
    await _as(client, "jury")
    feed = await client.get("/admin/contests/spring/export/event-feed.ndjson")
    assert feed.status_code == 200
    assert "attachment" in feed.headers["content-disposition"]
    events = [json.loads(line) for line in feed.text.splitlines()]
    assert events[0]["type"] == "contest" and any(e["type"] == "teams" for e in events)
    board = await client.get("/admin/contests/spring/export/scoreboard.json")
    assert board.status_code == 200
    assert len(board.json()["rows"]) == 2


# -- plugins ----------------------------------------------------------------------------------

async def test_plugins_enable_save_disable_with_schema_forms(client) -> None:
    world_with_tokens(client, teams=1)
    await _as(client)
    page = await client.get("/admin/contests/spring/plugins", headers=HTML)
    assert page.status_code == 200
    assert ">Enable medals</button>" in page.text
    assert 'name="medals.bronze"' in page.text and 'value="100"' in page.text
    assert "level systems" in page.text
    enable = await form_post(client, "/admin/contests/spring/plugins/medals",
                             {"op": "enable", "medals.bronze": "10", "medals.silver": "20",
                              "medals.gold": "30"}, token_from="/admin/contests/spring/plugins")
    assert enable.status_code == 303
    assert _contest(client, "spring").plugins["medals"] == {"bronze": 10, "silver": 20,
                                                            "gold": 30}
    page = await client.get("/admin/contests/spring/plugins", headers=HTML)
    assert ">Save medals settings</button>" in page.text and ">Disable medals</button>" in page.text
    # a field error (by loc) and a model error; the stored settings stay
    bad = await form_post(client, "/admin/contests/spring/plugins/medals",
                          {"op": "save", "medals.bronze": "0", "medals.silver": "x",
                           "medals.gold": "30"}, token_from="/admin/contests/spring/plugins")
    assert bad.status_code == 400
    assert "greater than 0" in _field_error(bad.text, "sf-medals-bronze")
    assert "valid number" in _field_error(bad.text, "sf-medals-silver")
    assert 'value="x"' in bad.text
    order = await form_post(client, "/admin/contests/spring/plugins/medals",
                            {"op": "save", "medals.bronze": "50", "medals.silver": "20",
                             "medals.gold": "30"}, token_from="/admin/contests/spring/plugins")
    assert order.status_code == 400 and "thresholds must increase" in order.text
    assert _contest(client, "spring").plugins["medals"]["bronze"] == 10
    disable = await form_post(client, "/admin/contests/spring/plugins/medals/disable", {},
                              token_from="/admin/contests/spring/plugins")
    assert disable.status_code == 303
    assert "medals" not in _contest(client, "spring").plugins
    assert len(_rows(client, AuditEntry, AuditEntry.action == "contest.plugin")) == 2


async def test_plugin_without_settings_enables(client) -> None:
    world_with_tokens(client, teams=1)
    await _as(client)
    response = await form_post(client, "/admin/contests/spring/plugins/first_accepted",
                               {"op": "enable"}, token_from="/admin/contests/spring/plugins")
    assert response.status_code == 303
    assert "first_accepted" in _contest(client, "spring").plugins
    missing = await form_post(client, "/admin/contests/spring/plugins/nope", {"op": "enable"},
                              token_from="/admin/contests/spring/plugins")
    assert missing.status_code == 404


async def test_every_plugin_form_parses_back_to_its_defaults(client) -> None:
    """The rendered HTML of each plugin's form, posted as is, stores the model's defaults."""
    from html.parser import HTMLParser

    from server.web.schema_forms import model_defaults

    world_with_tokens(client, teams=1)
    await _as(client)
    page = await client.get("/admin/contests/spring/plugins", headers=HTML)
    registry = client.app.state.services.plugins

    class Fields(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.values: dict[str, str] = {}
            self._select: str | None = None
            self._textarea: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            name = a.get("name") or ""
            if tag == "input" and "." in name:
                if a.get("type") != "checkbox" or "checked" in a:
                    self.values[name] = a.get("value") or ""
            elif tag == "select" and "." in name:
                self._select = name
            elif tag == "option" and self._select and "selected" in a:
                self.values[self._select] = a.get("value") or ""
            elif tag == "textarea" and "." in name:
                self._textarea = name
                self.values[name] = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "select":
                self._select = None
            if tag == "textarea":
                self._textarea = None

        def handle_data(self, data: str) -> None:
            if self._textarea:
                self.values[self._textarea] += data

    parser = Fields()
    parser.feed(page.text)
    for name in registry.names:
        schema = registry.settings_schema(name)
        fields = {k: v for k, v in parser.values.items() if k.startswith(f"{name}.")}
        response = await form_post(client, f"/admin/contests/spring/plugins/{name}",
                                   {"op": "enable", **fields},
                                   token_from="/admin/contests/spring/plugins")
        assert response.status_code == 303, (name, response.text[:300])
        stored = _contest(client, "spring").plugins[name]
        assert stored == (model_defaults(schema) if schema else {}), name


# -- contest problems: package upload, from the bank, editing ---------------------------------

async def test_package_upload_imports_and_adds_the_problem(client) -> None:
    world_with_tokens(client, teams=1)
    await _as(client)
    page = await client.get("/admin/contests/spring/problems", headers=HTML)
    assert '<label for="f-package">Problem package (.zip)' in page.text
    assert 'hx-encoding="multipart/form-data"' in page.text and "<progress" in page.text
    assert ">Upload package</button>" in page.text
    data = _zip(REFERENCE / "hello")
    response = await form_post(client, "/admin/contests/spring/problems/upload",
                                {"label": "H", "points": "1"},
                                files={"package": ("hello.zip", data, "application/zip")},
                                token_from="/admin/contests/spring/problems")
    assert response.status_code == 303, response.text[:3000]
    problem = _rows(client, Problem, Problem.slug == "hello")[0]
    assert problem.title == "Hello World!" and problem.memory_limit_mb == 512
    link = _rows(client, ContestProblem, ContestProblem.problem_id == problem.id)[0]
    assert link.label == "H"
    assert _rows(client, models.TestCase, models.TestCase.problem_id == problem.id)
    listing = await client.get("/admin/contests/spring/problems", headers=HTML)
    assert "Hello World!" in listing.text and "Imported hello" in listing.text


async def test_package_upload_over_htmx_redirects(client) -> None:
    world_with_tokens(client, teams=1)
    await _as(client)
    from tests.web import csrf_of

    token = await csrf_of(client, "/admin/contests/spring/problems")
    response = await client.post(
        "/admin/contests/spring/problems/upload", data={"label": "O"},
        files={"package": ("oddecho.zip", _zip(REFERENCE / "oddecho"), "application/zip")},
        headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 204, re.findall(r"field-error[^<]*<", response.text)
    assert response.headers["HX-Redirect"] == "/admin/contests/spring/problems"
    # an interactive package without its validator: the error is next to the file field
    response = await client.post(
        "/admin/contests/spring/problems/upload", data={"label": "G"},
        files={"package": ("guess.zip", _zip(REFERENCE / "guess"), "application/zip")},
        headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 400
    assert 'id="upload"' in response.text
    assert "validator" in _field_error(response.text, "package")
    assert len(_rows(client, Problem)) == 3


@pytest.mark.parametrize(("data", "label", "field", "status"), [
    (b"this is not a zip", "H", "package", 400),
    (None, "H", "package", 400),
    ("hello", "A", "label", 409),       # A is taken in the contest
    ("hello", "bad label", "label", 400),
])
async def test_bad_package_upload_stores_nothing(client, data, label, field, status) -> None:
    world_with_tokens(client, teams=1)
    await _as(client)
    files = None
    if data is not None:
        content = _zip(REFERENCE / data) if isinstance(data, str) else data
        files = {"package": ("p.zip", content, "application/zip")}
    response = await form_post(client, "/admin/contests/spring/problems/upload",
                               {"label": label}, files=files,
                               token_from="/admin/contests/spring/problems")
    assert response.status_code == status
    assert _field_error(response.text, field)
    assert _rows(client, Problem, Problem.slug == "hello") == []
    assert len(_rows(client, ContestProblem)) == 2


async def test_add_from_bank_and_edit_contest_problem(client) -> None:
    world_with_tokens(client, teams=1)
    app = InApp(client)
    app.create_problem(slug="extra", title="Extra problem")
    await _as(client)
    page = await client.get("/admin/contests/spring/problems", headers=HTML)
    assert "Add problem from the bank" in page.text and '<option value="extra"' in page.text
    taken = await form_post(client, "/admin/contests/spring/problems/add",
                            {"problem": "extra", "label": "A", "points": "1"},
                            token_from="/admin/contests/spring/problems")
    assert taken.status_code == 409
    assert _field_error(taken.text, "add-label")
    bad_colour = await form_post(client, "/admin/contests/spring/problems/add",
                                 {"problem": "extra", "label": "C", "color": "red"},
                                 token_from="/admin/contests/spring/problems")
    assert bad_colour.status_code == 400 and _field_error(bad_colour.text, "add-color")
    assert len(_rows(client, ContestProblem)) == 2
    ok = await form_post(client, "/admin/contests/spring/problems/add",
                         {"problem": "extra", "label": "C", "points": "3", "color": "#00aa00"},
                         token_from="/admin/contests/spring/problems")
    assert ok.status_code == 303
    edit = await form_post(client, "/admin/contests/spring/problems/C",
                           {"label": "X", "points": "5", "color": "", "ordinal": "0"},
                           token_from="/admin/contests/spring/problems")
    assert edit.status_code == 303
    link = _rows(client, ContestProblem, ContestProblem.label == "X")[0]
    assert (link.points, link.color, link.ordinal) == (5.0, None, 0)


async def test_remove_a_contest_problem_only_while_it_has_no_submissions(client) -> None:
    world = world_with_tokens(client, teams=1)
    app = InApp(client)
    app.create_problem(slug="extra", title="Extra problem")
    app.add_contest_problem(world.contest.id, "extra", label="C")
    solve_in_app(client, world, 0, "A", "AC", 10)
    await _as(client)
    page = await client.get("/admin/contests/spring/problems", headers=HTML)
    assert 'action="/admin/contests/spring/problems/C/remove"' in page.text
    refused = await form_post(client, "/admin/contests/spring/problems/A/remove", {},
                              token_from="/admin/contests/spring/problems")
    assert refused.status_code == 303
    page = await client.get("/admin/contests/spring/problems", headers=HTML)
    assert "problem A has 1 submission(s) in this contest and cannot be removed" in page.text
    assert {link.label for link in _rows(client, ContestProblem)} == {"A", "B", "C"}
    removed = await form_post(client, "/admin/contests/spring/problems/C/remove", {},
                              token_from="/admin/contests/spring/problems")
    assert removed.status_code == 303
    assert {link.label for link in _rows(client, ContestProblem)} == {"A", "B"}
    assert _rows(client, Problem, Problem.slug == "extra")  # still in the bank
    assert _rows(client, AuditEntry, AuditEntry.action == "contest.problem.remove")
    board = (await client.get("/api/v1/contests/spring/scoreboard")).json()
    assert [p["label"] for p in board["problems"]] == ["A", "B"]
    assert len(board["rows"][0]["cells"]) == 2
    missing = await form_post(client, "/admin/contests/spring/problems/Z/remove", {},
                              token_from="/admin/contests/spring/problems")
    assert missing.status_code == 303
    page = await client.get("/admin/contests/spring/problems", headers=HTML)
    assert "has no problem &#39;Z&#39;" in page.text or "has no problem 'Z'" in page.text


# -- the problem bank -------------------------------------------------------------------------

async def test_new_problem_edit_and_test_cases(client) -> None:
    await _as(client)
    page = await client.get("/admin/problems", headers=HTML)
    assert page.status_code == 200 and "New problem" in page.text
    assert 'hx-post="/admin/problems/preview"' in page.text and ">Preview</button>" in page.text
    form = {"slug": "sum", "title": "Sum", "statement": "Add *two* numbers.",
            "statement_format": "markdown", "time_limit_ms": "2000", "memory_limit_mb": "256",
            "output_limit_kb": "1024"}
    bad = await form_post(client, "/admin/problems", {**form, "time_limit_ms": "0"},
                          token_from="/admin/problems")
    assert bad.status_code == 400 and _field_error(bad.text, "time_limit_ms")
    assert "Add *two* numbers." in bad.text
    assert _rows(client, Problem) == []
    ok = await form_post(client, "/admin/problems", form, token_from="/admin/problems")
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/problems/sum"
    dup = await form_post(client, "/admin/problems", form, token_from="/admin/problems")
    assert dup.status_code == 409 and _field_error(dup.text, "slug")
    edit = await form_post(client, "/admin/problems/sum",
                           {**form, "title": "Sum of two", "memory_limit_mb": "99999"},
                           token_from="/admin/problems/sum")
    assert edit.status_code == 400 and _field_error(edit.text, "memory_limit_mb")
    assert _rows(client, Problem)[0].title == "Sum"
    edit = await form_post(client, "/admin/problems/sum", {**form, "title": "Sum of two"},
                           token_from="/admin/problems/sum")
    assert edit.status_code == 303
    assert _rows(client, Problem)[0].title == "Sum of two"
    missing = await form_post(client, "/admin/problems/sum/tests", {"name": "1"},
                              files={"input": ("1.in", b"1 2\n", "text/plain")},
                              token_from="/admin/problems/sum")
    assert missing.status_code == 400 and _field_error(missing.text, "answer")
    added = await form_post(client, "/admin/problems/sum/tests",
                            {"name": "1", "is_sample": "on", "group": "sample"},
                            files={"input": ("1.in", b"1 2\n", "text/plain"),
                                   "answer": ("1.ans", b"3\n", "text/plain")},
                            token_from="/admin/problems/sum")
    assert added.status_code == 303
    cases = _rows(client, models.TestCase)
    assert [(c.name, c.is_sample, c.input_size) for c in cases] == [("1", True, 4)]
    page = await client.get("/admin/problems/sum", headers=HTML)
    assert "<td>1</td>" in page.text and "sample" in page.text


async def test_preview_renders_and_sanitizes(client) -> None:
    await _as(client, "jury")
    from tests.web import csrf_of

    token = await csrf_of(client, "/admin/problems")
    response = await client.post(
        "/admin/problems/preview",
        data={"statement": "# Title\n\n<script>alert(1)</script>\n\n$x^2$",
              "statement_format": "markdown"},
        headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert "<h1>Title</h1>" in response.text
    assert "<script" not in response.text
    assert "math" in response.text
    html = await client.post("/admin/problems/preview",
                             data={"statement": "<img src=x onerror=alert(1)>",
                                   "statement_format": "html", "_csrf_token": token},
                             headers=HTML)
    assert html.status_code == 200 and "onerror" not in html.text


# -- languages --------------------------------------------------------------------------------

async def test_languages_enable_and_disable(client) -> None:
    world_with_tokens(client, teams=1)  # python3 enabled
    await _as(client)
    page = await client.get("/admin/contests/spring/languages", headers=HTML)
    assert '<label for="lang-python3">Python 3</label>' in page.text
    assert re.search(r'value="python3" checked', page.text)
    assert ">Save languages</button>" in page.text
    response = await form_post(client, "/admin/contests/spring/languages",
                               {"languages": ["c", "cpp"]},
                               token_from="/admin/contests/spring/languages")
    assert response.status_code == 303
    enabled = {row.language for row in _rows(client, ContestLanguage)}
    assert enabled == {"c", "cpp"}
    bad = await form_post(client, "/admin/contests/spring/languages",
                          {"languages": ["c", "cobol"]},
                          token_from="/admin/contests/spring/languages")
    assert bad.status_code == 400 and "cobol" in _field_error(bad.text, "languages")
    assert {row.language for row in _rows(client, ContestLanguage)} == {"c", "cpp"}
    none = await form_post(client, "/admin/contests/spring/languages", {},
                           token_from="/admin/contests/spring/languages")
    assert none.status_code == 303 and _rows(client, ContestLanguage) == []


# -- scoreboard, freeze and reveal ------------------------------------------------------------

async def test_freeze_unfreeze_from_the_scoreboard_page(client) -> None:
    world_with_tokens(client, teams=2)
    await _as(client)
    page = await client.get("/admin/contests/spring/scoreboard", headers=HTML)
    assert page.status_code == 200
    for button in ("Freeze now", "Unfreeze", "Start reveal", "Reveal next"):
        assert f">{button}</button>" in page.text
    assert 'href="/contests/spring/reveal"' in page.text
    frozen = await form_post(client, "/admin/contests/spring/freeze", {},
                             token_from="/admin/contests/spring/scoreboard")
    assert frozen.status_code == 303
    assert _contest(client, "spring").is_frozen_at(utcnow())
    again = await form_post(client, "/admin/contests/spring/freeze", {},
                            token_from="/admin/contests/spring/scoreboard")
    assert again.status_code == 400 and "already frozen" in again.text
    early = await form_post(client, "/admin/contests/spring/reveal/start", {},
                            token_from="/admin/contests/spring/scoreboard")
    assert early.status_code == 400 and "after the contest has ended" in early.text
    thawed = await form_post(client, "/admin/contests/spring/unfreeze", {},
                             token_from="/admin/contests/spring/scoreboard")
    assert thawed.status_code == 303
    assert not _contest(client, "spring").is_frozen_at(utcnow())


async def test_reveal_steps_through_an_ended_frozen_contest(client) -> None:
    world = frozen_world(client)
    app = InApp(client)
    app.update_contest(world.contest.id, end_at=utcnow() - timedelta(minutes=1))
    await _as(client)
    start = await form_post(client, "/admin/contests/frozen/reveal/start", {},
                            token_from="/admin/contests/frozen/scoreboard")
    assert start.status_code == 303
    page = await client.get("/admin/contests/frozen/scoreboard", headers=HTML)
    assert "Reveal in progress: 0 of 2" in page.text
    for _step in range(2):
        step = await form_post(client, "/admin/contests/frozen/reveal/next", {},
                               token_from="/admin/contests/frozen/scoreboard")
        assert step.status_code == 303
    assert not _contest(client, "frozen").is_frozen_at(utcnow())


async def test_start_now_and_end_now(client) -> None:
    app = InApp(client)
    world_with_tokens(client, teams=1)
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    app.create_contest(slug="later", title="Later", start_at=start,
                       end_at=start + timedelta(hours=2), freeze_at=start + timedelta(minutes=90))
    await _as(client)
    page = "/admin/contests/later/scoreboard"
    early_end = await form_post(client, "/admin/contests/later/end-now", {}, token_from=page)
    assert early_end.status_code == 400 and "only a running contest" in early_end.text
    started = await form_post(client, "/admin/contests/later/start-now", {}, token_from=page)
    assert started.status_code == 303
    contest = _contest(client, "later")
    assert contest.state_at(utcnow()).value == "running"
    assert contest.end_at == start + timedelta(hours=2)  # the end stays
    again = await form_post(client, "/admin/contests/later/start-now", {}, token_from=page)
    assert again.status_code == 400 and "already started" in again.text
    ended = await form_post(client, "/admin/contests/later/end-now", {}, token_from=page)
    assert ended.status_code == 303
    contest = _contest(client, "later")
    assert contest.state_at(utcnow()).value == "ended"
    assert contest.freeze_at is None  # a freeze planned after the new end is dropped
    # A board frozen before the end stays frozen, ready for the reveal.
    frozen = frozen_world(client)
    await form_post(client, f"/admin/contests/{frozen.contest.slug}/end-now", {},
                    token_from=page)
    contest = _contest(client, frozen.contest.slug)
    assert contest.state_at(utcnow()).value == "ended" and contest.is_frozen_at(utcnow())


# -- who may do what --------------------------------------------------------------------------

PAGES = ["/admin/", "/admin/contests", "/admin/contests/new", "/admin/contests/spring",
         "/admin/contests/spring/plugins", "/admin/contests/spring/problems",
         "/admin/contests/spring/languages", "/admin/contests/spring/scoreboard",
         "/admin/contests/spring/export/event-feed.ndjson",
         "/admin/contests/spring/export/scoreboard.json", "/admin/problems",
         "/admin/problems/spring-a"]
MANAGER_POSTS = ["/admin/contests/new", "/admin/contests/spring",
                 "/admin/contests/spring/scoring", "/admin/contests/spring/plugins/medals",
                 "/admin/contests/spring/plugins/medals/disable",
                 "/admin/contests/spring/problems/add", "/admin/contests/spring/problems/upload",
                 "/admin/contests/spring/problems/A", "/admin/contests/spring/languages",
                 "/admin/contests/spring/freeze", "/admin/contests/spring/unfreeze",
                 "/admin/contests/spring/start-now", "/admin/contests/spring/end-now",
                 "/admin/contests/spring/reveal/start", "/admin/contests/spring/reveal/next",
                 "/admin/problems", "/admin/problems/spring-a",
                 "/admin/problems/spring-a/tests"]


async def test_anonymous_gets_401_and_contestants_403(client) -> None:
    world = world_with_tokens(client, teams=1)
    for path in PAGES:
        response = await client.get(path, headers=HTML)
        assert response.status_code == 401, path
    await log_in(client, world.users[0].username, "user-password")
    for path in PAGES:
        response = await client.get(path, headers=HTML)
        assert response.status_code == 403, path
    for path in [*MANAGER_POSTS, "/admin/problems/preview"]:
        response = await form_post(client, path, {}, token_from="/login")
        assert response.status_code == 403, path


async def test_jury_sees_the_pages_but_cannot_change_the_setup(client) -> None:
    world_with_tokens(client, teams=1)
    await _as(client, "jury")
    for path in PAGES:
        response = await client.get(path, headers=HTML)
        assert response.status_code == (403 if path == "/admin/contests/new" else 200), path
        if path == "/admin/contests/spring/scoreboard":
            assert ">Freeze now</button>" not in response.text
    for path in MANAGER_POSTS:
        response = await form_post(client, path, {"title": "x", "languages": "c"},
                                   token_from="/admin/contests")
        assert response.status_code == 403, path
    assert _contest(client, "spring").title == "Contest spring"
    assert not _contest(client, "spring").plugins
    assert _contest(client, "spring").freeze_at is None
