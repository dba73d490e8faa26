"""One settings object, read from ``PODIUM_*`` environment variables and an optional TOML file.

Precedence, highest first: keyword arguments, environment variables, the TOML file named by
``PODIUM_CONFIG`` (or ``<data dir>/podium.toml`` when it exists), built-in defaults.

No database URL and no Redis URL means the *embedded* mode: a SQLite file in the data dir and
the in-memory queue, scoreboard index, channels and stores. Anything else is *production* mode,
where a secret key is required.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["ConfigurationError", "Settings", "load_settings"]

CommaList = Annotated[tuple[str, ...], NoDecode]


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _config_file() -> Path | None:
    explicit = os.environ.get("PODIUM_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigurationError(f"PODIUM_CONFIG={explicit!r}: no such file")
        return path
    data_dir = Path(os.environ.get("PODIUM_DATA_DIR", "data"))
    candidate = data_dir / "podium.toml"
    return candidate if candidate.is_file() else None


class Settings(BaseSettings):
    """Every knob Podium has. Field descriptions feed the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL (postgresql+asyncpg://… or sqlite+aiosqlite:///…). "
        "Unset: a SQLite file in the data dir.",
    )
    db_pool_size: int = Field(
        25, ge=1, le=1000,
        description="PostgreSQL connections each process keeps open (5 more for bursts, closed "
        "again after use). Size PostgreSQL's max_connections for every web process and worker.",
    )
    redis_url: str | None = Field(
        None, description="redis://host:port/db. Unset: in-memory queue, index, channels, stores."
    )
    redis_prefix: str = Field("podium:", description="Prefix of every Redis key and channel.")
    secret_key: SecretStr | None = Field(
        None,
        description="Signs sessions and tokens. Required in production mode; the embedded mode "
        "generates one and keeps it in the data dir.",
    )
    data_dir: Path = Field(Path("data"), description="Where SQLite, blobs and exports live.")
    mode: Literal["auto", "embedded", "production"] = Field(
        "auto",
        description="auto = embedded when neither a database nor a Redis URL is set.",
    )
    debug: bool = Field(False, description="Litestar debug mode (tracebacks in responses); "
                        "templates are reloaded when their files change (otherwise a changed "
                        "theme shows after a restart).")
    log_level: str = Field("INFO", description="Log level of the structured logs.")
    log_json: bool = Field(False, description="Logs as JSON lines instead of console text.")
    plugins: CommaList | None = Field(
        None, description="Allow list of plugin names (comma separated). Unset: every plugin."
    )
    disable_plugins: CommaList = Field(
        (), description="Block list of plugin names (comma separated)."
    )
    default_theme: str = Field("default", description="Theme of pages outside a contest.")
    default_locale: str = Field(
        "en",
        description="Language (a compiled catalog under server/i18n) of the live scoreboards, "
        "which are rendered once for every viewer, and of pages for visitors whose browser "
        "asks for no language Podium has; English when it has no catalog.")
    allowed_origins: CommaList = Field(
        (),
        description="Extra origins allowed to open WebSockets (the server's own is always allowed).",
    )
    registration: Literal["open", "invite", "closed"] = Field(
        "open",
        description="Who may create an account on the sign-up page: anyone (open), whoever "
        "knows the invite code (invite), or nobody (closed: admins create accounts).",
    )
    invite_code: SecretStr | None = Field(
        None, description="The code the sign-up page asks for when registration is 'invite'.")
    login_rate_limit: int = Field(
        10, ge=1, description="Failed logins allowed per username and per client address "
        "within 5 minutes (shared by every web process through Redis).")
    submission_rate_limit: int = Field(
        10, ge=1, description="Submissions a team may make per minute from the web pages.")
    secure_cookies: bool = Field(
        False,
        description="Mark the session and CSRF cookies Secure (sent over HTTPS only). Turn it "
        "on when Podium is served over HTTPS, as it should be on a network you do not trust.",
    )
    sql_echo: bool = Field(False, description="Log every SQL statement.")
    judge_lease_seconds: float = Field(
        60.0, gt=0,
        description="A judge host that sends no heartbeat for this long loses its job, which "
        "goes to another host.",
    )
    embedded_judges: int | None = Field(
        None, ge=0, le=64,
        description="Judge loops `podium serve` runs in its own process (the judge API over "
        "memory, the first sandbox that works here). Unset: 1 in the embedded mode, 0 in "
        "production (run `podium worker` hosts).",
    )

    @field_validator("plugins", "disable_plugins", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url", "redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                "PODIUM_DATABASE_URL must start with postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # -- derived -----------------------------------------------------------------------------

    @property
    def is_embedded(self) -> bool:
        if self.mode != "auto":
            return self.mode == "embedded"
        return self.database_url is None and self.redis_url is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'podium.sqlite3').resolve()}"

    @cached_property
    def secret(self) -> str:
        """The secret key; generated and kept in the data dir in the embedded mode."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        if not self.is_embedded:
            raise ConfigurationError(
                "PODIUM_SECRET_KEY is not set. Production mode (a database or Redis URL is "
                "configured) needs a fixed secret key shared by every web process: generate one "
                'with `python3 -c "import secrets; print(secrets.token_urlsafe(48))"` and set '
                "PODIUM_SECRET_KEY."
            )
        path = self.data_dir / "secret_key"
        if path.is_file():
            key = path.read_text().strip()
            if key:
                return key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key

    def check(self) -> None:
        """Start-up validation: raises ConfigurationError with a clear message."""
        _ = self.secret
        if self.registration == "invite" and not (
                self.invite_code and self.invite_code.get_secret_value().strip()):
            raise ConfigurationError(
                "PODIUM_REGISTRATION=invite needs PODIUM_INVITE_CODE (the code people sign up with)")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; configuration mistakes become ConfigurationError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"PODIUM_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
