"""Checkers ``tokens``, ``case_insensitive`` and ``float`` (the Kattis default validator)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from judges.checkers import tokens
from judges.checkers.tokens import (
    CaseInsensitiveChecker,
    FloatChecker,
    TokenOptions,
    TokensChecker,
    parse_flags,
)

TOKENS, CASELESS, FLOAT = TokensChecker(), CaseInsensitiveChecker(), FloatChecker()


def ok(output: bytes, answer: bytes, *flags: str, checker: TokensChecker = TOKENS) -> bool:
    return checker.check(output, answer, flags=list(flags)).accepted


def why(output: bytes, answer: bytes, *flags: str, checker: TokensChecker = TOKENS) -> str:
    result = checker.check(output, answer, flags=list(flags))
    assert not result.accepted
    return result.message


# ---------------------------------------------------------------------------- flags


def test_flags_parse_into_options() -> None:
    assert parse_flags([]) == TokenOptions()
    assert parse_flags(["case_sensitive", "space_change_sensitive"]) == TokenOptions(
        case_sensitive=True, space_change_sensitive=True)
    assert parse_flags(["float_tolerance", "1e-6"]) == TokenOptions(
        absolute_tolerance="1e-6", relative_tolerance="1e-6")
    assert parse_flags(["float_absolute_tolerance", "0.5"]) == TokenOptions(
        absolute_tolerance="0.5")
    assert parse_flags(["float_relative_tolerance", "1E-4"]) == TokenOptions(
        relative_tolerance="1E-4")
    # a string or multi-word items are split; later flags override earlier ones
    assert parse_flags("float_tolerance 1e-3 float_absolute_tolerance 1e-9") == TokenOptions(
        absolute_tolerance="1e-9", relative_tolerance="1e-3")
    assert parse_flags(["float_tolerance 1e-6"]).floats


@pytest.mark.parametrize(("flags", "message"), [
    (["case_insensitive"], "unknown validator flag 'case_insensitive'"),
    (["float_tolerance"], "'float_tolerance' needs a value"),
    (["case_sensitive", "float_relative_tolerance"], "'float_relative_tolerance' needs a value"),
    (["float_tolerance", "abc"], "'abc' is not a finite non-negative number"),
    (["float_tolerance", "-1e-6"], "'-1e-6' is not a finite non-negative number"),
    (["float_absolute_tolerance", "nan"], "'nan' is not a finite"),
    (["float_absolute_tolerance", "inf"], "'inf' is not a finite"),
    (["float_tolerance", "1_0"], "'1_0' is not a finite"),
    (["float_tolerance", "case_sensitive"], "'case_sensitive' is not a finite"),
])
def test_bad_flags_raise_value_error(flags: list[str], message: str) -> None:
    for checker in (TOKENS, CASELESS, FLOAT):
        with pytest.raises(ValueError, match=message):
            checker.check(b"1", b"1", flags=flags)
        with pytest.raises(ValueError):  # even for empty output: imports validate this way
            checker.check(b"", b"", flags=flags)


# ------------------------------------------------------------------------ whitespace


def test_whitespace_is_insensitive_by_default() -> None:
    assert ok(b"1 2\n3\n", b"1 2 3")
    assert ok(b"  1\t2\r\n3  \n\n", b"1 2 3\n")
    assert ok(b"\x0b1\x0c2 3", b"1 2 3")
    assert ok(b"", b"")
    assert ok(b" \n\t", b"\n")
    assert not ok(b"12 3", b"1 2 3")
    assert not ok(b"1 2 3", b"1 23")


def test_space_change_sensitive_compares_every_whitespace_run() -> None:
    flag = "space_change_sensitive"
    assert ok(b"1 2\n3\n", b"1 2\n3\n", flag)
    assert "whitespace differs before token 2 (line 1): expected ' ', got '  '" in why(
        b"1  2\n", b"1 2\n", flag)
    assert "whitespace differs before token 3" in why(b"1 2 3\n", b"1 2\n3\n", flag)
    assert "whitespace differs after the last token" in why(b"1 2\n", b"1 2", flag)
    assert "the answer ends with '\\n' more" in why(b"1 2", b"1 2\n", flag)
    assert "whitespace differs after the last token" in why(b"x\n", b"x\n\n", flag)
    assert "whitespace differs before token 1" in why(b" 1", b"1", flag)
    assert "token 2 (line 1): expected 'b', got 'c'" in why(b"a c\n", b"a b\n", flag)
    assert "extra token 3 '3'" in why(b"1 2 3", b"1 2", flag)
    assert "the output has 2 tokens, the answer 3: token 3 '3' is missing" in why(
        b"1 2", b"1 2 3", flag)
    # still case-insensitive unless asked
    assert ok(b"A b\n", b"a B\n", flag)


# ------------------------------------------------------------------------------ case


def test_case_is_ignored_unless_case_sensitive() -> None:
    assert ok(b"YES\nNo", b"yes no")
    assert "token 1 (line 1): expected 'yes', got 'YES'" in why(b"YES", b"yes", "case_sensitive")
    assert ok(b"yes", b"yes", "case_sensitive")
    # only ASCII letters fold, like C's tolower
    assert not ok("Ä".encode(), "ä".encode())


def test_case_insensitive_checker_ignores_case_sensitive() -> None:
    assert ok(b"YES", b"yes", "case_sensitive", checker=CASELESS)
    assert ok(b"Yes  1.0000001", b"yes 1", "float_tolerance", "1e-6", checker=CASELESS)
    assert not ok(b"Yes 1.1", b"yes 1", "float_tolerance", "1e-6", checker=CASELESS)
    assert CASELESS.options(["case_sensitive", "space_change_sensitive"]) == TokenOptions(
        space_change_sensitive=True)


# --------------------------------------------------------------------------- numbers


def test_numbers_are_plain_tokens_without_a_tolerance() -> None:
    assert not ok(b"1.0", b"1")
    assert not ok(b"0.5", b".5")
    assert ok(b"1.0", b"1.0")


def test_float_tolerance_absolute_and_relative() -> None:
    abs6 = ("float_absolute_tolerance", "1e-6")
    rel6 = ("float_relative_tolerance", "1e-6")
    # exactly on the boundary is accepted, on decimal values (no binary rounding surprise)
    assert ok(b"1.000001", b"1", *abs6)
    assert ok(b"0.100001", b"0.1", *abs6)
    assert ok(b"0.099999", b"0.1", *abs6)
    assert ok(b"-2.000001", b"-2", *abs6)
    assert not ok(b"1.0000010000001", b"1", *abs6)
    assert not ok(b"0.1000010000001", b"0.1", *abs6)
    # relative: |x - a| <= eps * |a|
    assert ok(b"1000001", b"1000000", *rel6)
    assert not ok(b"1000001.0001", b"1000000", *rel6)
    assert ok(b"1.000001e-10", b"1e-10", *rel6)
    assert not ok(b"1.000001e-10", b"1e-10", "float_absolute_tolerance", "0")
    assert ok(b"2e-10", b"1e-10", *abs6)  # absolute alone accepts tiny numbers
    assert not ok(b"2e-10", b"1e-10", *rel6)
    # either tolerance suffices when both are given
    both = ("float_absolute_tolerance", "1e-3", "float_relative_tolerance", "1e-6")
    assert ok(b"0.0009", b"0", *both)
    assert ok(b"1000000.9", b"1000000", *both)
    assert not ok(b"1000002", b"1000000", *both)
    # float_tolerance is both
    assert ok(b"1000000.9", b"1000000", "float_tolerance", "1e-6")
    assert ok(b"0.0000009", b"0", "float_tolerance", "1e-6")
    assert not ok(b"0.0000011", b"0", "float_tolerance", "1e-6")
    # zero tolerance is exact numeric equality, whatever the formatting
    assert ok(b"100.0", b"1e2", "float_tolerance", "0")
    assert not ok(b"1.0000000000000000001", b"1", "float_tolerance", "0")


def test_any_float_formatting_is_accepted_for_number_tokens() -> None:
    flags = ("float_tolerance", "1e-9")
    assert ok(b"3.14000000e-2", b"0.0314", *flags)
    assert ok(b"+.5", b"0.5", *flags)
    assert ok(b"5.", b"5", *flags)
    assert ok(b"200", b"2.0E2", *flags)
    assert ok(b"2.0e2", b"200", *flags)  # an integer answer is a number too
    assert ok(b"-0", b"0", *flags)


def test_non_numbers_under_a_tolerance() -> None:
    flags = ("float_tolerance", "1e-6")
    assert "token 2 (line 1): expected a number like '1.5', got 'abc'" in why(
        b"x abc", b"x 1.5", *flags)
    assert "expected a number" in why(b"1_5", b"15", *flags)  # no digit separators
    assert "expected a number" in why(b"0x10", b"16", *flags)  # no hexadecimal
    # words in the answer compare as words (case-insensitively by default)
    assert ok(b"Case #1: 0.3333333", b"case #1: 0.33333333", *flags)
    assert not ok(b"Case #2: 0.3333333", b"case #1: 0.33333333", *flags)


def test_nan_and_infinity() -> None:
    flags = ("float_tolerance", "1e-6")
    assert ok(b"nan", b"NaN", *flags)
    assert ok(b"-nan", b"nan", *flags)
    assert not ok(b"1", b"nan", *flags)
    assert not ok(b"nan", b"1", *flags)
    assert ok(b"inf", b"Infinity", *flags)
    assert ok(b"-INF", b"-inf", *flags)
    assert not ok(b"inf", b"-inf", *flags)
    assert not ok(b"1e308", b"inf", *flags)
    assert not ok(b"inf", b"1e308", *flags)
    # finite numbers beyond the range of a double still compare exactly
    assert ok(b"1e400", b"1e400", *flags)
    assert ok(b"1.0000001e400", b"1e400", *flags)  # relative tolerance
    assert not ok(b"1.1e400", b"1e400", *flags)
    assert not ok(b"1e999999999", b"1", *flags)  # no huge exact arithmetic either
    assert ok(b"1e-99999999", b"1e-6", "float_absolute_tolerance", "1e-6")


def test_float_checker_defaults_to_1e_6() -> None:
    assert ok(b"1.000001", b"1", checker=FLOAT)
    assert not ok(b"1.00001", b"1", checker=FLOAT)
    assert FLOAT.options([]) == TokenOptions(absolute_tolerance="1e-6",
                                             relative_tolerance="1e-6")
    # a tolerance in the flags replaces the default entirely
    assert ok(b"1.01", b"1", "float_absolute_tolerance", "0.1", checker=FLOAT)
    assert not ok(b"1000000.5", b"1000000", "float_absolute_tolerance", "0.1", checker=FLOAT)
    assert FLOAT.options(["case_sensitive"]).case_sensitive


def test_float_mismatch_message_names_the_tolerance() -> None:
    message = why(b"1 2\n3.5", b"1 2 3", "float_tolerance", "1e-6")
    assert message == ("token 3 (line 2): expected '3', got '3.5': too far "
                       "(tolerance absolute 1e-6 or relative 1e-6)")


# -------------------------------------------------------------------- token counts


def test_token_count_must_match() -> None:
    assert why(b"1 2 3 4\n", b"1 2 3\n") == (
        "the output has 4 tokens, the answer 3: extra token 4 '4' (line 1)")
    assert why(b"1 2\n", b"1 2 3\n") == (
        "the output has 2 tokens, the answer 3: token 3 '3' is missing")
    assert why(b"", b"42") == "the output has 0 tokens, the answer 1: token 1 '42' is missing"
    assert why(b"\n\n", b"42") == "the output has 0 tokens, the answer 1: token 1 '42' is missing"
    assert why(b"1\n2 3 4 5", b"1") == (
        "the output has 5 tokens, the answer 1: extra token 2 '2' (line 2)")


def test_messages_truncate_long_tokens_and_escape_bytes() -> None:
    message = why(b"x" * 10_000, b"y" * 10_000, "case_sensitive")
    assert len(message) < 200
    assert "'" + "y" * 40 + "…'" in message
    message = why(b"\xff\x00", b"a")
    assert "\\xff" in message and "\\x00" in message


def test_the_line_and_index_of_a_late_mismatch() -> None:
    answer = b"\n".join(b"%d %d" % (i, i * i) for i in range(1000)) + b"\n"
    output = answer.replace(b"500 250000", b"500 250001")
    assert why(output, answer) == "token 1002 (line 501): expected '250000', got '250001'"


# -------------------------------------------------------------------------- chunking


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 16 bytes, so that short inputs cross many chunk boundaries."""
    monkeypatch.setattr(tokens, "CHUNK", 16)


