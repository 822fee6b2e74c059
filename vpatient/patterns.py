"""Regular expressions written by faculty (persona keywords, rubric patterns), checked and bounded.

A faculty pattern is untrusted code: `"chest (pain"` is a syntax error, `""` matches everything and
`"(a+)+$"` backtracks for minutes on a line of a's. `check()` finds these at validation time (syntax,
empty or all-matching patterns, nested quantifiers, and a trial on adversarial text under a time limit);
`FacultyPattern.search()` runs with a time limit at match time too (the `regex` package's timeout), so
a pattern that slips through costs a bounded time and counts as no match.
"""

from __future__ import annotations

import re as _stdre
from dataclasses import dataclass

import regex

MATCH_TIMEOUT_S = 0.05
"""Longest time one search of one faculty pattern may take on one learner line."""
TRIAL_TIMEOUT_S = 0.2
_TRIALS = ("a" * 40 + "!", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", " " * 60 + "x", "ab" * 30 + "!", "0" * 50 + "x")
_NESTED = _stdre.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)[+*{]")
"""A group that contains a quantifier and is itself quantified: (a+)+, (\\w*\\s?)*, (x+y*){2,}."""


class PatternProblem(ValueError):
    """Why a faculty pattern cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class FacultyPattern:
    source: str
    compiled: regex.Pattern[str]

    def search(self, text: str) -> regex.Match[str] | None:
        """The first match in `text`, or None (also when the search runs out of time)."""
        try:
            return self.compiled.search(text, timeout=MATCH_TIMEOUT_S)
        except TimeoutError:
            return None


def check(source: str) -> str | None:
    """None when `source` is a usable pattern, else what is wrong and how to fix it."""
    if not source.strip():
        return "an empty pattern matches every line; remove it or write the words to look for"
    try:
        compiled = regex.compile(source, regex.I)
    except regex.error as exc:
        return f"not a valid regular expression ({exc}); escape special characters such as ( ) [ ] ? + * with \\"
    if compiled.search("", timeout=TRIAL_TIMEOUT_S) is not None:
        return "the pattern matches an empty line, so it would match every line; require at least one word"
    if _NESTED.search(source):
        return (
            "a quantified group that contains a quantifier (like (a+)+ or (\\w+\\s?)*) can take minutes on some "
            "lines; remove the inner or the outer repetition"
        )
    for trial in _TRIALS:
        try:
            compiled.search(trial, timeout=TRIAL_TIMEOUT_S)
        except TimeoutError:
            return "the pattern takes too long on repetitive text (catastrophic backtracking); simplify it"
    return None


def compile_pattern(source: str, *, literal: bool = False) -> FacultyPattern:
    """Compile a checked pattern (case-insensitive); `literal` escapes it as a plain phrase, whole words."""
    text = r"(?<!\w)" + regex.escape(source.strip()) + r"(?!\w)" if literal else source
    problem = None if literal else check(source)
    if problem:
        raise PatternProblem(f"{source!r}: {problem}")
    return FacultyPattern(source, regex.compile(text, regex.I))


def compile_alternatives(sources: list[str]) -> FacultyPattern | None:
    """One pattern matching any of `sources` as whole words (each checked), or None for an empty list."""
    if not sources:
        return None
    for s in sources:
        problem = check(s)
        if problem:
            raise PatternProblem(f"{s!r}: {problem}")
    joined = r"\b(?:" + "|".join(f"(?:{s})" for s in sources) + r")\b"
    return FacultyPattern(" | ".join(sources), regex.compile(joined, regex.I))
