"""Jury pages for judging: the submission queue, a submission, rejudging, judge hosts and the
queue's health, the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlmodel import col, select

from server.actions.judging import create_judge_host, judge_host_for_token
from server.models import Judging, Rejudging, Submission, utcnow
from server.web.admin import judging as judging_pages
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    fast_passwords,
    form_post,
    log_in,
    solve_in_app,
    world_with_tokens,
)

SUBS = "/admin/contests/spring/submissions"


def _world(client: AsyncTestClient[Any]) -> Any:
    world = world_with_tokens(client, teams=2)
    InApp(client).create_user("judy", password="jury-password", role="jury")
    return world


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


async def test_queue_lists_newest_first_with_filters_and_pages(
        client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(client)
    subs = [solve_in_app(client, world, 0, "A", "WA", 10),
            solve_in_app(client, world, 1, "B", "AC", 20),
            solve_in_app(client, world, 0, "A", "AC", 30),
            solve_in_app(client, world, 1, "A", "", 40)]  # still pending
    await log_in(client, "judy", "jury-password")
    page = await client.get(SUBS, headers=HTML)
    assert page.status_code == 200
    assert _ids(page.text) == [s.id for s in reversed(subs)]
    assert 'hx-trigger="every 5s"' in page.text  # the first page refreshes itself
    assert "/static/default/jury.js" in page.text
    assert "<kbd>j</kbd>" in page.text

    only_ac = await client.get(SUBS, params={"verdict": "AC"}, headers=HTML)
    assert _ids(only_ac.text) == [subs[2].id, subs[1].id]
    pending = await client.get(SUBS, params={"verdict": "pending"}, headers=HTML)
    assert _ids(pending.text) == [subs[3].id]
    problem_a_team_0 = await client.get(
        SUBS, params={"problem": "A", "team": str(world.teams[0].id)}, headers=HTML)
    assert _ids(problem_a_team_0.text) == [subs[2].id, subs[0].id]
    none = await client.get(SUBS, params={"language": "cpp"}, headers=HTML)
    assert _ids(none.text) == [] and "No submission matches." in none.text

    # An HTMX refresh gets the rows (and the pager, out of band), not the page.
    partial = await client.get(SUBS, params={"verdict": "AC"},
                               headers={**HTML, "HX-Request": "true"})
    assert partial.text.lstrip().startswith("<tbody id=\"sub-rows\"")
    assert "<html" not in partial.text and 'hx-swap-oob="true"' in partial.text
    assert _ids(partial.text) == [subs[2].id, subs[1].id]

    monkeypatch.setattr(judging_pages, "PER_PAGE", 3)
    first = await client.get(SUBS, headers=HTML)
    assert _ids(first.text) == [s.id for s in reversed(subs)][:3]
    assert "Page 1 of 2" in first.text and 'href="/admin/contests/spring/submissions?page=2"' in first.text
    second = await client.get(SUBS, params={"page": "2"}, headers=HTML)
    assert _ids(second.text) == [subs[0].id]
    assert 'hx-trigger="every 5s"' not in second.text  # older pages stay still
    beyond = await client.get(SUBS, params={"page": "9"}, headers=HTML)
    assert _ids(beyond.text) == [subs[0].id]  # clamped to the last page


async def test_submission_view_shows_source_and_judgings_to_jury_only(
        client: AsyncTestClient[Any]) -> None:
    world = _world(client)
    app = InApp(client)
    sub = app.submit(contest=world.contest.id, team_id=world.teams[0].id, problem="A",
                     language="python3", files={"main.py": b"x = 1 < 2\nprint(x)\n"},
                     user=world.users[0], trusted=True)
    app.record_verdict(sub.id, "WA", job_key="first", compile_output="warning: odd",
                       judge_host="h1")
    url = f"{SUBS}/{sub.id}"
    anonymous = await client.get(url, headers=HTML)
    assert anonymous.status_code == 401
    await log_in(client, "spring-user0", "user-password")
    assert (await client.get(url, headers=HTML)).status_code == 403
    client.cookies.clear()
    await log_in(client, "judy", "jury-password")
    page = await client.get(url, headers=HTML)
    assert page.status_code == 200
    assert "x = 1 &lt; 2" in page.text  # escaped source
    assert '<pre class="gutter" aria-hidden="true">1\n2\n</pre>' in page.text  # line numbers
    assert 'class="language-python" data-highlight' in page.text
    assert "main.py" in page.text and "warning: odd" in page.text
    assert 'class="verdict verdict-WA"' in page.text and "h1" in page.text
    assert 'name="submission_id" value="%d"' % sub.id in page.text  # the rejudge button
    missing = await client.get(f"{SUBS}/{sub.id + 1000}", headers=HTML)
    assert missing.status_code == 404


async def test_rejudge_from_the_page_queues_jobs_and_shows_progress(
        client: AsyncTestClient[Any]) -> None:
    world = _world(client)
    app = InApp(client)
    a1 = solve_in_app(client, world, 0, "A", "WA", 10)
    a2 = solve_in_app(client, world, 1, "A", "AC", 20)
    solve_in_app(client, world, 1, "B", "AC", 30)
    waiting = app.waiting()
    await log_in(client, "judy", "jury-password")
    page = await client.get("/admin/contests/spring/rejudge", headers=HTML)
    assert page.status_code == 200 and "No rejudging yet." in page.text

    unscoped = await form_post(client, "/admin/contests/spring/rejudge", {"reason": "oops"},
                               token_from="/admin/contests/spring/rejudge")
    assert unscoped.status_code == 400
    assert 'id="whole_contest-error"' in unscoped.text

    response = await form_post(client, "/admin/contests/spring/rejudge",
                               {"problem": "A", "reason": "new tests"},
                               token_from="/admin/contests/spring/rejudge")
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == "/admin/contests/spring/rejudge"
    assert app.waiting() == waiting + 2

    async def rejudgings(services: Any) -> list[Rejudging]:
        async with services.db.session() as session:
            return list(await session.exec(select(Rejudging)))

    [made] = app(rejudgings, app.services)
    assert made.submission_count == 2 and made.reason == "new tests"
    listing = await client.get("/admin/contests/spring/rejudge", headers=HTML)
    assert "Rejudging %d queued 2 submission(s)." % made.id in listing.text
    assert re.search(r'<progress max="2" value="0"', listing.text)
    assert f'hx-get="/admin/contests/spring/rejudge/{made.id}" hx-trigger="every 2s"' in listing.text

    from server import actions

    async def judge_one(services: Any) -> None:  # a judge claims a1's job and answers AC
        async with services.db.session() as session:
            judging = (await session.exec(select(Judging).where(
                Judging.rejudging_id == made.id, Judging.submission_id == a1.id))).one()
            judging.job_key = f"rj-{judging.id}"
            session.add(judging)
            await session.commit()
        await actions.record_verdict(services, a1.id, "AC", job_key=f"rj-{judging.id}")

    app(judge_one, app.services)
    progress = await client.get(f"/admin/contests/spring/rejudge/{made.id}",
                                headers={**HTML, "HX-Request": "true"})
    assert progress.status_code == 200
    assert re.search(r'<progress max="2" value="1"', progress.text)
    assert 'hx-trigger="every 2s"' in progress.text
    assert "WA-&gt;AC: 1" in progress.text

    # One submission, from the list's shortcut form (with a next page to come back to).
    single = await form_post(client, "/admin/contests/spring/rejudge",
                             {"submission_id": str(a2.id), "next": SUBS},
                             token_from=SUBS)
    assert single.status_code == 303 and single.headers["location"] == SUBS
    foreign = await form_post(client, "/admin/contests/spring/rejudge",
                              {"submission_id": "999999"}, token_from=SUBS)
    assert foreign.status_code == 404 and 'id="submission_id-error"' in foreign.text

    await log_in(client, "spring-user0", "user-password")
    denied = await form_post(client, "/admin/contests/spring/rejudge", {"problem": "A"},
                             token_from="/login")
    assert denied.status_code == 403


async def test_judges_page_counts_real_rows(client: AsyncTestClient[Any]) -> None:
    world = _world(client)
    app = InApp(client)
    host, token = app(create_judge_host, app.services, "h-alive")
    app(create_judge_host, app.services, "h-never")
    app(judge_host_for_token, app.services, token)  # it called in: seen now
    subs = [solve_in_app(client, world, 0, "A", "", m) for m in (1, 2, 3)]
    app.record_verdict(subs[0].id, "AC", job_key="j0", judge_host="h-alive")
    app.record_verdict(subs[1].id, "WA", job_key="j1", judge_host="h-alive")

    async def age(services: Any) -> None:  # the second judging finished 30 minutes ago
        async with services.db.session() as session:
            judging = (await session.exec(select(Judging).where(Judging.job_key == "j1"))).one()
            judging.finished_at = utcnow() - timedelta(minutes=30)
            session.add(judging)
            await session.commit()

    app(age, app.services)
    await log_in(client, "judy", "jury-password")
    page = await client.get("/admin/judges", headers=HTML)
    assert page.status_code == 200
    assert 'hx-trigger="every 5s"' in page.text
    row = re.search(r'<tr id="host-h-alive" class="alive">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["1", "2"]
    assert re.search(r'<tr id="host-h-never" class="silent">.*?never seen', page.text, re.S)
    assert re.search(r'id="q-pending">1<', page.text)  # subs[2] waits for its verdict
    assert re.search(r'id="q-throughput">1 / 2<', page.text)
    partial = await client.get("/admin/judges", headers={**HTML, "HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="judges-live"')


async def test_audit_log_filters(client: AsyncTestClient[Any],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(client)
    app = InApp(client)
    app.create_team(world.contest.id, name="late team", actor=world.admin)
    await log_in(client, "judy", "jury-password")
    page = await client.get("/admin/audit", headers=HTML)
    assert page.status_code == 200
    assert "team.create" in page.text and "user.create" in page.text
    teams = await client.get("/admin/audit", params={"action": "team."}, headers=HTML)
    actions = re.findall(r"<td><code>([^<]+)</code></td>", teams.text)
    assert actions and set(actions) == {"team.create"}
    by_admin = await client.get("/admin/audit", params={"actor": "admin-spring",
                                                        "action": "team"}, headers=HTML)
    assert re.findall(r"<td><code>([^<]+)</code></td>", by_admin.text) == ["team.create"]
    assert "late team" in by_admin.text
    by_type = await client.get("/admin/audit", params={"object_type": "user"}, headers=HTML)
    assert set(re.findall(r"<td><code>([^<]+)</code></td>", by_type.text)) == {"user.create"}
    in_contest = await client.get("/admin/audit", params={"contest": "spring",
                                                          "object_type": "user"}, headers=HTML)
    assert "No entry matches." in in_contest.text  # users are not contest entries
    nobody = await client.get("/admin/audit", params={"actor": "ghost"}, headers=HTML)
    assert "No user has this username." in nobody.text
    monkeypatch.setattr(judging_pages, "PER_PAGE", 2)
    paged = await client.get("/admin/audit", headers=HTML)
    assert len(re.findall(r"<td><code>", paged.text)) == 2 and "Page 1 of" in paged.text
    literal = await client.get("/admin/audit", params={"action": "team_"}, headers=HTML)
    assert "No entry matches." in literal.text  # '_' is not a wildcard


async def test_contestants_and_anonymous_are_kept_out(client: AsyncTestClient[Any]) -> None:
    _world(client)
    pages = [SUBS, f"{SUBS}/1", "/admin/contests/spring/rejudge", "/admin/judges",
             "/admin/audit"]
    for path in pages:
        assert (await client.get(path, headers=HTML)).status_code == 401, path
    await log_in(client, "spring-user0", "user-password")
    for path in pages:
        assert (await client.get(path, headers=HTML)).status_code == 403, path