@pytest.mark.usefixtures("small_chunks")
def test_results_do_not_depend_on_chunk_boundaries() -> None:
    words = [b"alpha", b"be", b"c" * 40, b"1.5", b"  ", b"\n", b"x"]
    answer = b" ".join(words[:4] * 7) + b"\n"
    output = b"\n  ".join(words[:4] * 7)
    assert ok(output, answer)
    assert ok(answer, answer.replace(b" ", b"\t"))
    assert not ok(answer, answer.replace(b" ", b"\t"), "space_change_sensitive")
    assert ok(answer + b"", answer, "space_change_sensitive")
    spaced = b"a" + b" " * 50 + b"b" + b"\n" * 40
    assert ok(spaced, bytes(spaced), "space_change_sensitive")
    assert ok(spaced.replace(b"a", b"A"), spaced + b"", "space_change_sensitive")
    assert "whitespace differs before token 2 (line 1)" in why(
        spaced.replace(b" " * 50, b" " * 49), spaced, "space_change_sensitive")
    long_answer = b" ".join(b"%d" % i for i in range(300))
    long_output = long_answer.replace(b" 250 ", b" 205 ")
    assert why(long_output, long_answer) == "token 251 (line 1): expected '250', got '205'"
    assert why(long_answer + b" 300", long_answer) == (
        "the output has 301 tokens, the answer 300: extra token 301 '300' (line 1)")
    floats = b" ".join(b"%.9f" % (i / 7) for i in range(300))
    reformatted = b"\n".join(b"%.7e" % (i / 7) for i in range(300))
    assert ok(reformatted, floats, "float_tolerance", "1e-6")
    broken = reformatted.replace(b"%.7e" % (299 / 7), b"43")
    assert "token 300 (line 300): expected '42.714285714', got '43'" in why(
        broken, floats, "float_tolerance", "1e-6")


