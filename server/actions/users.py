"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import zoneinfo
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, get_or_404, publish, unit_of_work
from server.i18n import N_, available_locales
from server.actions.errors import Invalid, NotFound
from server.models import ApiToken, Role, User, utcnow
from server.services import Services

__all__ = [
    "add_user",
    "authenticate",
    "hash_password",
    "create_api_token",
    "create_user",
    "get_user",
    "hash_token",
    "set_password",
    "update_user",
    "user_for_token",
]

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD = 8


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2 hash, for callers that create many users with one password (imports, demo)."""
    _check_password(password)
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(N_("password must have at least %(min_password)s characters"),
                      min_password=MIN_PASSWORD, field="password")


async def create_user(
    services: Services,
    username: str,
    *,
    password: str | None = None,
    password_hash: str | None = None,
    role: str = Role.CONTESTANT.value,
    display_name: str = "",
    email: str | None = None,
    actor: User | None = None,
) -> User:
    if not USERNAME_RE.match(username):
        raise Invalid(
            N_("username must be 2-64 letters, digits, '_', '.' or '-'"), field="username"
        )
    if role not in {r.value for r in Role}:
        raise Invalid(
            N_("role must be one of %(choices)s"),
            choices=', '.join(r.value for r in Role), field="role"
        )
    if password is not None:
        _check_password(password)
        password_hash = _hasher.hash(password)
    elif password_hash is not None and not password_hash.startswith("$argon2"):
        raise Invalid(N_("password_hash must be an argon2 hash"), field="password")
    async with unit_of_work(services, conflict=(N_("user %(username)r already exists"),
                                                {"username": username})) as session:
        user = await add_user(session, username, password_hash=password_hash, role=role,
                              display_name=display_name, email=email, actor=actor)
    await publish(services, "user.created", {"id": user.id, "username": username})
    return user


async def add_user(session: AsyncSession, username: str, *, password_hash: str | None,
                   role: str = Role.CONTESTANT.value, display_name: str = "",
                   email: str | None = None, actor: User | None = None) -> User:
    """Store a checked user and its audit entry in the caller's transaction (the caller
    publishes ``user.created`` after the commit)."""
    user = User(username=username, role=role, display_name=display_name or username,
                email=email, password_hash=password_hash)
    session.add(user)
    await session.flush()
    audit(session, actor=actor, action="user.create", object_type="user", object_id=user.id,
          data={"username": username, "role": role})
    return user


async def set_password(services: Services, user_id: int, password: str, *, actor: User | None = None) -> None:
    _check_password(password)
    async with unit_of_work(services) as session:
        user = await get_or_404(session, User, user_id, "user")
        user.password_hash = _hasher.hash(password)
        session.add(user)
        audit(session, actor=actor, action="user.password", object_type="user", object_id=user_id)


async def authenticate(services: Services, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    async with unit_of_work(services) as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
        if user is None or not user.is_active or not user.password_hash:
            _hasher.hash(password)  # same cost whether or not the user exists
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = utcnow()
        session.add(user)
        return user


async def create_api_token(
    services: Services, user_id: int, *, name: str = "", expires_at: datetime | None = None
) -> str:
    """A new bearer token for the user; the plaintext is returned once and never stored."""
    token = "pod_" + secrets.token_urlsafe(32)
    async with unit_of_work(services) as session:
        await get_or_404(session, User, user_id, "user")
        session.add(ApiToken(user_id=user_id, name=name, token_hash=hash_token(token),
                             expires_at=expires_at))
    return token


async def user_for_token(services: Services, token: str) -> User | None:
    async with services.db.read() as session:
        row = (
            await session.exec(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
                .where(ApiToken.token_hash == hash_token(token))
            )
        ).first()
    if row is None:
        return None
    api_token, user = row
    if not user.is_active:
        return None
    if api_token.expires_at is not None and api_token.expires_at <= utcnow():
        return None
    return user


async def get_user(services: Services, username: str) -> User:
    async with services.db.session() as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
    if user is None:
        raise NotFound(N_("user %(username)r does not exist"), username=username)
    return user


async def update_user(
    services: Services,
    user_id: int,
    *,
    display_name: str | None = None,
    email: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    timezone: str | None = None,
    locale: str | None = None,
    actor: User | None = None,
) -> User:
    """Change a user's profile, role or active flag (an organizer's edit, or the user's own
    account page); None keeps a field, "" clears ``email``, ``timezone`` and ``locale``.

    Who may change what (only an admin makes or unmakes admins) is the caller's check."""
    if role is not None and role not in {r.value for r in Role}:
        raise Invalid(N_("role must be one of %(choices)s"),
                      choices=', '.join(r.value for r in Role), field="role")
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name or len(display_name) > 128:
            raise Invalid(N_("display name must be 1-128 characters"), field="display_name")
    if email is not None:
        email = email.strip()
        if email and ("@" not in email or len(email) > 255):
            raise Invalid(N_("enter a valid e-mail address (or leave it empty)"), field="email")
    if timezone and timezone not in zoneinfo.available_timezones():
        raise Invalid(N_("unknown time zone"), field="timezone")
    if locale and locale not in available_locales():
        raise Invalid(N_("unknown language"), field="locale")
    async with unit_of_work(services) as session:
        user = await get_or_404(session, User, user_id, "user")
        changes: dict[str, object] = {}
        for name, value in (("display_name", display_name), ("role", role),
                            ("is_active", is_active), ("email", email),
                            ("timezone", timezone), ("locale", locale)):
            if value is None:
                continue
            if name in ("email", "timezone", "locale"):
                value = value or None
            if getattr(user, name) != value:
                changes[name] = value
                setattr(user, name, value)
        if changes:
            session.add(user)
            audit(session, actor=actor, action="user.update", object_type="user",
                  object_id=user_id, data=changes)
    if changes:
        await publish(services, "user.updated", {"id": user_id, **changes})
    return user
