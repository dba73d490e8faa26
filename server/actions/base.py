"""What every action shares: the unit of work, the audit log and emitting events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.errors import Conflict, NotFound
from server.i18n import N_
from server.models import AuditEntry, Contest, User
from server.services import Services

__all__ = ["audit", "emit", "get_or_404", "publish", "unit_of_work", "contest_by_ref"]

log = logging.getLogger("podium.actions")

M = TypeVar("M", bound=SQLModel)


@asynccontextmanager
async def unit_of_work(services: Services, *,
                       conflict: str | tuple[str, dict[str, Any]] | None = None
                       ) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits on success and rolls back on error.

    ``conflict`` turns an integrity error (a unique constraint) into a Conflict with that
    message (an ``N_`` msgid, or a msgid and its parameters).
    """
    async with services.db.session() as session:
        try:
            yield session
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            if conflict is None:
                raise
            message, params = conflict if isinstance(conflict, tuple) else (conflict, {})
            raise Conflict(message, **params) from exc
        except BaseException:
            await session.rollback()
            raise


async def get_or_404(session: AsyncSession, model: type[M], ident: Any, what: str | None = None) -> M:
    obj = await session.get(model, ident)
    if obj is None:
        raise NotFound(N_("%(what)s %(ident)r does not exist"),
                       what=what or model.__name__.lower(), ident=ident)
    return obj


async def contest_by_ref(session: AsyncSession, ref: int | str) -> Contest:
    """A contest by id or slug."""
    if isinstance(ref, int):
        return await get_or_404(session, Contest, ref, "contest")
    contest = (await session.exec(select(Contest).where(Contest.slug == ref))).first()
    if contest is None:
        raise NotFound(N_("contest %(ref)r does not exist"), ref=ref)
    return contest


def audit(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: Any = "",
    contest_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log in the caller's transaction (it commits with the change)."""
    session.add(
        AuditEntry(
            actor_id=actor.id if actor is not None else None,
            contest_id=contest_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data or {},
        )
    )


async def publish(services: Services, event_type: str, data: dict[str, Any], *, contest_id: int | None = None) -> None:
    """Publish on the event bus: topic ``contest:<id>`` for contest events, ``global`` otherwise."""
    payload = {"type": event_type, "contest_id": contest_id, **data}
    topic = f"contest:{contest_id}" if contest_id is not None else "global"
    try:
        await services.bus.publish(topic, payload)
    except Exception:  # the change is committed; a bus outage must not turn it into an error
        log.exception("could not publish %s", event_type)


async def emit(
    services: Services,
    contest: Contest,
    event_type: str,
    data: dict[str, Any],
    *,
    hook: str | None = None,
    **hook_kwargs: Any,
) -> None:
    """After commit: publish the event, then call the hook on the contest's enabled plugins."""
    await publish(services, event_type, data, contest_id=contest.id)
    if hook is not None:
        await services.plugins.for_contest(contest).emit(
            hook, services=services, contest=contest, **hook_kwargs
        )
