"""Contestant pages: problems, statements, submitting, the team's submissions (live), details."""

from __future__ import annotations

import queue
import re
from datetime import timedelta
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient
from sqlmodel import select

from server.actions.judging import add_test_case, blob_store
from server.models import Problem, Submission, SubmissionFile, utcnow
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    auth,
    fast_passwords,
    form_post,
    frozen_world,
    log_in,
    solve_in_app,
    world_with_tokens,
)

SUBMIT = "/contests/spring/submit"
WS = "/contests/spring/submissions/ws"


@pytest.fixture
def settings(make_settings: Any, db_url: str) -> Any:
    """A low submission rate limit, so that the test reaches it quickly."""
    return make_settings(database_url=db_url, submission_rate_limit=3)


def _submissions(client: AsyncTestClient[Any]) -> list[tuple[Submission, list[SubmissionFile]]]:
    app = InApp(client)

    async def read(services: Any) -> list[tuple[Submission, list[SubmissionFile]]]:
        async with services.db.session() as session:
            subs = list(await session.exec(select(Submission).order_by(Submission.id)))
            return [(s, list(await session.exec(select(SubmissionFile).where(
                SubmissionFile.submission_id == s.id)))) for s in subs]

    return app(read, app.services)


async def _post_source(client: AsyncTestClient[Any], text: str = "print(1)\n", **extra: Any
                       ) -> Any:
    data = {"problem": "A", "language": "python3", "source": text, **extra}
    return await form_post(client, SUBMIT, data, token_from=SUBMIT)


# ------------------------------------------------------------------------ access


async def test_anonymous_gets_401_on_team_pages(client) -> None:
    world_with_tokens(client)
    for path in ("/contests/spring/submit", "/contests/spring/submissions",
                 "/contests/spring/submissions/1", "/contests/spring/clarifications",
                 "/contests/spring/clarifications/unread"):
        page = await client.get(path, headers=HTML)
        assert page.status_code == 401, path
        assert "/login?next=" in page.text, path
    # Problems of a public running contest are public, like its scoreboard.
    assert (await client.get("/contests/spring/problems", headers=HTML)).status_code == 200


async def test_a_user_without_a_team_is_told_how_to_get_one(client) -> None:
    world_with_tokens(client)
    InApp(client).create_user("loner", password="correct horse")
    await log_in(client, "loner", "correct horse")
    for path in ("/contests/spring/submit", "/contests/spring/submissions"):
        page = await client.get(path, headers=HTML)
        assert page.status_code == 403, path
        assert "You are not in a team" in page.text
        assert 'href="/contests/spring/team"' in page.text
    response = await form_post(client, SUBMIT, {"problem": "A", "language": "python3",
                                                "source": "print(1)"}, token_from="/login")
    assert response.status_code == 403
    assert _submissions(client) == []


async def test_another_teams_submission_is_404_and_staff_see_it(client) -> None:
    world = world_with_tokens(client)
    sub = solve_in_app(client, world, 0, "A", "WA", 5)
    own = await client.get(f"/contests/spring/submissions/{sub.id}",
                           headers={**HTML, **auth(world.tokens["team0"])})
    assert own.status_code == 200
    assert "print(1)" in own.text and 'data-verdict="WA"' in own.text
    other = await client.get(f"/contests/spring/submissions/{sub.id}",
                             headers={**HTML, **auth(world.tokens["team1"])})
    assert other.status_code == 404
    assert "print(1)" not in other.text
    missing = await client.get("/contests/spring/submissions/999999",
                               headers={**HTML, **auth(world.tokens["team1"])})
    assert missing.status_code == 404
    assert "does not exist" in other.text and "does not exist" in missing.text  # same answer
    staff = await client.get(f"/contests/spring/submissions/{sub.id}",
                             headers={**HTML, **auth(world.tokens["admin"])})
    assert staff.status_code == 200 and "spring team 0" in staff.text
    # The list shows only the team's own rows.
    listing = await client.get("/contests/spring/submissions",
                               headers={**HTML, **auth(world.tokens["team1"])})
    assert f'id="sub-{sub.id}"' not in listing.text
    assert "has not submitted anything yet" in listing.text


# ------------------------------------------------------------------------ problems


