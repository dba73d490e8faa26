"""The demo event: a running contest with problems, groups, contestants and submissions.

Idempotent: a second run finds the contest and only prints the logins. The problems carry
small real test data, and the demo's submissions (right and wrong ones, in the languages whose
toolchain this host has) are only queued: the judge judges them for real, the embedded judge of
``podium serve`` by default. :func:`demo_plan` says which verdict each one must get.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from server import actions
from server.actions.judging import add_test_case
from server.actions.users import hash_password
from server.components import Language
from server.models import Contest, utcnow
from server.plugins import Catalog
from server.services import Services

__all__ = ["DEMO_SLUG", "PlannedSubmission", "create_demo", "demo_languages", "demo_plan"]

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
TESTS: dict[str, list[tuple[str, bytes, bytes]]] = {
    "A": [("sample/1", b"", b"Hello World!\n"), ("secret/1", b"\n", b"Hello World!\n")],
    "B": [("sample/1", b"1 2\n", b"3\n"), ("secret/1", b"-5 7\n", b"2\n"),
          ("secret/2", b"1000000000 1000000000\n", b"2000000000\n")],
    "C": [("sample/1", b"10 12\n71293781758123 72784\n1 12345677654321\n",
           b"2\n71293781685339\n12345677654320\n"),
          ("secret/1", b"0 0\n1000000000000000 1\n7 3\n", b"0\n999999999999999\n4\n")],
}
"""Per problem label: (name, input, answer); ``sample/`` cases form the sample group."""

_PY_DIFF = ("import sys\nfor line in sys.stdin:\n    if line.split():\n"
            "        a, b = map(int, line.split())\n        print({expr})\n")
_C_DIFF = ("#include <stdio.h>\nint main(void){{long long a,b;while(scanf(\"%lld %lld\",&a,&b)==2)"
           "printf(\"%lld\\n\",{expr});return 0;}}\n")
_CPP_DIFF = ("#include <cstdio>\nint main(){{long long a,b;"
             "while(std::scanf(\"%lld %lld\",&a,&b)==2)std::printf(\"%lld\\n\",{expr});}}\n")
_CPP_SUM = ("#include <cstdio>\nint main(){{long long a,b;std::scanf(\"%lld %lld\",&a,&b);"
            "std::printf(\"%lld\\n\",{expr});}}\n")
_JAVA_DIFF = ("import java.util.*;\npublic class Main{{public static void main(String[] x){{"
              "Scanner s=new Scanner(System.in);while(s.hasNextLong()){{long a=s.nextLong(),"
              "b=s.nextLong();System.out.println({expr});}}}}}}\n")
_JAVA_SUM = ("import java.util.*;\npublic class Main{{public static void main(String[] x){{"
             "Scanner s=new Scanner(System.in);long a=s.nextLong(),b=s.nextLong();"
             "System.out.println({expr});}}}}\n")
SOURCES: dict[str, dict[str, str]] = {
    "python3": {
        "A:AC": "print('Hello World!')\n",
        "A:WA": "print('Hello, World!')\n",
        "B:AC": "a, b = map(int, input().split())\nprint(a + b)\n",
        "B:WA": "a, b = map(int, input().split())\nprint(a - b)\n",
        "C:AC": _PY_DIFF.format(expr="abs(a - b)"),
        "C:WA": _PY_DIFF.format(expr="a - b"),
        "RTE": "values = []\nprint(values[0])\n",
        "TLE": "while True:\n    pass\n",
        "CE": "print('Hello World!'\n",
    },
    "c": {
        "A:AC": "#include <stdio.h>\nint main(void){puts(\"Hello World!\");return 0;}\n",
        "A:WA": "#include <stdio.h>\nint main(void){puts(\"hello world\");return 0;}\n",
        "B:AC": "#include <stdio.h>\nint main(void){long long a,b;scanf(\"%lld %lld\",&a,&b);"
                "printf(\"%lld\\n\",a+b);return 0;}\n",
        "B:WA": "#include <stdio.h>\nint main(void){long long a,b;scanf(\"%lld %lld\",&a,&b);"
                "printf(\"%lld\\n\",a-b);return 0;}\n",
        "C:AC": _C_DIFF.format(expr="a>b?a-b:b-a"),
        "C:WA": _C_DIFF.format(expr="a-b"),
        "RTE": "#include <stdlib.h>\nint main(void){abort();}\n",
        "TLE": "int main(void){for(;;);}\n",
        "CE": "#include <stdio.h>\nint main(void){puts(\"Hello World!\")return 0;}\n",
    },
    "cpp": {
        "A:AC": "#include <cstdio>\nint main(){std::puts(\"Hello World!\");}\n",
        "A:WA": "#include <cstdio>\nint main(){std::printf(\"Hello World!\");}\n",
        "B:AC": _CPP_SUM.format(expr="a+b"),
        "B:WA": _CPP_SUM.format(expr="a-b"),
        "C:AC": _CPP_DIFF.format(expr="a>b?a-b:b-a"),
        "C:WA": _CPP_DIFF.format(expr="a-b"),
        "RTE": "#include <stdexcept>\nint main(){throw std::runtime_error(\"oops\");}\n",
        "TLE": "int main(){volatile unsigned n=0;for(;;)n=n+1;}\n",
        "CE": "#include <cstdio>\nint main(){std::printf(\"%d\\n\",undeclared);}\n",
    },
    "java": {
        "A:AC": "public class Main{public static void main(String[] a){"
                "System.out.println(\"Hello World!\");}}\n",
        "A:WA": "public class Main{public static void main(String[] a){"
                "System.out.println(\"Hello World\");}}\n",
        "B:AC": _JAVA_SUM.format(expr="a+b"),
        "B:WA": _JAVA_SUM.format(expr="a-b"),
        "C:AC": _JAVA_DIFF.format(expr="Math.abs(a-b)"),
        "C:WA": _JAVA_DIFF.format(expr="a-b"),
        "RTE": "public class Main{public static void main(String[] a){"
               "System.out.println(a[0]);}}\n",
        "TLE": "public class Main{public static void main(String[] a){long n=0;"
               "while(n>=0)n|=1;}}\n",
        "CE": "public class Main{public static void main(String[] a){"
              "System.out.println(\"Hello World!\")}}\n",
    },
}
"""Per language: a right (``<label>:AC``) and a wrong (``<label>:WA``) answer per problem,
and one program per other verdict."""
FILENAMES = {"python3": "main.py", "c": "main.c", "cpp": "main.cpp", "java": "Main.java"}
LANGUAGE_WEIGHTS = {"python3": 55, "cpp": 20, "c": 15, "java": 10}
WRONG_KINDS = {"WA": 50, "RTE": 20, "CE": 22, "TLE": 8}


@dataclass(frozen=True)
class PlannedSubmission:
    """One demo submission and the verdict the judge must give it."""

    team: int
    """Index into NAMES."""
    label: str
    language: str
    verdict: str
    minute: int
    """Minutes after the contest start."""

    @property
    def filename(self) -> str:
        return FILENAMES[self.language]

    @property
    def source(self) -> str:
        sources = SOURCES[self.language]
        return sources.get(f"{self.label}:{self.verdict}") or sources[self.verdict]


def demo_plan(languages: Sequence[str], *, seed: int = 2026) -> list[PlannedSubmission]:
    """The demo's submissions, in submission order (deterministic for a seed)."""
    usable = [lang for lang in LANGUAGE_WEIGHTS if lang in languages]
    if not usable:
        return []
    rng = random.Random(seed)
    chosen = [lang for lang, weight in LANGUAGE_WEIGHTS.items()
              for _ in range(round(weight * len(NAMES) / 100))]
    rng.shuffle(chosen)
    plan = []
    for team in range(len(NAMES)):
        skill = rng.random()
        language = chosen[team] if chosen[team] in usable else usable[0]
        for _, _, label, *_ in PROBLEMS:
            if rng.random() > 0.35 + skill * 0.6:
                continue
            tries = rng.randint(1, 3)
            minute = rng.randint(3, 80)
            for attempt in range(tries):
                solved = attempt == tries - 1 and rng.random() < 0.8
                verdict = "AC" if solved else rng.choices(
                    list(WRONG_KINDS), list(WRONG_KINDS.values()))[0]
                plan.append(PlannedSubmission(team, label, language, verdict, minute))
                minute += rng.randint(2, 12)
    return plan


