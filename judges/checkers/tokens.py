"""Checkers ``tokens``, ``case_insensitive`` and ``float``: the Kattis default output validator.

The output and the answer are split into tokens (runs of non-whitespace bytes; whitespace is
space, tab, newline, carriage return, vertical tab and form feed, like C's ``isspace``) and
compared token by token. Both must have the same number of tokens. Flags (the words of a
problem's ``validator_flags``, as in the problem package format):

``case_sensitive``
    tokens must match case (the default compares ASCII letters case-insensitively);
``space_change_sensitive``
    the whitespace between, before and after the tokens must match byte for byte too
    (the default treats any run of whitespace as one separator and ignores leading and
    trailing whitespace);
``float_absolute_tolerance ε``
    an answer token that is a number accepts an output number ``x`` with ``|x - a| ≤ ε``;
``float_relative_tolerance ε``
    ... or with ``|x - a| ≤ ε·|a|``;
``float_tolerance ε``
    both of the above with the same ε.

With a tolerance set, a token of the answer that parses as a decimal floating-point number
(``12``, ``-0.5``, ``1e-3``, ``.5``, ``inf``, ``nan``; integers count too) is compared as a
number: the output token must be a number within either tolerance. Any formatting is accepted
(``3.14e-2`` for ``0.0314``). Without a tolerance, numbers are compared as plain tokens. Choices
where the Kattis C++ validator is vague or platform-dependent:

- near the boundary the comparison is exact on the decimal texts (``|1.000001 - 1| ≤ 1e-6``
  holds), not subject to binary rounding;
- ``nan`` in the answer accepts only ``nan``; ``inf``/``-inf`` accept only the same infinity;
  a finite answer never accepts ``nan`` or ``inf``;
- an integer answer is a number too, so ``2.0e2`` matches ``200`` (as in problemtools' code,
  although its docs say otherwise);
- a finite number beyond the range of a double (``1e400``) is still compared exactly, as long
  as its exponent has at most four digits;
- hexadecimal floats and ``1_000`` are not numbers.

``case_insensitive`` is ``tokens`` that ignores case whatever the flags say (``tokens`` is
already case-insensitive unless ``case_sensitive`` is given). ``float`` is ``tokens`` with
``float_tolerance 1e-6`` when the flags set no tolerance.

Bad flags (an unknown word, a tolerance without a value, a value that is not a finite
non-negative number) raise :class:`ValueError`; problem imports call :func:`parse_flags` (or
``check(b"", b"", flags=...)``) to reject a package early. The comparison streams over the two
buffers in chunks of about 1 MiB, so a 50 MB output never becomes one list of tokens.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from server.components import Checker, CheckResult
from server.hooks import hookimpl

__all__ = [
    "CaseInsensitiveChecker",
    "FloatChecker",
    "TokenOptions",
    "TokensChecker",
    "compare_tokens",
    "parse_flags",
]

CHUNK = 1 << 20
"""Bytes per comparison chunk (cut at a token start, so a chunk is longer for a huge token)."""

SHOWN = 40
"""Characters of a token shown in a message."""

WHITESPACE = frozenset(b" \t\n\r\v\f")

_BOUNDARY = re.compile(rb"\s(?=\S)")
_PIECES = re.compile(rb"(\s+)")
_TOKEN = re.compile(rb"\S+")
_PIECE = re.compile(rb"\s+|\S+")
_NUMBER = re.compile(
    rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    rb"|[nN][aA][nN])"
)
_TOLERANCE_FLAGS = ("float_absolute_tolerance", "float_relative_tolerance", "float_tolerance")
_SWITCHES = ("case_sensitive", "space_change_sensitive")


@dataclass(frozen=True, slots=True)
class TokenOptions:
    """What :func:`parse_flags` makes of a flag list."""

    case_sensitive: bool = False
    space_change_sensitive: bool = False
    absolute_tolerance: str | None = None
    """ε of ``float_absolute_tolerance`` (or ``float_tolerance``), as written."""
    relative_tolerance: str | None = None
    """ε of ``float_relative_tolerance`` (or ``float_tolerance``), as written."""

    @property
    def floats(self) -> bool:
        """Whether numbers are compared with a tolerance."""
        return self.absolute_tolerance is not None or self.relative_tolerance is not None


def parse_flags(flags: Sequence[str] | str) -> TokenOptions:
    """Parse validator flags; a string is split on whitespace, and so is each list item.

    Raises :class:`ValueError` naming the bad flag. Later flags override earlier ones.
    """
    items = [flags] if isinstance(flags, str) else list(flags)
    words = [word for item in items for word in str(item).split()]
    options = TokenOptions()
    i = 0
    while i < len(words):
        word = words[i]
        if word in _SWITCHES:
            options = replace(options, **{word: True})
            i += 1
            continue
        if word not in _TOLERANCE_FLAGS:
            known = ", ".join(_SWITCHES + _TOLERANCE_FLAGS)
            raise ValueError(f"unknown validator flag {word!r} (known: {known})")
        if i + 1 >= len(words):
            raise ValueError(f"validator flag {word!r} needs a value, e.g. '{word} 1e-6'")
        value = words[i + 1]
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not _NUMBER.fullmatch(value.encode()) or not math.isfinite(number) or number < 0:
            raise ValueError(
                f"validator flag {word!r}: {value!r} is not a finite non-negative number"
            )
        if word != "float_relative_tolerance":
            options = replace(options, absolute_tolerance=value)
        if word != "float_absolute_tolerance":
            options = replace(options, relative_tolerance=value)
        i += 2
    return options


# ------------------------------------------------------------------------------ streaming


@dataclass(slots=True)
class _Batch:
    start: int
    """Offset of the chunk in the whole buffer."""
    chunk: bytes
    items: list[bytes]
    """Tokens (case-folded unless case-sensitive); in space mode whitespace runs too."""


def _batches(data: bytes, fold: bool, spaces: bool) -> Iterator[_Batch]:
    """The buffer in chunks of about CHUNK bytes, each cut just before a token."""
    start, size = 0, len(data)
    while start < size:
        end = size
        if start + CHUNK < size:
            match = _BOUNDARY.search(data, start + CHUNK)
            end = match.end() if match else size
        chunk = data[start:end]
        text = chunk.lower() if fold else chunk
        if spaces:
            items = [piece for piece in _PIECES.split(text) if piece]
        else:
            items = text.split()
        if items:
            yield _Batch(start, chunk, items)
        start = end


class _Cursor:
    """Reads items from a stream of batches, one slice at a time."""

    __slots__ = ("batch", "batches", "pos")

    def __init__(self, batches: Iterator[_Batch]) -> None:
        self.batches = batches
        self.batch: _Batch | None = None
        self.pos = 0

    def available(self) -> int:
        """Items left in the current batch, loading the next one when needed (0 at the end)."""
        if self.batch is None or self.pos == len(self.batch.items):
            self.batch = next(self.batches, None)
            self.pos = 0
            if self.batch is None:
                return 0
        return len(self.batch.items) - self.pos

    def take(self, n: int) -> list[bytes]:
        assert self.batch is not None
        items = self.batch.items
        if self.pos == 0 and n == len(items):
            return items
        return items[self.pos:self.pos + n]

    def locate(self, offset: int, spaces: bool) -> tuple[int, bytes]:
        """Byte position and original text of the item ``offset`` after the cursor."""
        assert self.batch is not None
        pattern = _PIECE if spaces else _TOKEN
        wanted = self.pos + offset
        for i, match in enumerate(pattern.finditer(self.batch.chunk)):
            if i == wanted:
                return self.batch.start + match.start(), match.group()
        raise AssertionError("item not found in its own chunk")  # pragma: no cover

    def rest(self) -> int:
        """How many items are left (consumes the stream)."""
        count = 0
        while (n := self.available()):
            count += n
            self.pos += n
        return count


def _show(token: bytes) -> str:
    text = token.decode("utf-8", errors="backslashreplace")
    if len(text) > SHOWN:
        text = text[:SHOWN] + "…"
    return repr(text)


def _number(token: bytes) -> float | None:
    """The value of a decimal number token, or None when the token is not a number.

    ``float()`` of bytes accepts exactly the numbers of the module docstring, plus digit
    separators (``1_000``), which are refused here.
    """
    try:
        value = float(token)
    except ValueError:
        return None
    return None if b"_" in token else value


def _fraction(token: bytes | str) -> Fraction | None:
    """The exact value of a decimal token, or None when that would be too costly to build."""
    text = token.decode() if isinstance(token, bytes) else token
    exponent = re.search(r"[eE][+-]?(\d+)", text)
    if len(text) > 400 or (exponent and len(exponent.group(1).lstrip("0")) > 4):
        return None
    return Fraction(text)


def _is_literal(token: bytes, value: float) -> bool:
    """Whether a non-finite value was written as nan/inf (not a finite number that overflowed)."""
    return math.isnan(value) or token.lstrip(b"+-")[:1] in (b"i", b"I")


class _Items:
    """Compares one output item with one answer item under fixed options."""

    __slots__ = ("absolute", "floats", "options", "relative")

    def __init__(self, options: TokenOptions) -> None:
        self.options = options
        self.floats = options.floats
        self.absolute = (-1.0 if options.absolute_tolerance is None
                         else float(options.absolute_tolerance))
        self.relative = (-1.0 if options.relative_tolerance is None
                         else float(options.relative_tolerance))

    def first(self, got: list[bytes], want: list[bytes]) -> tuple[int, str] | None:
        """The first mismatching pair of two equally long item lists, with the reason."""
        if self.floats:
            values = self.numbers(got, want)
            if values is not None:
                return self.first_number(got, want, *values)
        for i, (out, ans) in enumerate(zip(got, want)):
            if out != ans:
                reason = self.mismatch(out, ans)
                if reason is not None:
                    return i, reason
        return None

    @staticmethod
    def numbers(got: list[bytes], want: list[bytes]) -> tuple[list[float], list[float]] | None:
        """The values of two lists of number tokens (None unless all are numbers)."""
        if b"_" in b" ".join(got) or b"_" in b" ".join(want):
            return None
        try:
            return list(map(float, got)), list(map(float, want))
        except ValueError:
            return None

    def first_number(self, got: list[bytes], want: list[bytes], xs: list[float],
                     values: list[float]) -> tuple[int, str] | None:
        """:meth:`first` for two lists of numbers (the hot loop of float problems)."""
        absolute, relative = self.absolute * (1 - 1e-12), self.relative * (1 - 1e-12)
        for i, (x, a) in enumerate(zip(xs, values)):
            scale = a if a > 0 else -a
            # Clearly within tolerance; binary rounding is about 1e-16 of the operands. A NaN
            # or an infinity fails the test and goes the long way.
            gap = abs(x - a) + 1e-15 * (abs(x) + scale)
            if gap < absolute or gap < relative * scale:
                continue
            reason = self.mismatch(got[i], want[i])
            if reason is not None:
                return i, reason
        return None

    def mismatch(self, out: bytes, ans: bytes) -> str | None:
        """Why ``out`` does not match ``ans`` (None when it matches)."""
        if out == ans:
            return None
        if out[0] in WHITESPACE or ans[0] in WHITESPACE:
            return "space"
        if self.floats:
            a = _number(ans)
            if a is not None:
                x = _number(out)
                if x is None:
                    return "number"
                return None if self.close(out, x, ans, a) else "tolerance"
        return "token"

    def close(self, out: bytes, x: float, ans: bytes, a: float) -> bool:
        """Whether number ``x`` (token ``out``) is within tolerance of ``a`` (token ``ans``)."""
        diff = abs(x - a)
        if math.isfinite(diff):
            bound = max(self.absolute, self.relative * abs(a))
            # Binary rounding is about 1e-16 of the operands: decide plainly away from the bound.
            slack = 1e-15 * (abs(x) + abs(a)) + 1e-12 * bound
            if diff < bound - slack:
                return True
            if diff > bound + slack:
                return False
        else:
            literal_x = not math.isfinite(x) and _is_literal(out, x)
            literal_a = not math.isfinite(a) and _is_literal(ans, a)
            if literal_x or literal_a:
                if math.isnan(x) or math.isnan(a):
                    return math.isnan(x) and math.isnan(a)
                return x == a
        # Near the bound (or beyond the range of a double): decide on the exact decimal values.
        return self.exact(out, ans, diff, a)

    def exact(self, out: bytes, ans: bytes, diff: float, a: float) -> bool:
        fx, fa = _fraction(out), _fraction(ans)
        if fx is None or fa is None:
            return diff <= max(self.absolute, self.relative * abs(a))
        gap = abs(fx - fa)
        absolute, relative = self.options.absolute_tolerance, self.options.relative_tolerance
        if absolute is not None and gap <= (_fraction(absolute) or Fraction(self.absolute)):
            return True
        if relative is None:
            return False
        return gap <= (_fraction(relative) or Fraction(self.relative)) * abs(fa)


def compare_tokens(output: bytes, answer: bytes, options: TokenOptions) -> CheckResult:
    """Compare ``output`` with ``answer`` token by token under ``options``."""
    if output == answer:
        return CheckResult(accepted=True)
    fold, spaces = not options.case_sensitive, options.space_change_sensitive
    out = _Cursor(_batches(output, fold, spaces))
    ans = _Cursor(_batches(answer, fold, spaces))
    items = _Items(options)
    seen = 0
    while True:
        n_out, n_ans = out.available(), ans.available()
        n = min(n_out, n_ans)
        if n == 0:
            break
        got, want = out.take(n), ans.take(n)
        if got != want and (found := items.first(got, want)) is not None:
            i, reason = found
            return CheckResult(False, _describe(reason, output, out, ans, i, options))
        out.pos += n
        ans.pos += n
        seen += n
    if n_out == n_ans == 0:
        return CheckResult(accepted=True)
    return CheckResult(False, _describe_count(output, answer, out, ans, n_out, seen, spaces))


def _token_index(data: bytes, position: int) -> int:
    """1-based index of the token at ``position`` (or of the next one)."""
    count = 0
    for start in range(0, position, CHUNK):
        count += len(data[start:min(start + CHUNK, position)].split())
        if start + CHUNK < position and data[start + CHUNK - 1] not in WHITESPACE \
                and data[start + CHUNK] not in WHITESPACE:
            count -= 1  # a token cut in two by the chunk boundary
    return count + 1


def _line(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def _describe(reason: str, output: bytes, out: _Cursor, ans: _Cursor, offset: int,
              options: TokenOptions) -> str:
    spaces = options.space_change_sensitive
    position, got = out.locate(offset, spaces)
    _, want = ans.locate(offset, spaces)
    where = f"token {_token_index(output, position)} (line {_line(output, position)})"
    if reason == "space":
        if _TOKEN.search(output, position) is None:
            where = f"the last token (line {_line(output, position)})"
            return f"whitespace differs after {where}: expected {_show(want)}, got {_show(got)}"
        return f"whitespace differs before {where}: expected {_show(want)}, got {_show(got)}"
    if reason == "number":
        return f"{where}: expected a number like {_show(want)}, got {_show(got)}"
    if reason == "tolerance":
        limits = []
        if options.absolute_tolerance is not None:
            limits.append(f"absolute {options.absolute_tolerance}")
        if options.relative_tolerance is not None:
            limits.append(f"relative {options.relative_tolerance}")
        return (f"{where}: expected {_show(want)}, got {_show(got)}: too far "
                f"(tolerance {' or '.join(limits)})")
    return f"{where}: expected {_show(want)}, got {_show(got)}"


def _describe_count(output: bytes, answer: bytes, out: _Cursor, ans: _Cursor, n_out: int,
                    seen: int, spaces: bool) -> str:
    """Why the output has too many or too few items, once ``seen`` pairs matched."""
    longer, cursor, data = ("output", out, output) if n_out else ("answer", ans, answer)
    position, item = cursor.locate(0, spaces)
    if item[0] in WHITESPACE:  # space mode: whitespace, then maybe more tokens
        following = _TOKEN.search(data, position)
        if following is None:
            return (f"whitespace differs after the last token: the {longer} ends with "
                    f"{_show(item)} more (line {_line(data, position)})")
        position, item = following.start(), following.group()
    seen = _token_index(data, position) - 1 if spaces else seen
    total = seen + (len(data[position:].split()) if spaces else cursor.rest())
    if n_out:
        return (f"the output has {total} tokens, the answer {seen}: extra token {seen + 1} "
                f"{_show(item)} (line {_line(output, position)})")
    return (f"the output has {seen} tokens, the answer {total}: token {seen + 1} "
            f"{_show(item)} is missing")


# ------------------------------------------------------------------------------- checkers


class TokensChecker(Checker):
    """The Kattis default output validator with all its flags."""

    name = "tokens"
    title = "Tokens (Kattis default validator)"

    def options(self, flags: Sequence[str] | str) -> TokenOptions:
        """The comparison options for ``flags``; :class:`ValueError` when they are bad."""
        return parse_flags(flags)

    def check(
        self, output: bytes, answer: bytes, *, input: bytes = b"", flags: Sequence[str] = ()
    ) -> CheckResult:
        return compare_tokens(output, answer, self.options(flags))


class CaseInsensitiveChecker(TokensChecker):
    """``tokens`` that never compares case, even with ``case_sensitive``."""

    name = "case_insensitive"
    title = "Tokens, ignoring case"

    def options(self, flags: Sequence[str] | str) -> TokenOptions:
        return replace(parse_flags(flags), case_sensitive=False)


class FloatChecker(TokensChecker):
    """``tokens`` with ``float_tolerance 1e-6`` unless the flags set a tolerance."""

    name = "float"
    title = "Tokens, numbers within 1e-6"
    default_tolerance = "1e-6"

    def options(self, flags: Sequence[str] | str) -> TokenOptions:
        options = parse_flags(flags)
        if options.floats:
            return options
        return replace(options, absolute_tolerance=self.default_tolerance,
                       relative_tolerance=self.default_tolerance)


@hookimpl
def podium_checkers() -> list[Checker]:
    return [TokensChecker(), CaseInsensitiveChecker(), FloatChecker()]
