"""The JSON API under ``/api/v1``: parse, authorize, call an action."""

from __future__ import annotations

import base64
import json
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar import Controller, Request, Response, Router, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException, ValidationException
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel import col, select

from server import actions
from server.actions.base import contest_by_ref
from server.actions.feed_export import event_feed
from server.actions.users import get_user
from server.models import Contest, ContestLanguage, ContestProblem, Problem, Submission, SubmissionFile, Team, User, utcnow
from server.plugins import PluginError
from server.web.auth import (
    managers_only,
    staff_only,
    CurrentUser,
    can_see_contest,
    current_api_user,
    is_staff,
    require_staff,
    require_user,
    services_of,
    team_of,
)
from server.web.leaderboards_api import LeaderboardController
from server.web.live import FreezeController
from server.web.rejudge_api import RejudgingController
from server.web.schemas import (
    ContestIn,
    ContestOut,
    ContestPatch,
    ContestProblemIn,
    ContestProblemOut,
    LoginIn,
    ProblemIn,
    ProblemOut,
    SubmissionIn,
    SubmissionOut,
    TeamIn,
    TeamOut,
    TokenOut,
    UserIn,
    UserOut,
)

__all__ = ["api_router"]


async def _visible_contest(request: Request, slug: str, user: User | None) -> Contest:
    services = services_of(request)
    async with services.db.read() as session:
        contest = await contest_by_ref(session, slug)
    if not await can_see_contest(services, contest, user):
        raise NotFoundException(f"contest {slug!r} does not exist")
    return contest


class AuthController(Controller):
    path = "/auth"

    @post("/token", status_code=HTTP_201_CREATED, summary="Exchange a password for an API token")
    async def token(self, request: Request, data: JSONBody[LoginIn]) -> TokenOut:
        services = services_of(request)
        user = await actions.authenticate(services, data.username, data.password)
        if user is None:
            raise PermissionDeniedException("wrong username or password")
        token = await actions.create_api_token(services, user.id, name=data.token_name)  # type: ignore[arg-type]
        return TokenOut(token=token, user=UserOut.of(user))

    @get("/me", summary="The authenticated user")
    async def me(self, user: CurrentUser) -> UserOut:
        return UserOut.of(require_user(user))


class UserController(Controller):
    path = "/users"

    @post("/", guards=[managers_only], status_code=HTTP_201_CREATED, summary="Create a user (admins)")
    async def create(self, request: Request, data: JSONBody[UserIn], user: CurrentUser) -> UserOut:
        actor = require_staff(user, manage=True)
        if data.role == "admin" and actor.role != "admin":
            raise PermissionDeniedException("only admins create admins")
        created = await actions.create_user(
            services_of(request), data.username, password=data.password, role=data.role,
            display_name=data.display_name, email=data.email, actor=actor)
        return UserOut.of(created)


class CatalogController(Controller):
    path = "/"

    @get("/plugins", guards=[staff_only], summary="Loaded plugins and what they provide (staff)")
    async def plugins(self, request: Request, user: CurrentUser) -> list[dict[str, Any]]:
        require_staff(user)
        return services_of(request).plugins.describe()

    @get("/languages", summary="Language judges available to contests")
    async def languages(self, request: Request) -> list[dict[str, Any]]:
        catalog = services_of(request).plugins.languages
        return [{"name": n, "title": catalog.items[n].title,
                 "extensions": list(catalog.items[n].extensions)} for n in catalog.names()]

    @get("/scoring-rules", summary="Scoring rules with their settings schema")
    async def scoring_rules(self, request: Request) -> list[dict[str, Any]]:
        catalog = services_of(request).plugins.scoring_rules
        return [{"name": n, "title": catalog.items[n].title,
                 "settings_schema": catalog.items[n].Settings.model_json_schema()}
                for n in catalog.names()]


class ProblemController(Controller):
    path = "/problems"

    @get("/", guards=[staff_only], summary="The problem bank (staff)")
    async def list(self, request: Request, user: CurrentUser) -> list[ProblemOut]:
        require_staff(user)
        async with services_of(request).db.read() as session:
            rows = await session.exec(select(Problem).order_by(col(Problem.slug)))
            return [ProblemOut.of(p) for p in rows]

    @post("/", guards=[managers_only], status_code=HTTP_201_CREATED, summary="Create a problem (organizers)")
    async def create(self, request: Request, data: JSONBody[ProblemIn], user: CurrentUser) -> ProblemOut:
        actor = require_staff(user, manage=True)
        problem = await actions.create_problem(services_of(request), actor=actor,
                                               **data.model_dump())
        return ProblemOut.of(problem)