async def test_problems_show_marks_and_freeze_aware_counts(client) -> None:
    frozen = frozen_world(client)
    world = frozen.world
    # Team 0 solved A before the freeze, team 1 after it; team 0 solved B after it.
    public = await client.get("/contests/frozen/problems", headers=HTML)
    assert public.status_code == 200
    counts = re.findall(r'class="num solved-count"[^>]*>([^<]*)<', public.text)
    assert counts == ["1 team", "0 teams"]
    assert "The scoreboard is frozen" in public.text
    staff = await client.get("/contests/frozen/problems",
                             headers={**HTML, **auth(world.tokens["admin"])})
    assert re.findall(r'class="num solved-count"[^>]*>([^<]*)<', staff.text) == [
        "2 teams", "1 team"]
    mine = await client.get("/contests/frozen/problems",
                            headers={**HTML, **auth(world.tokens["team1"])})
    assert re.findall(r'class="num solved-count"[^>]*>([^<]*)<', mine.text) == [
        "1 team", "0 teams"]  # the team's own result does not leak into the public count
    assert mine.text.count("mark-solved") == 1  # but it sees its own A solved
    assert '<tr class="solved">' in mine.text


async def test_problems_are_hidden_before_the_start(client) -> None:
    app = InApp(client)
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)
    contest = app.create_contest(slug="later", title="Later", start_at=start,
                                 end_at=start + timedelta(hours=5))
    app.create_problem(slug="later-a", title="Secret Problem", statement="Top secret")
    app.add_contest_problem(contest.id, "later-a", label="A")
    page = await client.get("/contests/later/problems", headers=HTML)
    assert page.status_code == 200
    assert "Secret Problem" not in page.text
    assert "The problems appear when the contest starts." in page.text
    assert "data-countdown=" in page.text and "Starts in" in page.text
    assert (await client.get("/contests/later/problems/A", headers=HTML)).status_code == 404
    jury = app.create_user("judge", password="correct horse", role="jury")
    token = app.create_api_token(jury.id)
    staff = await client.get("/contests/later/problems/A", headers={**HTML, **auth(token)})
    assert staff.status_code == 200 and "Top secret" in staff.text


