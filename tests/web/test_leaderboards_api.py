"""Leaderboards over the API: admin writes, public and private reads, ranks, errors."""

from __future__ import annotations

from server.actions import leaderboards as lb
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    InApp,
    auth,
    fast_passwords,
    solve_in_app,
    user_with_token,
    world_with_tokens,
)

URL = f"{API}/leaderboards"


async def test_admin_creates_scores_and_reads(client) -> None:
    _, admin = user_with_token(client, "root", role="admin")
    created = await client.post(URL, headers=auth(admin), json={
        "slug": "school", "title": "School", "max_entries": 4})
    assert created.status_code == 201, created.text
    board = created.json()
    assert (board["sort_order"], board["update_mode"], board["reset_period"]) == (
        "desc", "best", "never")
    posted = await client.post(f"{URL}/school/scores", headers=auth(admin), json={"scores": [
        {"player": "ann", "score": 10}, {"player": "bob", "score": 30},
        {"player": "cat", "score": 10}, {"player": "dan", "score": 20},
        {"player": "eve", "score": 1}]})
    assert posted.status_code == 200, posted.text
    assert [(e["player"], e["rank"]) if e else None for e in posted.json()["entries"]] == [
        ("ann", 3), ("bob", 1), ("cat", 3), ("dan", 2), None]

    ref = board["id"]  # by id as well as by slug
    top = await client.get(f"{URL}/{ref}/top", params={"limit": 3})
    assert "set-cookie" not in top.headers  # bearer tokens only: no session to load or clear
    assert [(e["player"], e["score"], e["rank"]) for e in top.json()] == [
        ("bob", 30.0, 1), ("dan", 20.0, 2), ("ann", 10.0, 3)]
    around = await client.get(f"{URL}/school/around/ann", params={"range": 1})
    assert [(e["player"], e["rank"]) for e in around.json()] == [
        ("dan", 2), ("ann", 3), ("cat", 3)]
    ranged = await client.get(f"{URL}/school/range", params={"start": 2, "end": 3})
    assert [e["player"] for e in ranged.json()] == ["dan", "ann"]
    player = await client.get(f"{URL}/school/player/cat")
    assert (player.json()["score"], player.json()["rank"]) == (10.0, 3)
    assert (await client.get(f"{URL}/school/count")).json() == {"count": 4}
    info = await client.get(f"{URL}/school")
    assert (info.json()["entries"], info.json()["max_entries"]) == (4, 4)
    assert [b["slug"] for b in (await client.get(URL)).json()] == ["school"]

    removed = await client.delete(f"{URL}/school/player/ann", headers=auth(admin))
    assert removed.status_code == 204, removed.text
    assert (await client.get(f"{URL}/school/player/ann")).status_code == 404
    reset = await client.post(f"{URL}/school/reset", headers=auth(admin))
    assert (reset.status_code, reset.json()) == (200, {"removed": 3})
    assert (await client.get(f"{URL}/school/top")).json() == []
    assert (await client.delete(f"{URL}/school", headers=auth(admin))).status_code == 204
    assert (await client.get(f"{URL}/school")).status_code == 404


async def test_batch_modes_over_the_api(client) -> None:
    _, admin = user_with_token(client, "root", role="admin")
    await client.post(URL, headers=auth(admin), json={
        "slug": "xp", "update_mode": "increment", "reset_period": "weekly"})
    for _ in range(2):
        await client.post(f"{URL}/xp/scores", headers=auth(admin),
                          json={"scores": [{"player": "ann", "score": 2.5}]})
    assert (await client.get(f"{URL}/xp/player/ann")).json()["score"] == 5.0
    replaced = await client.post(f"{URL}/xp/scores", headers=auth(admin), json={
        "scores": [{"player": "ann", "score": 1}], "mode": "replace"})
    assert replaced.json()["entries"][0]["score"] == 1.0


async def test_only_admins_write_and_private_boards_hide(client) -> None:
    _, admin = user_with_token(client, "root", role="admin")
    _, jury = user_with_token(client, "judge", role="jury")
    _, someone = user_with_token(client, "someone")
    await client.post(URL, headers=auth(admin), json={"slug": "open"})
    await client.post(URL, headers=auth(admin), json={"slug": "hidden", "public": False})
    await client.post(f"{URL}/hidden/scores", headers=auth(admin),
                      json={"scores": [{"player": "ann", "score": 1}]})
    writes = [("post", URL, {"slug": "new"}),
              ("post", f"{URL}/open/scores", {"scores": [{"player": "x", "score": 1}]}),
              ("post", f"{URL}/open/reset", None),
              ("delete", f"{URL}/open", None),
              ("delete", f"{URL}/open/player/x", None)]
    for method, url, body in writes:
        kwargs = {"json": body} if body is not None else {}
        assert (await getattr(client, method)(url, **kwargs)).status_code == 401, url
        for token in (someone, jury):
            response = await getattr(client, method)(url, headers=auth(token), **kwargs)
            assert response.status_code == 403, (url, response.text)
    reads = ["", "/top", "/around/ann", "/player/ann", "/range?start=1&end=2", "/count"]
    for suffix in reads:
        assert (await client.get(f"{URL}/hidden{suffix}")).status_code == 401, suffix
        assert (await client.get(f"{URL}/hidden{suffix}",
                                 headers=auth(someone))).status_code == 403, suffix
        assert (await client.get(f"{URL}/hidden{suffix}",
                                 headers=auth(jury))).status_code == 200, suffix
    assert [b["slug"] for b in (await client.get(URL)).json()] == ["open"]
    assert [b["slug"] for b in (await client.get(URL, headers=auth(jury))).json()] == [
        "open", "hidden"]


