"""Plugin manager: discovery, start-up validation, catalogs and per-contest enabling.

One :class:`PluginRegistry` per app instance (never a global one). Plugins are found through
the ``podium`` entry-point group; built-in plugins are registered there exactly like a
third-party distribution's. ``PODIUM_PLUGINS`` (allow list) and ``PODIUM_DISABLE_PLUGINS``
(block list) filter them by entry-point name.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

import pluggy
from pydantic import BaseModel, ValidationError

from server import hooks
from server.components import (
    Badge,
    Checker,
    Language,
    LevelSystem,
    NoSettings,
    ScoringRule,
    SyncTarget,
)

__all__ = [
    "ContestPlugins",
    "PluginError",
    "PluginInfo",
    "PluginRegistry",
    "PluginSettingsError",
]

log = logging.getLogger("podium.plugins")

C = TypeVar("C")


class PluginError(RuntimeError):
    """A plugin could not be loaded or breaks the contract; the message names the plugin."""


class PluginSettingsError(ValueError):
    """Settings for a plugin or component do not match its declared schema."""

    def __init__(self, name: str, errors: Sequence[str]) -> None:
        self.name = name
        self.errors = list(errors)
        super().__init__(f"invalid settings for {name!r}: " + "; ".join(self.errors))


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool


@dataclass(slots=True)
class Catalog(Generic[C]):
    """Components of one family, by name, with the plugin that provides each."""

    family: str
    items: dict[str, C] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)

    def add(self, plugin: str, component: C) -> None:
        name = getattr(component, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r}: a {self.family} component has no name")
        if name in self.items:
            raise PluginError(
                f"plugin {plugin!r}: {self.family} {name!r} is already provided by plugin "
                f"{self.providers[name]!r}"
            )
        self.items[name] = component
        self.providers[name] = plugin

    def get(self, name: str) -> C | None:
        return self.items.get(name)

    def names(self) -> list[str]:
        return sorted(self.items)

    def __contains__(self, name: object) -> bool:
        return name in self.items

    def __len__(self) -> int:
        return len(self.items)


def _errors(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
    ]


def validate_model(name: str, model: type[BaseModel], data: Mapping[str, Any] | None) -> BaseModel:
    try:
        return model.model_validate(dict(data or {}))
    except ValidationError as exc:
        raise PluginSettingsError(name, _errors(exc)) from None


_FAMILIES: dict[str, tuple[str, type]] = {
    "scoring_rules": ("podium_scoring_rules", ScoringRule),
    "level_systems": ("podium_level_systems", LevelSystem),
    "badges": ("podium_badges", Badge),
    "languages": ("podium_languages", Language),
    "checkers": ("podium_checkers", Checker),
    "sync_targets": ("podium_sync_targets", SyncTarget),
}


class PluginRegistry:
    """The plugin manager of one app instance."""

    def __init__(
        self, *, allow: Iterable[str] | None = None, block: Iterable[str] = ()
    ) -> None:
        self.pm = pluggy.PluginManager(hooks.PROJECT)
        self.pm.add_hookspecs(hooks)
        self.allow = None if allow is None else frozenset(allow)
        self.block = frozenset(block)
        self.info: dict[str, PluginInfo] = {}
        self.skipped: dict[str, str] = {}
        self.scoring_rules: Catalog[ScoringRule] = Catalog("scoring rule")
        self.level_systems: Catalog[LevelSystem] = Catalog("level system")
        self.badges: Catalog[Badge] = Catalog("badge")
        self.languages: Catalog[Language] = Catalog("language")
        self.checkers: Catalog[Checker] = Catalog("checker")
        self.sync_targets: Catalog[SyncTarget] = Catalog("sync target")
        self.themes: dict[str, Path] = {}
        self.template_dirs: list[Path] = []
        self._schemas: dict[str, type[BaseModel] | None] = {}
        self._finalized = False

    # -- loading -----------------------------------------------------------------------------

    def load_entrypoints(self, group: str = hooks.PROJECT) -> None:
        """Load every allowed plugin of the entry-point group."""
        seen: set[str] = set()
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            if ep.name in seen:
                # The same distribution can be visible twice (e.g. an editable install and a
                # source tree on sys.path); the first one wins.
                continue
            seen.add(ep.name)
            if self.allow is not None and ep.name not in self.allow:
                self.skipped[ep.name] = "not in PODIUM_PLUGINS"
                continue
            if ep.name in self.block:
                self.skipped[ep.name] = "in PODIUM_DISABLE_PLUGINS"
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}) failed to import: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            dist = ep.dist
            self.register(
                plugin,
                ep.name,
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )

    def register(
        self,
        plugin: object,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
    ) -> None:
        if self._finalized:
            raise PluginError(f"plugin {name!r}: the registry is already started")
        if name in self.info:
            raise PluginError(f"two plugins are named {name!r}")
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {name!r}: {exc}") from exc
        module = getattr(plugin, "__name__", type(plugin).__name__)
        self.info[name] = PluginInfo(
            name=name,
            module=module,
            distribution=distribution,
            version=version,
            builtin=distribution == "podium",
        )

    def finalize(self) -> None:
        """Validate every plugin against the contract and build the catalogs.

        Fails (PluginError) on a hook implementation that matches no hook specification, which
        is almost always a misspelled hook name, and on bad or duplicate components.
        """
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin_name = self.pm.get_name(exc.plugin) or "?"
            raise PluginError(
                f"plugin {plugin_name!r}: {exc}. Hook names must match one in server/hooks.py "
                f"(a misspelling?)."
            ) from exc
        for attr, (hook_name, base) in _FAMILIES.items():
            catalog: Catalog[Any] = getattr(self, attr)
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                for component in impl.function() or ():
                    if isinstance(component, type):
                        component = component()
                    if not isinstance(component, base):
                        raise PluginError(
                            f"plugin {impl.plugin_name!r}: {hook_name} returned "
                            f"{component!r}, not a {base.__name__}"
                        )
                    catalog.add(impl.plugin_name, component)
        for rule in self.scoring_rules.items.values():
            settings = getattr(rule, "Settings", NoSettings)
            if not (isinstance(settings, type) and issubclass(settings, BaseModel)):
                raise PluginError(f"scoring rule {rule.name!r}: Settings is not a pydantic model")
        for impl in self.pm.hook.podium_themes.get_hookimpls():
            for theme, folder in (impl.function() or {}).items():
                if theme in self.themes:
                    raise PluginError(f"plugin {impl.plugin_name!r}: theme {theme!r} exists")
                self.themes[theme] = Path(folder)
        for result in self.pm.hook.podium_template_dirs():
            self.template_dirs.extend(Path(p) for p in result or ())
        for impl in self.pm.hook.podium_settings_schema.get_hookimpls():
            schema = impl.function()
            if schema is not None and not (
                isinstance(schema, type) and issubclass(schema, BaseModel)
            ):
                raise PluginError(
                    f"plugin {impl.plugin_name!r}: podium_settings_schema must return a "
                    f"pydantic model class or None"
                )
            self._schemas[impl.plugin_name] = schema
        self._finalized = True

    # -- queries -----------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return sorted(self.info)

    def settings_schema(self, plugin: str) -> type[BaseModel] | None:
        if plugin not in self.info:
            raise PluginError(f"no plugin named {plugin!r} is loaded")
        return self._schemas.get(plugin)

    def validate_plugin_settings(
        self, plugin: str, data: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Validated, normalised settings ready to store (defaults filled in)."""
        schema = self.settings_schema(plugin) or NoSettings
        return validate_model(plugin, schema, data).model_dump(mode="json")

    def validate_scoring_settings(
        self, rule_name: str, data: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        rule = self.scoring_rules.get(rule_name)
        if rule is None:
            raise PluginError(
                f"no scoring rule named {rule_name!r} (available: "
                f"{', '.join(self.scoring_rules.names()) or 'none'})"
            )
        return validate_model(rule_name, rule.Settings, data).model_dump(mode="json")

    def describe(self) -> list[dict[str, Any]]:
        """Plugins with what they contribute (for the API and `podium plugins`)."""
        out = []
        for name in self.names:
            info = self.info[name]
            provides: dict[str, list[str]] = {}
            for attr in _FAMILIES:
                catalog: Catalog[Any] = getattr(self, attr)
                items = [c for c, p in catalog.providers.items() if p == name]
                if items:
                    provides[attr] = sorted(items)
            schema = self._schemas.get(name)
            out.append(
                {
                    "name": name,
                    "module": info.module,
                    "distribution": info.distribution,
                    "version": info.version,
                    "builtin": info.builtin,
                    "provides": provides,
                    "settings_schema": schema.model_json_schema() if schema else None,
                }
            )
        return out

    def for_contest(self, contest: Any) -> ContestPlugins:
        return ContestPlugins(self, contest)

    # -- lifecycle broadcast (all plugins) ----------------------------------------------------

    async def broadcast(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on every loaded plugin, awaiting awaitables; errors are logged.

        Returns the results that are not None.
        """
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            result = await _call_impl(impl, kwargs)
            if result is not None:
                results.append(result)
        return results


async def _call_impl(impl: pluggy.HookImpl, kwargs: Mapping[str, Any]) -> Any:
    args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
    try:
        result = impl.function(**args)
        if inspect.isawaitable(result):
            result = await result
        return result
    except Exception:
        log.exception("plugin %s failed in %s", impl.plugin_name, impl.function.__name__)
        return None


class ContestPlugins:
    """The plugins of one contest: only those enabled there act, each with its settings."""

    def __init__(self, registry: PluginRegistry, contest: Any) -> None:
        self.registry = registry
        self.contest = contest
        configured: Mapping[str, Any] = contest.plugins or {}
        self.enabled: dict[str, Mapping[str, Any]] = {
            name: settings or {} for name, settings in configured.items() if name in registry.info
        }
        self._settings: dict[str, BaseModel] = {}

    def is_enabled(self, plugin: str) -> bool:
        return plugin in self.enabled

    def settings(self, plugin: str) -> BaseModel:
        """The plugin's settings for this contest (validated; defaults if it stored none)."""
        if plugin not in self._settings:
            schema = self.registry.settings_schema(plugin) or NoSettings
            self._settings[plugin] = validate_model(plugin, schema, self.enabled.get(plugin))
        return self._settings[plugin]

    def scoring_rule(self) -> tuple[ScoringRule, BaseModel]:
        name = self.contest.scoring_rule
        rule = self.registry.scoring_rules.get(name)
        if rule is None:
            raise PluginError(
                f"contest {self.contest.slug!r} uses scoring rule {name!r}, which no loaded "
                f"plugin provides"
            )
        return rule, validate_model(name, rule.Settings, self.contest.scoring_settings)

    def _components(self, catalog: Catalog[C]) -> list[tuple[C, BaseModel]]:
        return [
            (component, self.settings(catalog.providers[name]))
            for name, component in catalog.items.items()
            if catalog.providers[name] in self.enabled
        ]

    def badges(self) -> list[tuple[Badge, BaseModel]]:
        return self._components(self.registry.badges)

    def level_systems(self) -> list[tuple[LevelSystem, BaseModel]]:
        return self._components(self.registry.level_systems)

    def sync_targets(self) -> list[tuple[SyncTarget, BaseModel]]:
        return self._components(self.registry.sync_targets)

    def implements(self, hook_name: str) -> bool:
        """Whether a plugin enabled here implements this hook."""
        return any(impl.plugin_name in self.enabled
                   for impl in getattr(self.registry.pm.hook, hook_name).get_hookimpls())

    async def emit(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call an event or UI hook on the plugins enabled here, each with its own settings."""
        results = []
        for impl in getattr(self.registry.pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name not in self.enabled:
                continue
            try:
                settings = self.settings(impl.plugin_name)
            except PluginSettingsError:
                log.exception("stored settings of %s no longer validate", impl.plugin_name)
                continue
            result = await _call_impl(impl, {**kwargs, "settings": settings})
            if result is not None:
                results.append(result)
        return results
