"""LaTeX problem statements (the Kattis ``problem.<lang>.tex``) to HTML, through pandoc.

pandoc is optional: without it (or when it fails on a statement) the import keeps the LaTeX
source and says so. Kattis' statement macros are defined in a small preamble; math stays as
``\\(...\\)`` spans for the browser to typeset. The HTML is sanitized where it is shown, like
every stored statement.
"""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["KATTIS_MACROS", "LatexUnavailable", "latex_to_html"]

KATTIS_MACROS = r"""
\newcommand{\problemname}[1]{}
\newcommand{\illustration}[3]{\includegraphics{#2}}
\newcommand{\sampletable}[4]{}
\newcommand{\nextsample}{}
\newcommand{\remainingsamples}{}
"""
"""problemtools' statement macros: the title and the samples come from the package itself."""

TIMEOUT_SECONDS = 30


class LatexUnavailable(RuntimeError):
    """No converter here, or it failed on this statement: the message says which."""


def latex_to_html(source: str) -> str:
    """HTML for a Kattis LaTeX statement body; LatexUnavailable when it cannot be converted."""
    pandoc = shutil.which("pandoc")
    if pandoc is None:
        raise LatexUnavailable("no LaTeX converter is installed (install pandoc)")
    try:
        done = subprocess.run(
            [pandoc, "--from=latex", "--to=html5", "--mathjax", "--wrap=none",
             "--shift-heading-level-by=1"],
            input=(KATTIS_MACROS + source).encode(), capture_output=True,
            timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise LatexUnavailable(f"pandoc took more than {TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise LatexUnavailable(f"pandoc could not run: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise LatexUnavailable("pandoc could not convert it: "
                               + (message[0] if message else f"exit {done.returncode}"))
    return done.stdout.decode(errors="replace")