async def test_bad_input_and_unknown_names(client) -> None:
    _, admin = user_with_token(client, "root", role="admin")
    await client.post(URL, headers=auth(admin), json={"slug": "b"})
    bad_creates = [{"slug": "c", "sort_order": "up"}, {"slug": "c", "reset_period": "hourly"},
                   {"slug": "c", "update_mode": "max"}, {"slug": "c", "max_entries": 0},
                   {"slug": "12"}, {"slug": "c", "colour": "red"}, {}]
    for body in bad_creates:
        response = await client.post(URL, headers=auth(admin), json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["detail"]
    assert (await client.post(URL, headers=auth(admin), json={"slug": "b"})).status_code == 409
    bad_scores = [{"scores": []}, {"scores": [{"player": "", "score": 1}]},
                  {"scores": [{"player": "a", "score": "high"}]},
                  {"scores": [{"player": "a", "score": 1}], "mode": "max"}]
    for body in bad_scores:
        response = await client.post(f"{URL}/b/scores", headers=auth(admin), json=body)
        assert response.status_code == 400, (body, response.text)
    bad_reads = ["/top?limit=0", "/top?limit=many", "/range?start=3&end=2", "/range?start=1",
                 "/around/ann?range=-1"]
    for suffix in bad_reads:
        response = await client.get(f"{URL}/b{suffix}")
        assert response.status_code in (400, 404), (suffix, response.text)
        if "ann" not in suffix:
            assert response.status_code == 400, suffix
    for suffix in ("", "/top", "/count", "/player/ann", "/around/ann"):
        assert (await client.get(f"{URL}/nope{suffix}")).status_code == 404, suffix
    assert (await client.get(f"{URL}/b/player/ann")).status_code == 404
    assert (await client.delete(f"{URL}/nope", headers=auth(admin))).status_code == 404


async def test_practice_board_is_public_over_the_api(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    app.update_contest(world.contest.id, is_practice=True)
    world.contest.is_practice = True
    solve_in_app(client, world, 0, "A", "AC", 10)
    top = await client.get(f"{URL}/{lb.PRACTICE_SLUG}/top")
    assert top.status_code == 200, top.text
    assert [(e["player"], e["score"], e["rank"]) for e in top.json()] == [
        (f"user:{world.users[0].id}", 1.0, 1)]


async def test_scores_a_double_cannot_hold_are_refused(client) -> None:
    _, admin = user_with_token(client, "root", role="admin")
    await client.post(URL, headers=auth(admin), json={"slug": "n", "update_mode": "increment"})
    largest = 1.7976931348623157e308
    ok = await client.post(f"{URL}/n/scores", headers=auth(admin), json={"scores": [
        {"player": "a", "score": 2**53}, {"player": "b", "score": 0.1},
        {"player": "c", "score": largest}]})
    assert ok.status_code == 200, ok.text
    assert [e["score"] for e in ok.json()["entries"]] == [2.0**53, 0.1, largest]
    for body in (b'{"scores": [{"player": "a", "score": 9007199254740993}]}',
                 b'{"scores": [{"player": "a", "score": 1' + b"0" * 400 + b'}]}',
                 b'{"scores": [{"player": "a", "score": 1e400}]}',
                 b'{"scores": [{"player": "c", "score": 1.7976931348623157e308}]}'):
        response = await client.post(f"{URL}/n/scores", content=body,
                                     headers={**auth(admin), "content-type": "application/json"})
        assert response.status_code == 400, (body[:60], response.text)
    refused = await client.post(f"{URL}/n/scores", headers=auth(admin), json={
        "scores": [{"player": "a", "score": 2**53 + 1}]})
    assert "2**53" in refused.json()["detail"], refused.text
    top = await client.get(f"{URL}/n/top")
    assert [(e["player"], e["score"]) for e in top.json()] == [
        ("c", largest), ("a", 2.0**53), ("b", 0.1)]
