"""Leaderboards in the JSON API, under ``/api/v1/leaderboards`` (``{ref}`` is an id or a slug).

Reads (``GET /``, ``/{ref}``, ``/{ref}/top?limit=``, ``/{ref}/around/{player}?range=``,
``/{ref}/player/{player}``, ``/{ref}/range?start=&end=`` by position, ``/{ref}/count``) are
open to anyone for a public leaderboard and to staff for a private one. Changes (``POST /``,
``POST /{ref}/scores``, ``POST /{ref}/reset``, ``DELETE /{ref}``,
``DELETE /{ref}/player/{player}``) are for admins: an integration posts scores with an admin's
API token. Every entry carries its rank: equal scores share one, the earlier achiever first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.actions import leaderboards as lb
from server.models import Leaderboard, Role, User
from server.web.auth import CurrentUser, admins_only, is_staff, require_user, services_of

__all__ = ["EntryOut", "LeaderboardController", "LeaderboardIn", "LeaderboardOut", "ScoresIn"]


class LeaderboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(min_length=1, max_length=64)
    title: str | None = Field(default=None, max_length=255)
    sort_order: Literal["desc", "asc"] = "desc"
    reset_period: Literal["never", "daily", "weekly", "monthly"] = "never"
    update_mode: Literal["replace", "increment", "best"] = "best"
    max_entries: int | None = Field(default=None, ge=1)
    public: bool = True


class LeaderboardOut(BaseModel):
    id: int
    slug: str
    title: str
    sort_order: str
    reset_period: str
    update_mode: str
    max_entries: int | None
    public: bool
    period_started_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, b: Leaderboard) -> LeaderboardOut:
        return cls(id=b.id or 0, slug=b.slug, title=b.title, sort_order=b.sort_order,
                   reset_period=b.reset_period, update_mode=b.update_mode,
                   max_entries=b.max_entries, public=b.public,
                   period_started_at=b.period_started_at, created_at=b.created_at)


class LeaderboardInfo(LeaderboardOut):
    entries: int


class EntryOut(BaseModel):
    player: str
    score: float
    rank: int
    updated_at: datetime
    """When the score was achieved (equal scores: the earlier one is listed first)."""

    @classmethod
    def of(cls, e: lb.RankedEntry) -> EntryOut:
        return cls(player=e.player, score=e.score, rank=e.rank, updated_at=e.updated_at)


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    player: str = Field(min_length=1, max_length=128)
    score: int | float = Field(
        allow_inf_nan=False,
        description="A finite double; an integer beyond 2**53 that a double cannot hold "
        "exactly is refused (400) rather than rounded")

    @field_validator("score", mode="before")
    @classmethod
    def _not_past_the_largest_double(cls, value: Any) -> Any:
        # an int | float field raises OverflowError (a 500) on such an int
        if isinstance(value, int) and abs(value) >= 2**1024:
            raise ValueError("the score is past the largest double")
        return value


class ScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: list[ScoreIn] = Field(min_length=1, max_length=lb.MAX_BATCH)
    mode: Literal["replace", "increment", "best"] | None = Field(
        default=None, description="Overrides the leaderboard's update mode for this batch")


class ScoresOut(BaseModel):
    entries: list[EntryOut | None]
    """Each submitted score's resulting entry, in order; null where the cap dropped it."""


def _require_admin(user: User | None) -> User:
    user = require_user(user)
    if user.role != Role.ADMIN.value:
        raise PermissionDeniedException("admins only")
    return user


async def _readable(request: Request, ref: str, user: User | None) -> Leaderboard:
    board = await lb.read_leaderboard(services_of(request), ref)
    if not board.public and not is_staff(user):
        if user is None:
            raise NotAuthorizedException("authentication required")
        raise PermissionDeniedException("this leaderboard is private")
    return board