# ------------------------------------------------------------------------ big outputs


def test_a_million_tokens_is_fast() -> None:
    answer = b" ".join(b"%d" % (i * 7919 % 1000003) for i in range(1_000_000)) + b"\n"
    output = answer.replace(b" ", b"\n")
    started = time.perf_counter()
    assert ok(output, answer)
    assert ok(output.upper(), answer)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, elapsed
    wrong = output[:-2] + b"x\n"
    assert "token 1000000 (line 1000000)" in why(wrong, answer)


def test_a_million_reformatted_floats_within_tolerance() -> None:
    values = [i / 3 for i in range(1_000_000)]
    answer = b" ".join(b"%.9f" % v for v in values)
    output = b"\n".join(b"%.10e" % v for v in values)
    started = time.perf_counter()
    assert ok(output, answer, "float_tolerance", "1e-6")
    assert time.perf_counter() - started < 20


def test_fifty_megabytes() -> None:
    answer = b"7 " * 25_000_000
    output = answer.replace(b" ", b"\n")
    started = time.perf_counter()
    assert ok(output, answer)
    assert ok(output, answer, "float_tolerance", "1e-6")
    assert time.perf_counter() - started < 30
    assert "extra token 25000001" in why(output + b"8", answer)


# --------------------------------------------------------------------- the plugin


def test_the_checkers_are_registered_through_the_entry_point(tmp_path: Path) -> None:
    from server.services import build_registry
    from server.settings import Settings

    registry = build_registry(Settings(data_dir=tmp_path))
    for name, kind in (("tokens", TokensChecker), ("case_insensitive", CaseInsensitiveChecker),
                       ("float", FloatChecker)):
        checker = registry.checkers.get(name)
        assert isinstance(checker, kind), name
        assert registry.checkers.providers[name] == "tokens"
    assert registry.checkers.get("exact") is not None