def _runs_here(language: Language) -> bool:
    """Whether this host has the language's toolchain (the embedded judge uses the host's)."""
    commands = [language.compile_command, language.run_command]
    return all(shutil.which(command[0]) for command in commands
               if command and not command[0].startswith("./"))


def demo_languages(catalog: Catalog[Language]) -> list[str]:
    """The demo's languages that the catalog has and this host can compile and run."""
    return [name for name in FILENAMES
            if (language := catalog.get(name)) is not None and _runs_here(language)]


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
        for name, data, answer in TESTS[label]:
            sample = name.startswith("sample/")
            await add_test_case(services, slug, name=name, input=data, answer=answer,
                                group=name.split("/")[0], group_points=0 if sample else 1,
                                is_sample=sample)
    for language in FILENAMES:
        if language not in services.plugins.languages:
            continue
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

    plan = demo_plan(demo_languages(services.plugins.languages), seed=seed)
    for planned in plan:
        team, user = teams[planned.team]
        at = start + timedelta(minutes=planned.minute)
        await actions.submit(
            services, contest=contest.id, team_id=team.id, problem=planned.label,  # type: ignore[arg-type]
            language=planned.language, files={planned.filename: planned.source.encode()},
            user=user, origin="cli", trusted=True, at=min(at, now - timedelta(seconds=1)))
    return (
        f"Created the demo event: contest '{DEMO_SLUG}' with {len(PROBLEMS)} problems, "
        f"{len(teams)} contestants in 2 classes, {len(plan)} submissions for the judge.\n"
        f"{_logins()}"
    )