class ContestController(Controller):
    path = "/contests"

    @get("/", summary="Contests the caller may see")
    async def list(self, request: Request, user: CurrentUser) -> list[ContestOut]:
        services = services_of(request)
        async with services.db.read() as session:
            contests = list(await session.exec(select(Contest).order_by(col(Contest.start_at).desc())))
        now = utcnow()
        staff = is_staff(user)
        return [ContestOut.of(c, now=now, staff=staff) for c in contests
                if await can_see_contest(services, c, user)]

    @post("/", guards=[managers_only], status_code=HTTP_201_CREATED, summary="Create a contest (organizers)")
    async def create(self, request: Request, data: JSONBody[ContestIn], user: CurrentUser) -> ContestOut:
        actor = require_staff(user, manage=True)
        contest = await actions.create_contest(services_of(request), actor=actor,
                                               **data.model_dump())
        return ContestOut.of(contest, now=utcnow(), staff=True)

    @get("/{slug:str}", summary="One contest")
    async def detail(self, request: Request, slug: FromPath[str], user: CurrentUser) -> ContestOut:
        contest = await _visible_contest(request, slug, user)
        return ContestOut.of(contest, now=utcnow(), staff=is_staff(user))

    @patch("/{slug:str}", guards=[managers_only], summary="Change a contest (organizers)")
    async def update(self, request: Request, slug: FromPath[str], data: JSONBody[ContestPatch],
                     user: CurrentUser) -> ContestOut:
        actor = require_staff(user, manage=True)
        changes = data.model_dump(exclude_unset=True)
        contest = await actions.update_contest(services_of(request), slug, actor=actor, **changes)
        return ContestOut.of(contest, now=utcnow(), staff=True)

    @put("/{slug:str}/plugins/{name:str}", guards=[managers_only], summary="Enable or configure a plugin (organizers)")
    async def configure_plugin(self, request: Request, slug: FromPath[str], name: FromPath[str],
                               data: JSONBody[dict[str, Any]], user: CurrentUser) -> ContestOut:
        actor = require_staff(user, manage=True)
        contest = await actions.configure_plugin(services_of(request), slug, name, data,
                                                 actor=actor)
        return ContestOut.of(contest, now=utcnow(), staff=True)

    @delete("/{slug:str}/plugins/{name:str}", guards=[managers_only], status_code=HTTP_200_OK,
            summary="Disable a plugin (organizers)")
    async def disable_plugin(self, request: Request, slug: FromPath[str], name: FromPath[str],
                             user: CurrentUser) -> ContestOut:
        actor = require_staff(user, manage=True)
        contest = await actions.disable_plugin(services_of(request), slug, name, actor=actor)
        return ContestOut.of(contest, now=utcnow(), staff=True)

    @get("/{slug:str}/problems", summary="The contest's problems")
    async def problems(self, request: Request, slug: FromPath[str],
                       user: CurrentUser) -> list[ContestProblemOut]:
        contest = await _visible_contest(request, slug, user)
        if not is_staff(user) and contest.state_at(utcnow()).value == "scheduled":
            return []
        async with services_of(request).db.read() as session:
            rows = await session.exec(
                select(ContestProblem, Problem)
                .join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
                .where(ContestProblem.contest_id == contest.id)
                .order_by(col(ContestProblem.ordinal), col(ContestProblem.label)))
            return [ContestProblemOut.of(link, p) for link, p in rows]

    @post("/{slug:str}/problems", guards=[managers_only], status_code=HTTP_201_CREATED,
          summary="Add a problem to the contest (organizers)")
    async def add_problem(self, request: Request, slug: FromPath[str], data: JSONBody[ContestProblemIn],
                          user: CurrentUser) -> ContestProblemOut:
        actor = require_staff(user, manage=True)
        services = services_of(request)
        link = await actions.add_contest_problem(
            services, slug, data.problem, label=data.label, points=data.points,
            color=data.color, ordinal=data.ordinal, actor=actor)
        async with services.db.read() as session:
            problem = await session.get(Problem, link.problem_id)
        assert problem is not None
        return ContestProblemOut.of(link, problem)

    @put("/{slug:str}/languages/{language:str}", guards=[managers_only], summary="Enable a language (organizers)")
    async def enable_language(self, request: Request, slug: FromPath[str], language: FromPath[str],
                              user: CurrentUser) -> list[str]:
        actor = require_staff(user, manage=True)
        services = services_of(request)
        await actions.enable_language(services, slug, language, actor=actor)
        return await self._languages(request, slug)

    @get("/{slug:str}/languages", summary="Languages enabled for the contest")
    async def languages(self, request: Request, slug: FromPath[str], user: CurrentUser) -> list[str]:
        await _visible_contest(request, slug, user)
        return await self._languages(request, slug)

    async def _languages(self, request: Request, slug: str) -> list[str]:
        async with services_of(request).db.read() as session:
            contest = await contest_by_ref(session, slug)
            rows = await session.exec(select(ContestLanguage.language).where(
                ContestLanguage.contest_id == contest.id).order_by(col(ContestLanguage.language)))
            return list(rows)

    @get("/{slug:str}/teams", summary="The contest's teams")
    async def teams(self, request: Request, slug: FromPath[str], user: CurrentUser) -> list[TeamOut]:
        contest = await _visible_contest(request, slug, user)
        staff = is_staff(user)
        async with services_of(request).db.read() as session:
            rows = await session.exec(select(Team).where(Team.contest_id == contest.id)
                                      .order_by(col(Team.name)))
            return [TeamOut.of(t) for t in rows if staff or not t.hidden]

    @post("/{slug:str}/teams", guards=[managers_only], status_code=HTTP_201_CREATED, summary="Create a team (organizers)")
    async def create_team(self, request: Request, slug: FromPath[str], data: JSONBody[TeamIn],
                          user: CurrentUser) -> TeamOut:
        actor = require_staff(user, manage=True)
        services = services_of(request)
        member_ids = [(await get_user(services, name)).id for name in data.members]
        team = await actions.create_team(
            services, slug, name=data.name, display_name=data.display_name,
            affiliation_id=data.affiliation_id, group_ids=data.group_ids,
            member_ids=member_ids, hidden=data.hidden, actor=actor)  # type: ignore[arg-type]
        return TeamOut.of(team)

    @get("/{slug:str}/scoreboard", summary="The scoreboard (public view; ?view=jury for staff)")
    async def scoreboard(self, request: Request, slug: FromPath[str], user: CurrentUser,
                         view: FromQuery[str] = "public") -> Response[bytes]:
        services = services_of(request)
        if view == "public" and user is None:
            fast = await services.live.public_state(slug)
            if fast is not None:  # a public contest, authorised at this version: no database
                return Response(fast[1].snapshot("json"), media_type="application/json")
        contest = await _visible_contest(request, slug, user)
        if view not in {"public", "jury"}:
            raise ValidationException("view must be public or jury")
        if view == "jury":
            require_staff(user)
        # The live board's published state: built once per change, served to every reader.
        state = await services.live.state(contest, view)
        if state is None:
            try:
                services.plugins.for_contest(contest).scoring_rule()
            except PluginError as exc:
                raise NotFoundException(f"scoreboard unavailable: {exc}") from None
            raise NotFoundException("scoreboard unavailable")
        if view == "public":
            services.live.remember(contest, state)
        return Response(state.snapshot("json"), media_type="application/json")

    @get("/{slug:str}/event-feed", summary="The contest as a Contest API event feed (NDJSON; "
         "?view=jury for staff)", media_type="application/x-ndjson")
    async def event_feed(self, request: Request, slug: FromPath[str], user: CurrentUser,
                         view: FromQuery[str] = "public") -> Response[bytes]:
        contest = await _visible_contest(request, slug, user)
        if view not in {"public", "jury"}:
            raise ValidationException("view must be public or jury")
        if view == "jury":
            require_staff(user)
        events = await event_feed(services_of(request), contest.id, jury=view == "jury")  # type: ignore[arg-type]
        body = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
        return Response(body.encode(), media_type="application/x-ndjson")

    @post("/{slug:str}/submissions", status_code=HTTP_201_CREATED, summary="Submit code")
    async def submit(self, request: Request, slug: FromPath[str], data: JSONBody[SubmissionIn],
                     user: CurrentUser) -> SubmissionOut:
        user = require_user(user)
        services = services_of(request)
        contest = await _visible_contest(request, slug, user)
        team_id = data.team_id
        if team_id is None:
            team_id = await team_of(services, contest.id, user)  # type: ignore[arg-type]
            if team_id is None:
                raise PermissionDeniedException("you are not in a team of this contest")
        elif not is_staff(user) and team_id != await team_of(services, contest.id, user):  # type: ignore[arg-type]
            raise PermissionDeniedException("you can only submit for your own team")
        try:
            files = {f.filename: f.data() for f in data.files}
        except ValueError as exc:
            raise ValidationException(str(exc)) from None
        if len(files) != len(data.files):
            raise ValidationException("file names must be unique")
        submission = await actions.submit(
            services, contest=contest.id, team_id=team_id, problem=data.problem,  # type: ignore[arg-type]
            language=data.language, files=files, user=user, origin="api",
            entry_point=data.entry_point)
        return SubmissionOut.of(submission)

    @get("/{slug:str}/submissions", summary="Submissions: your team's, or all for staff")
    async def submissions(self, request: Request, slug: FromPath[str],
                          user: CurrentUser) -> list[SubmissionOut]:
        user = require_user(user)
        services = services_of(request)
        contest = await _visible_contest(request, slug, user)
        query = select(Submission).where(Submission.contest_id == contest.id)
        staff = is_staff(user)
        if not staff:
            team_id = await team_of(services, contest.id, user)  # type: ignore[arg-type]
            if team_id is None:
                return []
            query = query.where(Submission.team_id == team_id)
        async with services.db.read() as session:
            rows = await session.exec(query.order_by(col(Submission.submitted_at).desc()))
            return [SubmissionOut.of(s) for s in rows]


