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
