"""Submissions judged end to end: a real server process, the judge API, a worker, bubblewrap."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import select

from server import actions
from server.actions.judging import add_test_case, create_judge_host
from server.models import Judging, Submission
from server.services import Services
from server.settings import Settings
from tests.factories import make_world
from tests.test_cli import PODIUM
from tests.test_serve import Server

HELLO = {
    "ok.py": ("python3", b"print('Hello World!')\n", "AC"),
    "wrong.py": ("python3", b"print('Hello, World!')\n", "WA"),
    "syntax.py": ("python3", b"print('Hello World!'\n", "CE"),
    "crash.py": ("python3", b"raise SystemExit(3)\n", "RTE"),
    "spin.py": ("python3", b"while True:\n    pass\n", "TLE"),
    "ok.cpp": ("cpp", b'#include <cstdio>\nint main(){std::puts("Hello World!");}\n', "AC"),
    "ok.c": ("c", b'#include <stdio.h>\nint main(void){puts("Hello World!");return 0;}\n',
             "AC"),
}


async def _prepare(data_dir: Path) -> tuple[str, dict[int, str]]:
    """An embedded data dir with a contest, test data, submissions and a judge host token."""
    from server import migrate

    settings = Settings(data_dir=data_dir)
    migrate.upgrade(settings.effective_database_url)
    services = await Services.create(settings)
    try:
        world = await make_world(services, slug="judged", teams=1,
                                 problems=(("A", 100.0),), languages=("python3", "cpp", "c"))
        await actions.update_contest(services, "judged", title="Judged")
        problem = "judged-a"
        async with services.db.session() as session:
            from server.models import Problem

            row = (await session.exec(select(Problem).where(Problem.slug == problem))).one()
        await _set_time_limit(services, row.id, 500)
        await add_test_case(services, problem, name="sample/1", input=b"",
                            answer=b"Hello World!\n", group="sample", is_sample=True)
        await add_test_case(services, problem, name="secret/1", input=b"x\n",
                            answer=b"Hello World!\n", group="secret", group_points=1)
        expected = {}
        for filename, (language, source, verdict) in HELLO.items():
            name = "main" + Path(filename).suffix
            sub = await actions.submit(services, contest="judged", team_id=world.teams[0].id,
                                       problem="A", language=language, files={name: source},
                                       user=world.users[0])
            expected[sub.id] = verdict
        _, token = await create_judge_host(services, "judge-1")
    finally:
        await services.close()
    return token, expected


async def _set_time_limit(services: Services, problem_id: int, ms: int) -> None:
    from server.actions.base import unit_of_work
    from server.models import Problem

    async with unit_of_work(services) as session:
        problem = await session.get(Problem, problem_id)
        problem.time_limit_ms = ms
        session.add(problem)


async def _verdicts(data_dir: Path) -> dict[int, str | None]:
    services = await Services.create(Settings(data_dir=data_dir))
    try:
        async with services.db.session() as session:
            return {s.id: s.verdict for s in await session.exec(select(Submission))}
    finally:
        await services.close()


def _judge_everything(server: Server, token: str, data: Path, worker_dir: Path,
                      seconds: float) -> tuple[dict[int, str | None], str]:
    """Run a `podium worker` until every submission has a verdict (or ``seconds`` pass); the
    verdicts and the worker's output."""
    worker = _worker(server.url, token, worker_dir)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            verdicts = asyncio.run(_verdicts(data))
            if all(v is not None for v in verdicts.values()):
                break
            time.sleep(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    return verdicts, output


def test_a_worker_judges_every_verdict_through_the_judge_api(tmp_path: Path) -> None:
    data = tmp_path / "server"
    token, expected = asyncio.run(_prepare(data))
    server = Server(data, {"PODIUM_JUDGE_LEASE_SECONDS": "5"})
    try:
        bad = httpx.post(server.url + "/api/judge/v1/claim", json={"timeout": 0},
                         headers={"authorization": "Bearer nope"})
        assert bad.status_code == 401
        verdicts, output = _judge_everything(server, token, data, tmp_path / "worker", 120)
        assert verdicts == expected, output
        board = httpx.get(server.url + "/api/v1/contests/judged/scoreboard").json()
        assert board["rows"][0]["points"] == 100
        assert (tmp_path / "worker" / "judge-cache").is_dir()
    finally:
        server.stop()


async def test_results_are_recorded_once(tmp_path: Path) -> None:
    """Posting the same result twice records one judging."""
    data = tmp_path / "server"
    token, expected = await _prepare(data)
    settings = Settings(data_dir=data)
    services = await Services.create(settings)
    try:
        from server.actions.judging import claim_job, finish_job, judge_host_for_token
        from server.actions.judging import requeue_unjudged
        from server.judge_protocol import JudgeResult

        await requeue_unjudged(services)
        host = await judge_host_for_token(services, token)
        assert host is not None
        job = await claim_job(services, host, timeout=1)
        assert job is not None and job.tests[0].name == "sample/1"
        result = JudgeResult(submission_id=job.submission_id, verdict="AC")
        await finish_job(services, host, job.job_id, result)
        await finish_job(services, host, job.job_id, result)
        async with services.db.session() as session:
            judgings = list(await session.exec(select(Judging).where(
                Judging.submission_id == job.submission_id)))
        assert len(judgings) == 1
    finally:
        await services.close()


SLOW_OK = b"import time\nt = time.process_time()\nwhile time.process_time() - t < 3:\n    pass\nprint('Hello World!')\n"


async def _prepare_slow(data_dir: Path) -> tuple[list[str], int]:
    from server import migrate

    settings = Settings(data_dir=data_dir)
    migrate.upgrade(settings.effective_database_url)
    services = await Services.create(settings)
    try:
        world = await make_world(services, slug="killed", teams=1, problems=(("A", 100.0),))
        async with services.db.session() as session:
            from server.models import Problem

            row = (await session.exec(select(Problem).where(Problem.slug == "killed-a"))).one()
        await _set_time_limit(services, row.id, 8000)
        await add_test_case(services, "killed-a", name="secret/1", input=b"",
                            answer=b"Hello World!\n", group="secret", group_points=1)
        sub = await actions.submit(services, contest="killed", team_id=world.teams[0].id,
                                   problem="A", language="python3",
                                   files={"main.py": SLOW_OK}, user=world.users[0])
        tokens = [(await create_judge_host(services, f"judge-{n}"))[1] for n in (1, 2)]
    finally:
        await services.close()
    return tokens, sub.id  # type: ignore[return-value]


def _worker(url: str, token: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PODIUM_DATA_DIR"] = str(data_dir)
    return subprocess.Popen([PODIUM, "worker", "--server", url, "--token", token], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def _judgings(data_dir: Path, submission_id: int) -> list[Judging]:
    services = await Services.create(Settings(data_dir=data_dir))
    try:
        async with services.db.session() as session:
            return list(await session.exec(select(Judging).where(
                Judging.submission_id == submission_id)))
    finally:
        await services.close()


def test_a_worker_killed_mid_judging_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "server"
    (first_token, second_token), submission_id = asyncio.run(_prepare_slow(data))
    server = Server(data, {"PODIUM_JUDGE_LEASE_SECONDS": "4"})
    try:
        first = _worker(server.url, first_token, tmp_path / "w1")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the first worker holds the job
            status = asyncio.run(_status(data, submission_id))
            if status == "judging":
                break
            time.sleep(0.3)
        assert status == "judging"
        time.sleep(1.0)  # mid-judging: the program spins for 3 s of CPU
        first.kill()     # SIGKILL: no goodbye, no result
        first.communicate(timeout=10)
        box = f"podium-box-{first.pid}-"
        assert list(Path(tempfile.gettempdir()).glob(box + "*")), "its box stayed behind"
        assert asyncio.run(_judgings(data, submission_id)) == []
        second = _worker(server.url, second_token, tmp_path / "w2")
        try:
            deadline = time.monotonic() + 90
            judgings: list[Judging] = []
            while time.monotonic() < deadline and not judgings:
                time.sleep(1)
                judgings = asyncio.run(_judgings(data, submission_id))
            time.sleep(2)  # a late duplicate would show up now
            judgings = asyncio.run(_judgings(data, submission_id))
        finally:
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=30)
        assert [(j.verdict, j.judge_host) for j in judgings] == [("AC", "judge-2")], output
        # Nothing of the killed worker's box is left: no process (bwrap died with it) and,
        # once the second worker's sandbox started, no box dir or mount either.
        leftovers = subprocess.run(["pgrep", "-f", box], capture_output=True,
                                   text=True).stdout.split()
        assert leftovers == []
        assert list(Path(tempfile.gettempdir()).glob(box + "*")) == []
    finally:
        server.stop()


async def _status(data_dir: Path, submission_id: int) -> str:
    services = await Services.create(Settings(data_dir=data_dir))
    try:
        async with services.db.session() as session:
            submission = await session.get(Submission, submission_id)
            return submission.status if submission else "missing"
    finally:
        await services.close()


REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "problems"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
VALIDATORS = Path(__file__).resolve().parent / "validators"
VALIDATED = {  # problem -> (solution path, language, expected verdict)
    "different": [("accepted/different.py", "python3", "AC"),
                  ("wrong_answer/signed.py", "python3", "WA"),
                  ("accepted/different.cpp", "cpp", "AC")],
    "guess": [("accepted/search.py", "python3", "AC"),
              ("wrong_answer/linear.py", "python3", "WA"),
              ("run_time_error/crash.py", "python3", "RTE"),
              ("accepted/search.cpp", "cpp", "AC")],
}


async def _prepare_validated(data_dir: Path, packages: Path) -> tuple[str, dict[int, str]]:
    """A contest with the custom-validator and the interactive reference problems, imported
    as packages (with our validators), and submissions to both."""
    from judges.problems import load_package
    from server import migrate
    from server.actions.problems import import_package

    settings = Settings(data_dir=data_dir)
    migrate.upgrade(settings.effective_database_url)
    services = await Services.create(settings)
    try:
        world = await make_world(services, slug="validated", teams=1, problems=(),
                                 languages=("python3", "cpp"))
        expected = {}
        for index, name in enumerate(VALIDATED):
            package = packages / name
            shutil.copytree(REFERENCE / name, package)
            shutil.copytree(VALIDATORS / name, package, dirs_exist_ok=True)
            with load_package(package) as loaded:
                report = await import_package(services, loaded, contest="validated",
                                              label="AB"[index])
            assert report.problem.validator_hash
            await _set_time_limit(services, report.problem.id, 2000)
            for path, language, verdict in VALIDATED[name]:
                source = (SOLUTIONS / name / path).read_bytes()
                sub = await actions.submit(
                    services, contest="validated", team_id=world.teams[0].id,
                    problem="AB"[index], language=language,
                    files={"main" + Path(path).suffix: source}, user=world.users[0])
                expected[sub.id] = verdict
        _, token = await create_judge_host(services, "judge-v")
    finally:
        await services.close()
    return token, expected


def test_custom_and_interactive_validators_through_the_judge_api(tmp_path: Path) -> None:
    """The validator travels as a blob, is compiled and run in a box of its own on the judge
    host; the interactive one talks with the submission through pipes."""
    data = tmp_path / "server"
    token, expected = asyncio.run(_prepare_validated(data, tmp_path / "packages"))
    server = Server(data, {"PODIUM_JUDGE_LEASE_SECONDS": "10"})
    try:
        verdicts, output = _judge_everything(server, token, data, tmp_path / "worker", 240)
        assert verdicts == expected, output
    finally:
        server.stop()


async def _prepare_empty(data_dir: Path) -> tuple[str, str]:
    """A contest with no submissions yet; a judge host token and a contestant's API token."""
    from server import migrate
    from server.actions.users import create_api_token

    settings = Settings(data_dir=data_dir)
    migrate.upgrade(settings.effective_database_url)
    services = await Services.create(settings)
    try:
        world = await make_world(services, slug="hangup", teams=1, problems=(("A", 1.0),),
                                 languages=("python3",))
        _, judge_token = await create_judge_host(services, "judge-h")
        user_token = await create_api_token(services, world.users[0].id)
    finally:
        await services.close()
    return judge_token, user_token


def test_a_claim_whose_host_hung_up_does_not_take_the_next_job(tmp_path: Path) -> None:
    """A judge host that disconnects mid long-poll leaves no waiter behind: the next
    submission goes to a host that is still there, at once (not after the lease)."""
    import socket
    import threading
    from urllib.parse import urlsplit

    data = tmp_path / "server"
    judge_token, user_token = asyncio.run(_prepare_empty(data))
    server = Server(data, {"PODIUM_JUDGE_LEASE_SECONDS": "300"})
    try:
        address = urlsplit(server.url)
        body = b'{"timeout": 30}'
        raw = socket.create_connection((address.hostname, address.port))
        raw.sendall(b"POST /api/judge/v1/claim HTTP/1.1\r\nHost: x\r\n"
                    b"Authorization: Bearer " + judge_token.encode() + b"\r\n"
                    b"Content-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(1.0)  # the server is waiting for work on this claim
        raw.close()  # the host is gone
        time.sleep(0.5)
        claimed: list[httpx.Response] = []
        waiter = threading.Thread(target=lambda: claimed.append(httpx.post(
            server.url + "/api/judge/v1/claim", json={"timeout": 20}, timeout=30,
            headers={"authorization": f"Bearer {judge_token}"})))
        waiter.start()
        time.sleep(1.0)
        started = time.monotonic()
        submitted = httpx.post(
            server.url + "/api/v1/contests/hangup/submissions",
            headers={"authorization": f"Bearer {user_token}"},
            json={"problem": "A", "language": "python3",
                  "files": [{"filename": "main.py", "content": "print(1)\n"}]})
        assert submitted.status_code == 201, submitted.text
        waiter.join(timeout=25)
        assert claimed and claimed[0].status_code == 201, claimed  # a job
        assert claimed[0].json()["submission_id"] == submitted.json()["id"]
        assert time.monotonic() - started < 10
    finally:
        server.stop()