async def test_statement_is_sanitized_with_math_samples_and_pdf(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)

    async def edit(services: Any) -> None:
        pdf = blob_store(services).put(b"%PDF-1.4 fake")
        async with services.db.session() as session:
            problem = (await session.exec(select(Problem).where(
                Problem.slug == "spring-a"))).one()
            problem.statement = ("Compute $x^2$.\n\n<script>alert('x')</script>\n\n"
                                 "<img src=x onerror=alert(1)>")
            problem.time_limit_ms = 2500
            problem.statement_pdf_hash = pdf
            session.add(problem)
            await session.commit()

    app(edit, app.services)
    app(add_test_case, app.services, "spring-a", name="1", input=b"3 4\n", answer=b"7\n",
        is_sample=True)
    app(add_test_case, app.services, "spring-a", name="secret", input=b"HIDDEN-INPUT\n",
        answer=b"x\n")
    page = await client.get("/contests/spring/problems/A", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "<script>alert" not in text and "onerror" not in text
    assert 'class="math inline"' in text and "katex.min.js" in text
    assert "2.5 s" in text and "256 MiB" in text
    assert '<pre id="sample-1-in">3 4\n</pre>' in text
    assert '<pre id="sample-1-out">7\n</pre>' in text
    assert 'data-copy-target="sample-1-in"' in text
    assert "HIDDEN-INPUT" not in text  # only samples
    assert 'href="/contests/spring/problems/A/statement.pdf"' in text
    pdf = await client.get("/contests/spring/problems/A/statement.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == b"%PDF-1.4 fake"
    assert (await client.get("/contests/spring/problems/B/statement.pdf")).status_code == 404
    assert (await client.get("/contests/spring/problems/Z", headers=HTML)).status_code == 404
    del world


# ------------------------------------------------------------------------ submitting


async def test_submit_form_and_file_upload_store_and_queue(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    await log_in(client, "spring-user0", "user-password")
    form = await client.get(SUBMIT, headers=HTML)
    assert form.status_code == 200
    for label in ('>Problem</label>', '>Language</label>', '>Source code', '>Or upload a file<'):
        assert label in form.text
    assert 'name="source"' in form.text and 'type="file"' in form.text
    assert "256 KiB" in form.text and "codemirror.js" in form.text
    waiting = app.waiting()
    response = await _post_source(client, "print(int(input()) * 2)\r\n")
    assert response.status_code == 303, response.text[:800]
    (sub, files), = _submissions(client)
    assert response.headers["location"] == f"/contests/spring/submissions/{sub.id}"
    assert (sub.team_id, sub.language, sub.origin) == (world.teams[0].id, "python3", "web")
    assert [(f.filename, f.content) for f in files] == [("main.py", b"print(int(input()) * 2)\n")]
    assert app.waiting() == waiting + 1
    detail = await client.get(response.headers["location"], headers=HTML)
    assert "is queued for judging" in detail.text  # the flash
    assert 'data-verdict="pending"' in detail.text and "spinner" in detail.text
    # The form remembers the team's last language.
    again = await client.get(SUBMIT, headers=HTML)
    assert '<option value="python3" data-mode="python" selected>' in again.text
    # A file wins over the textarea; its name is kept.
    token_page = SUBMIT
    from tests.web import csrf_of

    token = await csrf_of(client, token_page)
    upload = await client.post(SUBMIT, data={"problem": "B", "language": "python3", "source": "",
                                             "_csrf_token": token},
                               files={"file": ("solve.py", b"print(42)\n", "text/x-python")},
                               headers=HTML, follow_redirects=False)
    assert upload.status_code == 303, upload.text[:800]
    _, (second, second_files) = _submissions(client)
    assert [(f.filename, f.content) for f in second_files] == [("solve.py", b"print(42)\n")]
    assert app.waiting() == waiting + 2
    del second


async def test_submit_errors_keep_the_form(client) -> None:
    world_with_tokens(client)
    await log_in(client, "spring-user0", "user-password")
    empty = await _post_source(client, "   ")
    assert empty.status_code == 400
    assert "Paste your code or choose a file." in empty.text
    unknown = await _post_source(client, "print(1)", problem="Z")
    assert unknown.status_code == 404 and 'id="problem-error"' in unknown.text
    lang = await _post_source(client, "print(1)", language="cobol")
    assert lang.status_code == 400 and 'id="language-error"' in lang.text
    assert "print(1)</textarea>" in lang.text  # the typed code is kept
    assert _submissions(client) == []


async def test_too_large_source_is_413_next_to_the_field(client) -> None:
    world_with_tokens(client)
    await log_in(client, "spring-user0", "user-password")
    big = "#" * (256 * 1024 + 10)
    response = await _post_source(client, big)
    assert response.status_code == 413
    assert re.search(r'<p class="field-error" id="source-error">The source is too large',
                     response.text)
    assert _submissions(client) == []


async def test_rate_limit_is_429(client) -> None:
    world_with_tokens(client)
    await log_in(client, "spring-user0", "user-password")
    for _ in range(3):
        assert (await _post_source(client)).status_code == 303
    response = await _post_source(client)
    assert response.status_code == 429
    assert "Too many submissions" in response.text
    assert len(_submissions(client)) == 3


async def test_submitting_outside_the_contest_time_is_refused(client) -> None:
    app = InApp(client)
    start = utcnow().replace(microsecond=0) - timedelta(hours=6)
    contest = app.create_contest(slug="done", title="Done", start_at=start,
                                 end_at=start + timedelta(hours=5))
    app.create_problem(slug="done-a", title="Old")
    app.add_contest_problem(contest.id, "done-a", label="A")
    app.enable_language(contest.id, "python3")
    user = app.create_user("late", password="correct horse")
    app.create_team(contest.id, name="Late team", member_ids=[user.id])
    await log_in(client, "late", "correct horse")
    page = await client.get("/contests/done/submit", headers=HTML)
    assert "The contest is over: submissions are closed." in page.text
    response = await form_post(client, "/contests/done/submit",
                               {"problem": "A", "language": "python3", "source": "print(1)"},
                               token_from="/contests/done/submit")
    assert response.status_code == 403
    assert "The contest is over" in response.text
    assert _submissions(client) == []


# ------------------------------------------------------------------------ live verdicts


def _no_message(ws: Any, wait: float = 0.4) -> bool:
    try:
        ws.receive_text(timeout=wait)
    except queue.Empty:
        return True
    return False


async def test_verdicts_arrive_live_for_the_team_only(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    page = await client.get("/contests/spring/submissions",
                            headers={**HTML, **auth(world.tokens["team0"])})
    assert f'ws-connect="{WS}"' in page.text
    with await client.websocket_connect(WS, headers=auth(world.tokens["team0"])) as mine, \
            await client.websocket_connect(WS, headers=auth(world.tokens["team1"])) as theirs:
        sub = solve_in_app(client, world, 0, "A", "", 5)  # stored, not judged yet
        created = mine.receive_text(timeout=5)
        assert 'hx-swap-oob="afterbegin:#submission-rows"' in created
        assert f'id="sub-{sub.id}"' in created and 'data-verdict="pending"' in created
        app.record_verdict(sub.id, "AC", job_key=f"job-{sub.id}")
        judged = mine.receive_text(timeout=5)
        assert re.search(rf'<tr id="sub-{sub.id}"[^>]*hx-swap-oob="true"', judged)
        assert 'class="verdict verdict-ac" data-verdict="AC"' in judged
        assert _no_message(theirs)  # never another team's rows
        other = solve_in_app(client, world, 1, "B", "WA", 6)
        pending = theirs.receive_text(timeout=5)
        assert f'id="sub-{other.id}"' in pending
        assert 'data-verdict="WA"' in theirs.receive_text(timeout=5)
        assert _no_message(mine)


async def test_a_verdict_recorded_before_the_socket_connects_is_caught_up(client) -> None:
    """The page is rendered with a row pending; the verdict is recorded before the page's
    socket subscribes (it never passes through the socket's feed). On connect, the socket
    sends the judged row, and only for rows of its own team."""
    world = world_with_tokens(client)
    app = InApp(client)
    team0 = auth(world.tokens["team0"])
    sub = solve_in_app(client, world, 0, "A", "", 5)  # pending
    still = solve_in_app(client, world, 0, "B", "", 6)  # pending, stays so
    theirs = solve_in_app(client, world, 1, "A", "WA", 7)  # another team's, judged
    page = (await client.get("/contests/spring/submissions", headers={**HTML, **team0})).text
    url = re.search(r'ws-connect="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert url.startswith(WS + "?pending=")
    assert sorted(url.split("=", 1)[1].split(",")) == sorted([str(sub.id), str(still.id)])
    detail = (await client.get(f"/contests/spring/submissions/{sub.id}",
                               headers={**HTML, **team0})).text
    assert f'ws-connect="{WS}?pending={sub.id}"' in detail
    app.record_verdict(sub.id, "AC", job_key=f"job-{sub.id}")  # between render and connect
    asked = f"{url},{theirs.id},x,-3"  # another team's id and junk are ignored
    with await client.websocket_connect(asked, headers=team0) as ws:
        judged = ws.receive_text(timeout=5)
        assert re.search(rf'<tr id="sub-{sub.id}"[^>]*hx-swap-oob="true"', judged)
        assert 'data-verdict="AC"' in judged
        assert _no_message(ws)  # the pending one is not sent, nor the other team's
        app.record_verdict(still.id, "WA", job_key=f"job-{still.id}")  # after: the feed
        assert 'data-verdict="WA"' in ws.receive_text(timeout=5)
    judged_page = (await client.get("/contests/spring/submissions",
                                    headers={**HTML, **team0})).text
    assert f'ws-connect="{WS}"' in judged_page  # nothing pending, nothing to catch up


async def test_socket_checks_origin_and_login(client) -> None:
    world = world_with_tokens(client)
    with pytest.raises(WebSocketDisconnect) as foreign:
        with await client.websocket_connect(
                WS, headers={**auth(world.tokens["team0"]), "origin": "http://evil.example"}):
            pass
    assert foreign.value.code == 4403
    with pytest.raises(WebSocketDisconnect) as anonymous:
        with await client.websocket_connect(WS):
            pass
    assert anonymous.value.code == 4403
    # The server's own origin is fine.
    with await client.websocket_connect(
            WS, headers={**auth(world.tokens["team0"]), "origin": "http://testserver.local"}) as ws:
        assert _no_message(ws, 0.1)


# ------------------------------------------------------------------------ per-test results


async def _case_ids(services: Any, slug: str) -> dict[str, int]:
    from server.models import TestCase

    async with services.db.session() as session:
        problem = (await session.exec(select(Problem).where(Problem.slug == slug))).one()
        return {c.name: c.id for c in await session.exec(
            select(TestCase).where(TestCase.problem_id == problem.id))}


async def test_per_test_results_follow_the_contest_setting(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    app(add_test_case, app.services, "spring-a", name="sample-case", input=b"1\n",
        answer=b"1\n", is_sample=True)
    app(add_test_case, app.services, "spring-a", name="secret-case", input=b"2\n",
        answer=b"2\n")
    cases = app(_case_ids, app.services, "spring-a")
    sub = solve_in_app(client, world, 0, "A", "", 5)  # queued, then judged here with runs
    app.record_verdict(sub.id, "WA", job_key="per-test", runs=[
        {"test_case_id": cases["sample-case"], "verdict": "AC", "cpu_ms": 11},
        {"test_case_id": cases["secret-case"], "verdict": "WA", "cpu_ms": 12}])
    url = f"/contests/spring/submissions/{sub.id}"
    team = {**HTML, **auth(world.tokens["team0"])}
    seen = {}
    for mode in ("samples", "all", "none"):
        app.update_contest(world.contest.id, show_test_results=mode)
        page = (await client.get(url, headers=team)).text
        seen[mode] = ("sample-case" in page, "secret-case" in page)
    assert seen == {"samples": (True, False), "all": (True, True), "none": (False, False)}
    staff = (await client.get(url, headers={**HTML, **auth(world.tokens["admin"])})).text
    assert "sample-case" in staff and "secret-case" in staff  # the jury always sees all
    with pytest.raises(Exception, match="shown test results must be one of"):
        app.update_contest(world.contest.id, show_test_results="everything")
