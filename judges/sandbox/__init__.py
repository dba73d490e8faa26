"""Sandboxes that run untrusted code: bubblewrap + rlimits, and Docker."""

from judges.sandbox.base import Box, Limits, RunResult, Sandbox, SandboxUnavailable

__all__ = ["Box", "Limits", "RunResult", "Sandbox", "SandboxUnavailable"]
