"""Sync target ``json_snapshot``: writes the standings as JSON to a folder after every change.

The folder is relative to ``<data dir>/exports`` (an organizer cannot write elsewhere on the
server); the file is ``<contest slug>.json``, replaced atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.components import ContestInfo, StandingRow, SyncTarget
from server.hooks import hookimpl
from server.models import utcnow

if TYPE_CHECKING:
    from server.services import Services

__all__ = ["JsonSnapshot", "JsonSnapshotSettings", "snapshot_path"]


class JsonSnapshotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folder: str = Field("snapshots", description="Folder under <data dir>/exports")

    @field_validator("folder")
    @classmethod
    def _relative(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError("must be a relative folder inside the exports folder, without '..'")
        return value


def snapshot_path(data_dir: Path, settings: JsonSnapshotSettings, slug: str) -> Path:
    return data_dir / "exports" / settings.folder / f"{slug}.json"


class JsonSnapshot(SyncTarget):
    name = "json_snapshot"
    title = "JSON snapshot of the standings"

    async def standings_changed(
        self,
        contest: ContestInfo,
        rows: Sequence[StandingRow],
        settings: BaseModel,
        services: Services,
    ) -> None:
        assert isinstance(settings, JsonSnapshotSettings)
        target = snapshot_path(services.settings.data_dir, settings, contest.slug)
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "contest": contest.slug,
            "title": contest.title,
            "generated_at": utcnow().isoformat(),
            "rows": [row.as_dict() for row in rows],
        }
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".snapshot-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(document, handle, indent=1)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@hookimpl
def podium_sync_targets() -> list[SyncTarget]:
    return [JsonSnapshot()]


@hookimpl
def podium_settings_schema() -> type[BaseModel]:
    return JsonSnapshotSettings