class LeaderboardController(Controller):
    path = "/leaderboards"
    opt = {"skip_session": True}
    """The API authenticates by bearer token only: no session cookie to load or clear."""

    @get("/", summary="Leaderboards (public ones; staff see every one)")
    async def index(self, request: Request, user: CurrentUser) -> list[LeaderboardOut]:
        boards = await lb.list_leaderboards(services_of(request), include_private=is_staff(user))
        return [LeaderboardOut.of(b) for b in boards]

    @post("/", guards=[admins_only], status_code=HTTP_201_CREATED, summary="Create a leaderboard (admins)")
    async def create(self, request: Request, data: JSONBody[LeaderboardIn],
                     user: CurrentUser) -> LeaderboardOut:
        actor = _require_admin(user)
        board = await lb.create_leaderboard(services_of(request), actor=actor,
                                            **data.model_dump())
        return LeaderboardOut.of(board)

    @get("/{ref:str}", summary="A leaderboard and its number of entries")
    async def info(self, request: Request, ref: FromPath[str],
                   user: CurrentUser) -> LeaderboardInfo:
        board = await _readable(request, ref, user)
        count = await lb.count_entries(services_of(request), board)
        return LeaderboardInfo(**LeaderboardOut.of(board).model_dump(), entries=count)

    @get("/{ref:str}/top", summary="The first entries")
    async def top(self, request: Request, ref: FromPath[str], user: CurrentUser,
                  limit: FromQuery[int] = 10) -> list[EntryOut]:
        board = await _readable(request, ref, user)
        return [EntryOut.of(e) for e in await lb.top(services_of(request), board, limit)]

    @get("/{ref:str}/around/{player:str}",
         summary="A player's entry with up to `range` entries before and after")
    async def around(self, request: Request, ref: FromPath[str], player: FromPath[str],
                     user: CurrentUser, range: FromQuery[int] = 5) -> list[EntryOut]:  # noqa: A002
        board = await _readable(request, ref, user)
        entries = await lb.players_around(services_of(request), board, player, range)
        return [EntryOut.of(e) for e in entries]

    @get("/{ref:str}/player/{player:str}", summary="A player's entry and rank")
    async def player(self, request: Request, ref: FromPath[str], player: FromPath[str],
                     user: CurrentUser) -> EntryOut:
        board = await _readable(request, ref, user)
        return EntryOut.of(await lb.player_entry(services_of(request), board, player))

    @get("/{ref:str}/range", summary="Entries at positions start..end (1-based, inclusive)")
    async def by_rank(self, request: Request, ref: FromPath[str], user: CurrentUser,
                      start: FromQuery[int], end: FromQuery[int]) -> list[EntryOut]:
        board = await _readable(request, ref, user)
        entries = await lb.by_rank(services_of(request), board, start, end)
        return [EntryOut.of(e) for e in entries]

    @get("/{ref:str}/count", summary="How many entries the leaderboard holds")
    async def count(self, request: Request, ref: FromPath[str],
                    user: CurrentUser) -> dict[str, int]:
        board = await _readable(request, ref, user)
        return {"count": await lb.count_entries(services_of(request), board)}

    @post("/{ref:str}/scores", guards=[admins_only], status_code=HTTP_200_OK,
          summary="Submit a batch of scores (admins and integrations with an admin token)")
    async def scores(self, request: Request, ref: FromPath[str], data: JSONBody[ScoresIn],
                     user: CurrentUser) -> ScoresOut:
        actor = _require_admin(user)
        entries = await lb.submit_scores(services_of(request), ref,
                                         [(s.player, s.score) for s in data.scores],
                                         mode=data.mode, actor=actor)
        return ScoresOut(entries=[None if e is None else EntryOut.of(e) for e in entries])

    @post("/{ref:str}/reset", guards=[admins_only], status_code=HTTP_200_OK, summary="Empty the leaderboard (admins)")
    async def reset(self, request: Request, ref: FromPath[str],
                    user: CurrentUser) -> dict[str, int]:
        actor = _require_admin(user)
        return {"removed": await lb.reset_leaderboard(services_of(request), ref, actor=actor)}

    @delete("/{ref:str}", guards=[admins_only], summary="Delete the leaderboard (admins)")
    async def remove(self, request: Request, ref: FromPath[str], user: CurrentUser) -> None:
        actor = _require_admin(user)
        await lb.delete_leaderboard(services_of(request), ref, actor=actor)

    @delete("/{ref:str}/player/{player:str}", guards=[admins_only], summary="Remove a player's entry (admins)")
    async def remove_player(self, request: Request, ref: FromPath[str], player: FromPath[str],
                            user: CurrentUser) -> None:
        actor = _require_admin(user)
        await lb.remove_player(services_of(request), ref, player, actor=actor)

