"""The demo event: a running contest with problems, groups, contestants and submissions.

Idempotent: a second run finds the contest and only prints the logins. Verdicts of the demo
submissions are recorded by a "demo" judge through the same action a judge host uses; a few
submissions stay queued so pending cells show.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import select

from server import actions
from server.actions.users import hash_password
from server.models import Contest, utcnow
from server.services import Services

__all__ = ["DEMO_SLUG", "create_demo"]

DEMO_SLUG = "demo"
ADMIN = ("admin", "podium-admin")
JURY = ("jury", "podium-jury")
CONTESTANT_PASSWORD = "podium-demo"
NAMES = [
    "ada", "alan", "barbara", "claude", "dennis", "donald", "edsger", "frances", "grace",
    "guido", "john", "ken", "leslie", "linus", "margaret", "niklaus", "radia", "robin",
    "shafi", "tim",
]
PROBLEMS = [
    ("demo-hello", "Hello World!", "A", 100.0, "#e74c3c",
     "Print `Hello World!`.\n\n**Input:** none.\n\n**Output:** the line `Hello World!`."),
    ("demo-sum", "A Plus B", "B", 200.0, "#3498db",
     "Read two integers *a* and *b* (|a|, |b| ≤ 10^9) and print their sum."),
    ("demo-different", "A Different Problem", "C", 300.0, "#2ecc71",
     "Each line holds two integers up to 10^15; print the absolute difference of each pair."),
]
SOURCES = {
    "python3": ("main.py", "print('Hello World!')\n"),
    "cpp": ("main.cpp", "#include <cstdio>\nint main(){std::puts(\"Hello World!\");}\n"),
    "c": ("main.c", "#include <stdio.h>\nint main(void){puts(\"Hello World!\");return 0;}\n"),
    "java": ("Main.java", "public class Main{public static void main(String[] a){"
             "System.out.println(\"Hello World!\");}}\n"),
}


def _logins() -> str:
    return (
        f"  admin:       {ADMIN[0]} / {ADMIN[1]}\n"
        f"  jury:        {JURY[0]} / {JURY[1]}\n"
        f"  contestants: {', '.join(NAMES[:3])}, … / {CONTESTANT_PASSWORD}"
    )


async def create_demo(services: Services, *, seed: int = 2026) -> str:
    """Create the demo event unless it exists; returns a summary for the terminal."""
    async with services.db.session() as session:
        existing = (await session.exec(select(Contest).where(Contest.slug == DEMO_SLUG))).first()
    if existing is not None:
        return f"The demo contest exists already: /contests/{DEMO_SLUG}\n{_logins()}"

    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(hours=2)
    end = now + timedelta(hours=3)
    await actions.create_user(services, ADMIN[0], password=ADMIN[1], role="admin",
                              display_name="Demo admin")
    await actions.create_user(services, JURY[0], password=JURY[1], role="jury",
                              display_name="Demo jury")
    plugins = {
        name: settings
        for name, settings in {
            "medals": {"bronze": 100, "silver": 300, "gold": 600},
            "first_accepted": {},
            "json_snapshot": {"folder": "snapshots"},
        }.items()
        if name in services.plugins.info
    }
    rule = "points" if "points" in services.plugins.scoring_rules else next(
        iter(services.plugins.scoring_rules.names()), "points")
    contest = await actions.create_contest(
        services, slug=DEMO_SLUG, title="Podium Demo Contest",
        description="A running demo event: three problems, twenty contestants in two classes.",
        start_at=start, end_at=end, freeze_at=end - timedelta(hours=1), scoring_rule=rule,
        plugins=plugins, visibility="public", registration_mode="open",
    )
    for slug, title, label, points, color, statement in PROBLEMS:
        await actions.create_problem(services, slug=slug, title=title, statement=statement,
                                     time_limit_ms=1000, memory_limit_mb=256)
        await actions.add_contest_problem(services, contest.id, slug, label=label,  # type: ignore[arg-type]
                                          points=points, color=color)
    languages = [lang for lang in SOURCES if lang in services.plugins.languages]
    for language in languages:
        await actions.enable_language(services, contest.id, language)  # type: ignore[arg-type]
    school = await actions.create_affiliation(services, name="Podium Demo School",
                                              short_name="PDS", country="NLD")
    groups = [
        await actions.create_group(services, name=name, kind="class", contest=contest.id)
        for name in ("Class 7A", "Class 7B")
    ]
    teams = []
    shared_hash = hash_password(CONTESTANT_PASSWORD)
    for index, name in enumerate(NAMES):
        user = await actions.create_user(services, name, password_hash=shared_hash,
                                         display_name=name.capitalize())
        team = await actions.create_team(
            services, contest.id, name=name.capitalize(), affiliation_id=school.id,  # type: ignore[arg-type]
            group_ids=[groups[index % 2].id], member_ids=[user.id])  # type: ignore[list-item]
        teams.append((team, user))

    submitted = 0
    if languages:
        for team, user in teams:
            skill = rng.random()
            for label, *_ in [(p[2],) for p in PROBLEMS]:
                if rng.random() > 0.35 + skill * 0.6:
                    continue
                tries = rng.randint(1, 3)
                for attempt in range(tries):
                    language = rng.choice(languages)
                    filename, source = SOURCES[language]
                    at = start + timedelta(minutes=rng.randint(3, 170))
                    sub = await actions.submit(
                        services, contest=contest.id, team_id=team.id, problem=label,  # type: ignore[arg-type]
                        language=language, files={filename: source.encode()}, user=user,
                        origin="cli", trusted=True, at=min(at, now - timedelta(seconds=1)))
                    submitted += 1
                    if rng.random() < 0.08:
                        continue  # stays queued: shows as pending
                    last = attempt == tries - 1
                    verdict = "AC" if last and rng.random() < 0.8 else rng.choice(
                        ["WA", "WA", "TLE", "RTE", "CE"])
                    await actions.record_verdict(services, sub.id, verdict,  # type: ignore[arg-type]
                                                 judge_host="demo", job_key=f"demo-{sub.id}")
    return (
        f"Created the demo event: contest '{DEMO_SLUG}' with {len(PROBLEMS)} problems, "
        f"{len(teams)} contestants in 2 classes, {submitted} submissions.\n{_logins()}"
    )
