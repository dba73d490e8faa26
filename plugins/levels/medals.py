"""Level system ``medals``: Bronze, Silver, Gold by a team's total points.

The thresholds are configured per contest (plugin settings) and must increase.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.components import LevelResult, LevelSystem, RowScore
from server.hooks import hookimpl

__all__ = ["Medals", "MedalsSettings"]


class MedalsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bronze: float = Field(100, gt=0, description="Points needed for Bronze")
    silver: float = Field(200, gt=0, description="Points needed for Silver")
    gold: float = Field(300, gt=0, description="Points needed for Gold")

    @model_validator(mode="after")
    def _increasing(self) -> MedalsSettings:
        if not self.bronze < self.silver < self.gold:
            raise ValueError("thresholds must increase: bronze < silver < gold")
        return self


class Medals(LevelSystem):
    name = "medals"
    title = "Medals (Bronze / Silver / Gold by points)"
    levels = ("", "Bronze", "Silver", "Gold")

    def level_for(self, row: RowScore, settings: BaseModel) -> LevelResult:
        assert isinstance(settings, MedalsSettings)
        thresholds = [0.0, settings.bronze, settings.silver, settings.gold]
        index = max(i for i, t in enumerate(thresholds) if row.points >= t)
        if index == len(thresholds) - 1:
            progress = 1.0
        else:
            low, high = thresholds[index], thresholds[index + 1]
            progress = round((row.points - low) / (high - low), 4)
        return LevelResult(level=self.levels[index], index=index, progress=progress)


@hookimpl
def podium_level_systems() -> list[LevelSystem]:
    return [Medals()]


@hookimpl
def podium_settings_schema() -> type[BaseModel]:
    return MedalsSettings
