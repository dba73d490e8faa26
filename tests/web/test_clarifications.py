"""Clarifications and announcements: asking, private and public answers, broadcasts, privacy."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlmodel import select

from server.models import AuditEntry, Clarification
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    auth,
    fast_passwords,
    form_post,
    log_in,
    world_with_tokens,
)

PAGE = "/contests/spring/clarifications"
JURY = "/admin/contests/spring/clarifications"


def _rows(client: AsyncTestClient[Any], model: Any) -> list[Any]:
    app = InApp(client)

    async def read(services: Any) -> list[Any]:
        async with services.db.session() as session:
            return list(await session.exec(select(model).order_by(model.id)))

    return app(read, app.services)


async def _page(client: AsyncTestClient[Any], token: str, path: str = PAGE) -> str:
    page = await client.get(path, headers={**HTML, **auth(token)})
    assert page.status_code == 200, page.text[:500]
    return page.text


async def test_round_trip_with_private_and_public_answers(client) -> None:
    world = world_with_tokens(client, teams=3)
    app = InApp(client)
    app.create_user("judge", password="judge-password", role="jury")
    # Team 0 asks about A, team 1 asks a general question (through the form).
    await log_in(client, "spring-user0", "user-password")
    asked = await form_post(client, PAGE, {"problem": "A", "body": "Is n < 10^9 strict?"},
                            token_from=PAGE)
    assert asked.status_code == 303 and asked.headers["location"] == PAGE
    mine = await client.get(PAGE, headers=HTML)
    assert "Your question was sent to the jury." in mine.text
    assert "Is n &lt; 10^9 strict?" in mine.text and "waiting for an answer" in mine.text
    await client.post("/logout", headers=HTML)
    await log_in(client, "spring-user1", "user-password")
    assert (await form_post(client, PAGE, {"problem": "", "body": "May we use Rust nightly?"},
                            token_from=PAGE)).status_code == 303
    first, second = _rows(client, Clarification)
    assert (first.from_team_id, first.category) == (world.teams[0].id, "problem")
    assert (second.from_team_id, second.problem_id, second.category) == (
        world.teams[1].id, None, "general")

    # Privacy: each team sees its own question only.
    other = await _page(client, world.tokens["team1"])
    assert "Rust nightly" in other and "strict?" not in other
    assert "strict?" not in await _page(client, world.tokens["team2"])

    # The jury's page lists both, unanswered, with the team names.
    await client.post("/logout", headers=HTML)
    await log_in(client, "judge", "judge-password")
    jury = await client.get(JURY, headers=HTML)
    assert jury.status_code == 200
    assert jury.text.count("unanswered</span>") == 2
    assert "spring team 0" in jury.text and "spring team 1" in jury.text
    # A private answer to team 0, an answer to everyone for team 1's question.
    private = await form_post(client, f"{JURY}/{first.id}/answer",
                              {"body": "Yes, strict.", "to": "team"}, token_from=JURY)
    assert private.status_code == 303
    public = await form_post(client, f"{JURY}/{second.id}/answer",
                             {"body": "No nightly, only stable.", "to": "all"}, token_from=JURY)
    assert public.status_code == 303
    jury = await client.get(JURY, headers=HTML)
    assert "unanswered</span>" not in jury.text

    team0 = await _page(client, world.tokens["team0"])
    assert "Yes, strict." in team0
    assert "No nightly, only stable." in team0 and "May we use Rust nightly?" in team0
    assert "spring team 1" not in team0  # who asked stays private
    team2 = await _page(client, world.tokens["team2"])
    assert "Yes, strict." not in team2 and "strict?" not in team2
    assert "No nightly, only stable." in team2

    actions_logged = [e.action for e in _rows(client, AuditEntry)
                      if e.action.startswith("clarification.")]
    assert actions_logged == ["clarification.ask", "clarification.ask",
                              "clarification.answer", "clarification.answer"]


async def test_broadcast_and_announcement_reach_everyone(client) -> None:
    world = world_with_tokens(client)
    InApp(client).create_user("judge", password="judge-password", role="jury")
    await log_in(client, "judge", "judge-password")
    sent = await form_post(client, f"{JURY}/broadcast",
                           {"problem": "B", "body": "Sample 2 is fixed."}, token_from=JURY)
    assert sent.status_code == 303
    announced = await form_post(client, f"{JURY}/announce",
                                {"title": "Lunch at noon", "body": "In the hall."},
                                token_from=JURY)
    assert announced.status_code == 303
    for token in (world.tokens["team0"], world.tokens["team1"]):
        page = await _page(client, token)
        assert "Sample 2 is fixed." in page and "to everyone" in page
        assert "Lunch at noon" in page
        badge = await client.get(f"{PAGE}/unread", headers={**HTML, **auth(token)})
        ids = re.search(r'data-ids="([^"]*)"', badge.text)
        assert ids is not None and len(ids.group(1).split(",")) == 2
    home = await client.get("/contests/spring", headers=HTML)
    assert "Lunch at noon" in home.text and "In the hall." in home.text
    # Errors are shown next to the field of the right form.
    empty = await form_post(client, f"{JURY}/announce", {"title": " "}, token_from=JURY)
    assert empty.status_code == 400
    assert "give the announcement a title" in empty.text


async def test_unread_badge_lists_only_what_the_team_may_read(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    judge = app.create_user("judge", password="judge-password", role="jury")
    question = app.ask_clarification(world.contest.id, team_id=world.teams[0].id,
                                     user=world.users[0], body="Private?")
    answer = app.answer_clarification(question.id, body="Private answer.", actor=judge)
    to_one = app.broadcast_clarification(world.contest.id, body="Only for team 0.",
                                         actor=judge, to_team_id=world.teams[0].id)
    badge0 = await client.get(f"{PAGE}/unread", headers={**HTML, **auth(world.tokens["team0"])})
    badge1 = await client.get(f"{PAGE}/unread", headers={**HTML, **auth(world.tokens["team1"])})
    assert f'data-ids="c{answer.id},c{to_one.id}"' in badge0.text
    assert 'data-ids=""' in badge1.text
    assert "Only for team 0." not in await _page(client, world.tokens["team1"])
    assert "Only for team 0." in await _page(client, world.tokens["team0"])


async def test_access_and_validation(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    for path in (PAGE, JURY):
        assert (await client.get(path, headers=HTML)).status_code == 401
    contestant = await client.get(JURY, headers={**HTML, **auth(world.tokens["team0"])})
    assert contestant.status_code == 403
    # Another contest's question cannot be answered through this contest's URL.
    judge = app.create_user("judge", password="judge-password", role="jury")
    question = app.ask_clarification(world.contest.id, team_id=world.teams[0].id,
                                     user=world.users[0], body="Hm?")
    await log_in(client, "judge", "judge-password")
    from datetime import timedelta

    from server.models import utcnow

    start = utcnow()
    app.create_contest(slug="other", title="Other", start_at=start,
                       end_at=start + timedelta(hours=1))
    wrong = await form_post(client, f"/admin/contests/other/clarifications/{question.id}/answer",
                            {"body": "x"}, token_from=JURY)
    assert wrong.status_code == 404
    await client.post("/logout", headers=HTML)
    # An empty question stays on the form with its error; a user without a team cannot ask.
    await log_in(client, "spring-user0", "user-password")
    empty = await form_post(client, PAGE, {"problem": "A", "body": "  "}, token_from=PAGE)
    assert empty.status_code == 400
    assert 'id="body-error"' in empty.text
    await client.post("/logout", headers=HTML)
    app.create_user("loner", password="correct horse")
    await log_in(client, "loner", "correct horse")
    page = await client.get(PAGE, headers=HTML)
    assert page.status_code == 200 and "Only teams ask questions." in page.text
    refused = await form_post(client, PAGE, {"body": "Let me in"}, token_from=PAGE)
    assert refused.status_code == 403
    assert len(_rows(client, Clarification)) == 1
    del judge


async def test_the_jury_page_hears_of_new_questions(client) -> None:
    world_with_tokens(client, teams=1)
    app = InApp(client)
    app.create_user("judge", password="judge-password", role="jury")
    await log_in(client, "judge", "judge-password")
    jury = await client.get(JURY, headers=HTML)
    assert 'hx-get="/admin/contests/spring/clarifications/new?after=0"' in jury.text
    assert 'hx-trigger="every 10s"' in jury.text
    quiet = await client.get(f"{JURY}/new?after=0", headers=HTML)
    assert quiet.status_code == 200 and quiet.text == ""
    client.cookies.clear()
    await log_in(client, "spring-user0", "user-password")
    await form_post(client, PAGE, {"problem": "", "body": "Is the input one line?"},
                    token_from=PAGE)
    assert (await client.get(f"{JURY}/new?after=0", headers=HTML)).status_code == 403
    client.cookies.clear()
    await log_in(client, "judge", "judge-password")
    news = await client.get(f"{JURY}/new?after=0", headers=HTML)
    assert "1 new question" in news.text and 'href="/admin/contests/spring/clarifications"' in news.text
    (question,) = _rows(client, Clarification)
    seen = await client.get(f"{JURY}/new?after={question.id}", headers=HTML)
    assert seen.text == ""  # nothing newer than what the page shows
    page = await client.get(JURY, headers=HTML)
    assert f"new?after={question.id}" in page.text
