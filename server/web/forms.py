"""Form pages: read a posted form, show errors next to their fields, redirect after success.

A handler that takes a form::

    form = await read_form(request)
    try:
        await actions.something(services, name=form.get("name", ""))
    except ActionError as exc:
        return await render(request, "x.html", form=form, errors=errors_of(exc),
                            status_code=exc.status_code)
    flash(request, _("Saved."))
    return redirect(request, "/somewhere")

Templates render fields with the macros of ``_forms.html`` (label, value, the field's error),
and every form carries ``{{ csrf_input() }}``; HTMX requests send the token as a header
(``hx-headers`` on ``<body>``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.status_codes import HTTP_303_SEE_OTHER

from server.errors import ActionError

__all__ = [
    "Form",
    "errors_of",
    "flash",
    "pop_flashes",
    "read_form",
    "redirect",
    "safe_next",
]

GENERAL = "__all__"
"""The errors key of a message that belongs to no single field."""


class Form(dict[str, str]):
    """The posted fields (first value of each; ``getall`` for repeated ones) and files."""

    def __init__(self, values: dict[str, str], lists: dict[str, list[str]],
                 files: dict[str, UploadFile]) -> None:
        super().__init__(values)
        self.lists = lists
        self.files = files

    def getall(self, name: str) -> list[str]:
        return list(self.lists.get(name, []))

    def flag(self, name: str) -> bool:
        """A checkbox: present and not 'off'/'false'/'0'."""
        return self.get(name, "").strip().lower() not in {"", "off", "false", "0"}


async def read_form(request: Request) -> Form:
    data = await request.form()
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    files: dict[str, UploadFile] = {}
    for key, value in data.multi_items():
        if key == "_csrf_token":
            continue
        if isinstance(value, UploadFile):
            if value.filename:
                files.setdefault(key, value)
            continue
        lists.setdefault(key, []).append(value)
        values.setdefault(key, value)
    return Form(values, lists, files)


def errors_of(exc: ActionError) -> dict[str, str]:
    """An action's error as ``{field: message}`` (``__all__`` when it names no field)."""
    return {exc.field or GENERAL: exc.message}


def redirect(request: Request, url: str) -> Response[Any]:
    """303 to ``url`` (HTMX requests get ``HX-Redirect``, so the whole page changes)."""
    if request.headers.get("hx-request"):
        return Response(b"", status_code=204, headers={"HX-Redirect": url})
    return Response(b"", status_code=HTTP_303_SEE_OTHER, headers={"Location": url})


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go on to after a login (never another site)."""
    if not url:
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//") \
            or "\\" in url:
        return default
    return url


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once, on the next page this browser renders."""
    current = request.scope.get("session")
    current = current if isinstance(current, dict) else {}
    messages = [*current.get("flash", []), [kind, message]]
    request.set_session({**current, "flash": messages[-5:]})


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    current = request.scope.get("session")
    if not isinstance(current, dict) or "flash" not in current:
        return []
    session = dict(current)
    messages = session.pop("flash", [])
    request.set_session(session)
    return [(kind, text) for kind, text in messages]
