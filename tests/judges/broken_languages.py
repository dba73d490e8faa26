"""Language plugins that must fail `podium judge selftest` (a test-only third-party plugin).

``tests/judges/test_selftest.py`` uses them in process, and installs this module as a plugin
(an entry point in a ``.dist-info`` on ``PYTHONPATH``) for the ``podium`` command.
"""

from __future__ import annotations

from judges.languages.basic import C, Python3
from server.components import Language
from server.hooks import hookimpl

__all__ = ["BrokenEcho", "NoCompiler", "podium_languages"]


class BrokenEcho(Python3):
    """Its self-test program shouts: the output differs from the input."""

    name = "brokenecho"
    title = "Python 3 that shouts"
    selftest_source = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper())\n"


class NoCompiler(C):
    """Its compiler is not installed anywhere."""

    name = "nocompiler"
    title = "C without a compiler"
    compile_command = ("podium-no-such-compiler", "-o", "main", "{files}")
    version_command = ("podium-no-such-compiler", "--version")


@hookimpl
def podium_languages() -> list[Language]:
    return [BrokenEcho(), NoCompiler()]
