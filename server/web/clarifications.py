"""Clarifications and announcements: contestants ask and read, the jury answers and broadcasts."""

from __future__ import annotations

from typing import Any

__all__ = ["route_handlers"]

route_handlers: list[Any] = []
