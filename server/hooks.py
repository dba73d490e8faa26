"""The plugin contract: every hook specification Podium has, in one module.

A plugin is any object (usually a module) registered under the ``podium`` entry-point group::

    [project.entry-points.podium]
    my_rule = "my_package.my_rule"

and marks its hook implementations with :data:`hookimpl`. A third-party plugin does not need to
import Podium for that: ``pluggy.HookimplMarker("podium")`` is the same marker.

There are three families of hooks.

**Register hooks** return components (see :mod:`server.components`); the core collects them
from every loaded plugin into catalogs, and each contest picks the ones it uses by name.

**Event hooks** are broadcast *after* the change is committed. They are contest-scoped: only
plugins enabled for the contest receive them, each with its own validated settings for that
contest in the ``settings`` argument. An implementation may be a plain function or return an
awaitable; the core awaits it. An exception in an event hook is logged and never undoes the
change that caused it.

**UI hooks** add routes, menu links, template folders and template variables.

Each hook below says when it is called, what it receives and what it returns. Like every pluggy
hook, an implementation may accept any subset of the specified arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from server.components import (
        Badge,
        Checker,
        Language,
        LevelSystem,
        ScoringRule,
        StandingRow,
        SyncTarget,
    )
    from server.services import Services

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "podium"

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification (used only in this module)."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a hook implementation in a plugin."""

MaybeAwaitable = Any | Awaitable[Any]

# ------------------------------------------------------------------------ register hooks


@hookspec
def podium_scoring_rules() -> Sequence[ScoringRule]:
    """Contribute scoring rules.

    Called once at start-up. Returns :class:`server.components.ScoringRule` instances; a contest
    selects one by its ``name`` and stores settings validated against the rule's ``Settings``.
    """


@hookspec
def podium_level_systems() -> Sequence[LevelSystem]:
    """Contribute level systems.

    Called once at start-up. Returns :class:`server.components.LevelSystem` instances. A level
    system acts in a contest only when its plugin is enabled there; it then receives the
    plugin's settings for that contest whenever a team's standings row changes.
    """


@hookspec
def podium_badges() -> Sequence[Badge]:
    """Contribute badges.

    Called once at start-up. Returns :class:`server.components.Badge` instances. A badge acts
    in a contest only when its plugin is enabled there; ``on_verdict`` is called after every
    recorded verdict, and each grant it returns is stored once (the ``podium_badge_awarded``
    event follows).
    """


@hookspec
def podium_languages() -> Sequence[Language]:
    """Contribute language judges.

    Called once at start-up. Returns :class:`server.components.Language` instances; a contest
    enables languages by ``name``. Languages are a global catalog: they need no per-contest
    plugin enabling.
    """


@hookspec
def podium_checkers() -> Sequence[Checker]:
    """Contribute output checkers.

    Called once at start-up. Returns :class:`server.components.Checker` instances; a problem
    names its checker. Checkers are a global catalog.
    """


@hookspec
def podium_sync_targets() -> Sequence[SyncTarget]:
    """Contribute storage sync targets (exports, mirrors, recovery).

    Called once at start-up. Returns :class:`server.components.SyncTarget` instances. A sync
    target acts in a contest only when its plugin is enabled there; ``standings_changed`` is
    awaited after every standings change with the plugin's settings for that contest.
    """


@hookspec
def podium_themes() -> dict[str, Path]:
    """Contribute themes.

    Called once at start-up. Returns a mapping of theme name to a folder holding
    ``templates/`` and optionally ``static/``. Built-in themes live in the ``themes/`` folder.
    """


@hookspec
def podium_settings_schema() -> type[BaseModel] | None:
    """Declare the plugin's per-contest settings.

    Called for one plugin at a time when an organizer enables or configures it for a contest.
    Returns a pydantic model class (the settings are validated against it before they are
    saved, and its JSON schema drives the admin form), or ``None`` for no settings.
    """


# --------------------------------------------------------------------------- event hooks


@hookspec
def podium_startup(services: Services) -> MaybeAwaitable:
    """The app (or a worker) has started and its services are ready.

    Called once per process for every loaded plugin. May return an awaitable.
    """


@hookspec
def podium_shutdown(services: Services) -> MaybeAwaitable:
    """The process is shutting down; release what ``podium_startup`` acquired.

    Called once per process for every loaded plugin, before the database and Redis connections
    close. May return an awaitable.
    """


@hookspec
def podium_submission_created(
    services: Services, contest: Any, submission: Any, settings: BaseModel | None
) -> MaybeAwaitable:
    """A submission was stored and queued.

    Called after commit for plugins enabled in the submission's contest, with the contest and
    submission rows (read-only: write through ``server.actions``). May return an awaitable.
    """


@hookspec
def podium_verdict_recorded(
    services: Services, contest: Any, submission: Any, judging: Any, settings: BaseModel | None
) -> MaybeAwaitable:
    """A judging's final verdict was recorded.

    Called after commit (and after the standings were updated) for plugins enabled in the
    contest. May return an awaitable.
    """


@hookspec
def podium_standings_changed(
    services: Services, contest: Any, rows: Sequence[StandingRow], settings: BaseModel | None
) -> MaybeAwaitable:
    """The contest's standings changed; ``rows`` is the full, ordered (jury) board.

    Called after commit for plugins enabled in the contest. May return an awaitable.
    """


@hookspec
def podium_contest_state_changed(
    services: Services, contest: Any, old: str | None, new: str, settings: BaseModel | None
) -> MaybeAwaitable:
    """The contest moved from state ``old`` to ``new``.

    States: ``scheduled``, ``running``, ``frozen``, ``ended``, ``unfrozen``. Called after
    commit for plugins enabled in the contest. May return an awaitable.
    """


@hookspec
def podium_badge_awarded(
    services: Services, contest: Any, award: Any, settings: BaseModel | None
) -> MaybeAwaitable:
    """A badge was awarded (the award row is committed).

    Called for plugins enabled in the contest. May return an awaitable.
    """


@hookspec
def podium_level_changed(
    services: Services, contest: Any, state: Any, old_level: str | None, settings: BaseModel | None
) -> MaybeAwaitable:
    """A team's level changed (the level state row is committed).

    Called for plugins enabled in the contest. May return an awaitable.
    """


# ------------------------------------------------------------------------------ UI hooks


@hookspec
def podium_routes() -> Sequence[Any]:
    """Contribute Litestar route handlers or routers.

    Called once when the app is built. Returns a list of handlers or routers, mounted as they
    are, so a plugin should
    put them under ``/plugins/<its name>/``. They are global: a handler that serves a contest
    must check that the plugin is enabled for it.
    """


@hookspec
def podium_template_dirs() -> Sequence[Path]:
    """Contribute template folders.

    Called once when the app is built. Returns a list of folders, searched after the active
    theme and before the default theme, so a theme can still override a plugin's template.
    """


@hookspec
def podium_menu_links(contest: Any, user: Any, settings: BaseModel | None) -> Sequence[Any]:
    """Add links to a contest's menu.

    Called when a contest page is rendered, for plugins enabled in the contest. Returns
    ``(label, url)`` pairs.
    """


@hookspec
def podium_template_vars(
    template: str, contest: Any, user: Any, settings: BaseModel | None
) -> dict[str, Any] | None:
    """Add variables to a page's template context.

    Called when a page is rendered: for every loaded plugin outside a contest, for the plugins
    enabled in the contest on a contest page (with their settings). Returns a dict merged into
    the context, or ``None``.
    """
