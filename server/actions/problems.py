"""Importing ICPC / Kattis problem packages into the problem bank (all or nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import select

from server.actions.base import audit, contest_by_ref, publish, unit_of_work
from server.actions.contests import add_contest_problem
from server.actions.errors import Conflict, Invalid
from server.actions.judging import blob_store
from server.i18n import N_
from server.models import ContestProblem, Problem, TestCase, TestGroup, User
from server.services import Services

__all__ = ["ImportReport", "import_package"]

DEFAULT_TIME_LIMIT_S = 1.0
STATEMENT_ORDER = ("md", "html", "tex")
FORMATS = {"md": "markdown", "html": "html", "tex": "latex"}


@dataclass
class ImportReport:
    problem: Problem
    groups: int
    test_cases: int
    warnings: list[str] = field(default_factory=list)


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:64]
    if not slug:
        raise Invalid(N_("cannot make a slug from %(name)r"), name=name, field="slug")
    return slug


async def import_package(
    services: Services,
    package: object,
    *,
    slug: str | None = None,
    contest: str | int | None = None,
    label: str | None = None,
    points: float = 1.0,
    actor: User | None = None,
) -> ImportReport:
    """Store a parsed :class:`judges.problems.ProblemPackage`: problem, groups, test cases.

    Test data goes to the blob store first (content-addressed, so a failed import leaves at
    most unreferenced blobs); the rows are written in one transaction.
    """
    from judges.problems.model import DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB, ProblemPackage

    assert isinstance(package, ProblemPackage)
    warnings = list(package.warnings)
    slug = _slug(slug or package.short_name)
    validator_archive = None
    if package.custom_validator or "interactive" in package.types:
        checker = "custom"
        if not package.output_validators:
            raise Invalid(N_("the package judges output with its own validator and has none "
                          "(output_validators/ or output_validator/)"),
                          field="output_validators")
        from judges.verify import program_archive

        if len(package.output_validators) > 1:
            warnings.append(f"{len(package.output_validators)} output validators: only "
                            f"{package.output_validators[0].name} is used")
        validator_archive = program_archive(package.output_validators[0])
    else:
        checker = "tokens"
    if checker != "custom" and checker not in services.plugins.checkers:
        raise Invalid(N_("no checker named %(checker)r is loaded"),
                      checker=checker, field="checker")
    limits = package.limits
    time_limit = limits.time_limit
    if time_limit is None:
        time_limit = DEFAULT_TIME_LIMIT_S
        warnings.append(f"the package declares no time limit: {time_limit:g} s until "
                        "`podium problem verify` measures one")
    statement, statement_format = "", "text"
    chosen = min(package.statements, default=None, key=lambda s: (
        s.language != "en", STATEMENT_ORDER.index(s.format)
        if s.format in STATEMENT_ORDER else len(STATEMENT_ORDER)))
    if chosen is not None and chosen.format in FORMATS:
        statement = chosen.path.read_text(errors="replace")
        statement_format = FORMATS[chosen.format]
        if chosen.format == "tex":
            from judges.problems.latex import LatexUnavailable, latex_to_html

            try:
                statement, statement_format = latex_to_html(statement), "html"
            except LatexUnavailable as exc:
                warnings.append(f"the statement is LaTeX, kept as source: {exc}")
    title = package.titles.get("en") or next(iter(package.titles.values()), package.short_name)

    store = blob_store(services)
    data = [(case, store.put_file(case.input), store.put_file(case.answer))
            for case in package.test_cases]
    validator_hash = store.put(validator_archive) if validator_archive is not None else None
    problem = Problem(
        slug=slug, title=title, statement=statement, statement_format=statement_format,
        time_limit_ms=max(1, round(time_limit * 1000)),
        memory_limit_mb=limits.memory_mib or DEFAULT_MEMORY_MIB,
        output_limit_kb=(limits.output_mib or DEFAULT_OUTPUT_MIB) * 1024,
        checker=checker, checker_flags=" ".join(package.validator_flags),
        validator_hash=validator_hash, interactive="interactive" in package.types,
        stop_on_first_failure=not package.is_scoring,
        tags=list(package.keywords), source=package.source or "",
        license=package.license, external_id=package.uuid,
    )
    async with unit_of_work(services, conflict=(N_("problem %(slug)r already exists"),
                                                {"slug": slug})) as session:
        if (await session.exec(select(Problem.id).where(Problem.slug == slug))).first():
            raise Conflict(N_("problem %(slug)r already exists"), slug=slug)
        session.add(problem)
        await session.flush()
        group_ids: dict[str, int] = {}
        for ordinal, group in enumerate(package.groups):
            row = TestGroup(problem_id=problem.id, name=group.name, ordinal=ordinal,
                            parent_id=group_ids.get(group.parent or ""),
                            points=group.points or 0.0, is_sample=group.is_sample,
                            settings={**group.settings,
                                      "validator_flags": list(group.validator_flags)})
            session.add(row)
            await session.flush()
            group_ids[group.name] = row.id  # type: ignore[assignment]
        for ordinal, (case, input_hash, answer_hash) in enumerate(data):
            session.add(TestCase(
                problem_id=problem.id, group_id=group_ids.get(case.group), name=case.name,
                ordinal=ordinal, is_sample=case.is_sample, input_hash=input_hash,
                answer_hash=answer_hash, input_size=case.input.stat().st_size,
                answer_size=case.answer.stat().st_size, description=case.description[:255]))
        audit(session, actor=actor, action="problem.import", object_type="problem",
              object_id=problem.id, data={"slug": slug, "package": package.short_name,
                                          "cases": len(data)})
    await publish(services, "problem.created", {"id": problem.id, "slug": slug})
    if contest is not None:
        async with services.db.session() as session:
            the_contest = await contest_by_ref(session, contest)
            taken = set(await session.exec(select(ContestProblem.label).where(
                ContestProblem.contest_id == the_contest.id)))
        label = label or next(chr(c) for c in range(ord("A"), ord("Z") + 1)
                              if chr(c) not in taken)
        await add_contest_problem(services, the_contest.id, slug,  # type: ignore[arg-type]
                                  label=label, points=points, actor=actor)
    return ImportReport(problem=problem, groups=len(package.groups), test_cases=len(data),
                        warnings=warnings)

