"""Print the README's configuration table from ``server.settings.Settings``.

    python scripts/config_table.py           print the markdown table
    python scripts/config_table.py --check   exit 1 if README.md's table differs from the code
    python scripts/config_table.py --write   rewrite README.md's table in place

The table lives in README.md between the ``config-table:start`` and ``config-table:end``
markers.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- config-table:start -->"
END = "<!-- config-table:end -->"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _default(field: typing.Any) -> str:
    value = field.default
    if value is None:
        return "*(unset)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple | list):
        return f"`{','.join(map(str, value))}`" if value else "*(empty)*"
    return f"`{value}`"


def _description(field: typing.Any) -> str:
    text = (field.description or "").replace("|", "\\|").replace("\n", " ")
    if typing.get_origin(field.annotation) is typing.Literal:
        choices = typing.get_args(field.annotation)
        text += " One of: " + ", ".join(f"`{choice}`" for choice in choices) + "."
    return text


def render() -> str:
    """The markdown table: one row per ``Settings`` field, in declaration order."""
    from server.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    lines = ["| Environment variable | Default | Description |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        lines.append(f"| `{prefix}{name.upper()}` | {_default(field)} | {_description(field)} |")
    return "\n".join(lines) + "\n"


def _readme_block(text: str) -> tuple[int, int]:
    start = text.index(START) + len(START)
    end = text.index(END, start)
    return start, end


def main(argv: list[str]) -> int:
    table = render()
    if not argv:
        sys.stdout.write(table)
        return 0
    text = README.read_text(encoding="utf-8")
    start, end = _readme_block(text)
    wanted = text[:start] + "\n" + table + text[end:]
    if argv == ["--check"]:
        if wanted != text:
            sys.stderr.write(
                "README.md's configuration table differs from server/settings.py: "
                "run `python scripts/config_table.py --write`.\n"
            )
            return 1
        return 0
    if argv == ["--write"]:
        README.write_text(wanted, encoding="utf-8")
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
