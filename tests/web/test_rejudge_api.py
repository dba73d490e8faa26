"""Rejudgings and judging history over the API: jury only, scopes, progress, history."""

from __future__ import annotations

from server.actions.judging import claim_job, create_judge_host, finish_job
from server.judge_protocol import JudgeResult
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    InApp,
    auth,
    fast_passwords,
    solve_in_app,
    user_with_token,
    world_with_tokens,
)


async def _judge_everything(app: InApp, verdict: str) -> int:
    host, _ = app(create_judge_host, app.services, "judge-api")
    judged = 0
    while (job := app(claim_job, app.services, host, timeout=0)) is not None:
        app(finish_job, app.services, host, job.job_id,
            JudgeResult(submission_id=job.submission_id, verdict=verdict))
        judged += 1
    return judged


async def test_only_the_jury_rejudges_and_reads_judgings(client) -> None:
    world = world_with_tokens(client)
    sub = solve_in_app(client, world, 0, "A", "AC", 10)
    InApp(client)(InApp(client).services.queue.purge)  # the judged submission's own job
    _, spectator = user_with_token(client, "spectator")  # in no team of the contest
    _, jury = user_with_token(client, "judge", role="jury")
    calls = [("post", f"{API}/contests/spring/rejudgings", {}),
             ("get", f"{API}/contests/spring/rejudgings", None),
             ("get", f"{API}/submissions/{sub.id}/judgings", None)]
    for method, url, body in calls:
        kwargs = {"json": body} if body is not None else {}
        assert (await getattr(client, method)(url, **kwargs)).status_code == 401
        for token in (world.tokens["team0"], world.tokens["team1"], spectator):
            response = await getattr(client, method)(url, headers=auth(token), **kwargs)
            assert response.status_code == 403, (url, response.text)
    assert InApp(client).waiting() == 0  # nothing was queued by the refused calls
    created = await client.post(f"{API}/contests/spring/rejudgings", json={},
                                headers=auth(jury))
    assert created.status_code == 201, created.text
    assert created.json()["queued"] == 1
    listed = await client.get(f"{API}/contests/spring/rejudgings", headers=auth(jury))
    assert [r["id"] for r in listed.json()] == [created.json()["id"]]
    history = await client.get(f"{API}/submissions/{sub.id}/judgings", headers=auth(jury))
    assert [j["verdict"] for j in history.json()] == [None, "AC"]


async def test_rejudge_scopes_progress_and_history(client) -> None:
    app = InApp(client)
    world = world_with_tokens(client)
    admin = auth(world.tokens["admin"])
    accepted = solve_in_app(client, world, 0, "A", "AC", 10)
    slow = solve_in_app(client, world, 1, "B", "TLE", 20)
    solve_in_app(client, world, 1, "A", "WA", 30)
    app(app.services.queue.purge)
    url = f"{API}/contests/spring/rejudgings"

    by_verdict = await client.post(url, headers=admin, json={
        "problem": "B", "verdicts": ["TLE"], "reason": "time limit raised"})
    assert by_verdict.status_code == 201, by_verdict.text
    body = by_verdict.json()
    assert (body["queued"], body["problem"], body["verdicts"], body["reason"]) == (
        1, "B", ["TLE"], "time limit raised")
    assert (body["judged"], body["pending"], body["finished_at"]) == (0, 1, None)
    assert body["created_by"] == world.admin.id
    assert app.waiting() == 1

    one = await client.post(url, headers=admin, json={"submission_id": accepted.id})
    assert (one.status_code, one.json()["queued"], one.json()["submission_id"]) == (
        201, 1, accepted.id)
    by_slug = await client.post(url, headers=admin, json={"problem": "spring-a"})
    assert by_slug.json()["queued"] == 2

    assert await _judge_everything(app, "WA") == 3  # B's TLE; A's AC and WA (once each)
    listed = (await client.get(url, headers=admin)).json()
    assert [r["id"] for r in listed] == [by_slug.json()["id"], one.json()["id"],
                                         by_verdict.json()["id"]]
    newest, middle, oldest = listed
    assert (newest["judged"], newest["pending"], newest["changes"]) == (2, 0, {"AC->WA": 1})
    assert newest["finished_at"] is not None
    assert (middle["judged"], middle["pending"]) == (0, 0)  # replaced by the newest
    assert (oldest["judged"], oldest["changes"]) == (1, {"TLE->WA": 1})

    history = (await client.get(f"{API}/submissions/{accepted.id}/judgings",
                                headers=admin)).json()
    assert [(j["verdict"], j["is_current"], j["rejudging_id"]) for j in history] == [
        ("WA", True, newest["id"]), (None, False, middle["id"]), ("AC", False, None)]
    assert history[0]["verdict_before"] == "AC"
    board = (await client.get(f"{API}/contests/spring/scoreboard?view=jury",
                              headers=admin)).json()
    assert all(not cell.get("solved") for row in board["rows"] for cell in row["cells"])
    slow_history = (await client.get(f"{API}/submissions/{slow.id}/judgings",
                                     headers=admin)).json()
    assert [j["verdict"] for j in slow_history] == ["WA", "TLE"]


async def test_bad_rejudge_requests(client) -> None:
    world = world_with_tokens(client)
    admin = auth(world.tokens["admin"])
    solve_in_app(client, world, 0, "A", "AC", 10)
    url = f"{API}/contests/spring/rejudgings"
    cases = [
        ({"verdicts": ["NOPE"]}, 400, "unknown verdict 'NOPE'"),
        ({"problem": "Z"}, 404, "problem 'Z' is not in contest"),
        ({"submission_id": 999}, 404, "submission 999 is not in contest"),
        ({"verdicts": ["CE"]}, 400, "nothing to rejudge"),
        ({"everything": True}, 400, ""),
        ({"reason": "x" * 300}, 400, ""),
    ]
    for body, status, message in cases:
        response = await client.post(url, headers=admin, json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.text
    missing = await client.post(f"{API}/contests/nope/rejudgings", headers=admin, json={})
    assert missing.status_code == 404
    assert (await client.get(f"{API}/submissions/999/judgings", headers=admin)).status_code == 404
    assert (await client.get(url, headers=admin)).json() == []


async def test_the_schema_lists_the_rejudging_routes(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/contests/{slug}/rejudgings"])
    assert "get" in paths["/api/v1/submissions/{submission_id}/judgings"]