async def _own_submission(request: Request, submission_id: int, user: User | None) -> Submission:
    """The submission if the user is staff or in its team; 404 otherwise (no existence leak)."""
    user = require_user(user)
    services = services_of(request)
    async with services.db.read() as session:
        submission = await session.get(Submission, submission_id)
    if submission is None or not (
        is_staff(user) or await team_of(services, submission.contest_id, user) == submission.team_id
    ):
        raise NotFoundException(f"submission {submission_id} does not exist")
    return submission


class SubmissionController(Controller):
    path = "/submissions"

    @get("/{submission_id:int}", summary="One submission (own team or staff)")
    async def detail(self, request: Request, submission_id: FromPath[int],
                     user: CurrentUser) -> SubmissionOut:
        return SubmissionOut.of(await _own_submission(request, submission_id, user))

    @get("/{submission_id:int}/source", summary="A submission's files (own team or staff)")
    async def source(self, request: Request, submission_id: FromPath[int],
                     user: CurrentUser) -> list[dict[str, str]]:
        submission = await _own_submission(request, submission_id, user)
        async with services_of(request).db.read() as session:
            files = await session.exec(select(SubmissionFile).where(
                SubmissionFile.submission_id == submission.id)
                .order_by(col(SubmissionFile.filename)))
            return [{"filename": f.filename, "encoding": "base64",
                     "content": base64.b64encode(f.content).decode()} for f in files]


OPEN_WRITES = frozenset({"/api/v1/auth/token"})


async def writes_need_a_token(connection: ASGIConnection[Any, Any, Any, Any],
                              _: BaseRouteHandler) -> None:
    """Every API write needs a bearer token, checked before the body is read: an anonymous
    caller gets 401, never a 400 about a body it had no right to send."""
    if connection.scope.get("method", "GET") in ("GET", "HEAD", "OPTIONS"):
        return
    if connection.scope["path"] in OPEN_WRITES:
        return
    if await current_api_user(connection) is None:  # type: ignore[arg-type]
        raise NotAuthorizedException("authentication required")


api_router = Router(
    path="/api/v1",
    guards=[writes_need_a_token],
    route_handlers=[AuthController, UserController, CatalogController, ProblemController,
                    ContestController, SubmissionController, RejudgingController,
                    LeaderboardController, FreezeController],
    dependencies={"user": Provide(current_api_user)},
    tags=["api"],
)
