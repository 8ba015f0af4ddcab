"""Numbers and dates in TAPAS tables and questions, found and compared as transformers' TapasTokenizer does (the
rules of the original TAPAS code): they give the column ranks and the question-to-cell relations of
token_type_ids, and the numeric values of answer labels.

Text is lower-cased with whitespace runs made one space. Its numbers are the matches of a number pattern (digits
with thousands commas and a decimal part, or a decimal part alone, optionally signed after a space), every word
that parses as a float (an ordinal suffix removed, "nan" and infinities not), the words zero … twelve and zeroth
… twelfth, and dates: runs of up to five words that `datetime.strptime` reads with one of DATE_FORMATS (years
1700-2016 only). Overlapping finds keep the longest span (the earlier one of equal length). A column's cells are
consolidated to the type (number or date) most of them have, if at least 70 % do.
"""

from __future__ import annotations

import collections
import datetime
import math
import re
from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class Date:
    year: int | None = None
    month: int | None = None
    day: int | None = None


@dataclass(frozen=True)
class NumericValue:
    """A number (`float_value`) or a date (`date`, with only the fields its text gave)."""

    float_value: float | None = None
    date: Date | None = None

    @property
    def kind(self) -> str:
        if self.float_value is not None:
            return NUMBER
        if self.date is not None:
            return DATE
        raise ValueError(f"Unknown type: {self}")

    def primitive(self):
        """The float, or (year, month, day) as floats with None for missing fields."""
        if self.float_value is not None:
            return self.float_value
        if self.date is not None:
            return tuple(None if part is None else float(part) for part in (self.date.year, self.date.month,
                                                                              self.date.day))  # fmt: skip
        raise ValueError(f"Unknown type: {self}")


@dataclass
class NumericSpan:
    begin: int
    end: int
    values: list[NumericValue] = field(default_factory=list)


class Relation(Enum):
    """How a question's value compares with a cell's (the values of transformers' tapas Relation)."""

    EQ = 7
    LT = 8
    GT = 9


NUMBER, DATE = "number", "date"
MIN_YEAR, MAX_YEAR = 1700, 2016
MAX_DATE_WORDS = 5
MIN_CONSOLIDATION_FRACTION = 0.7
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve"]  # fmt: skip
ORDINAL_WORDS = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
                 "tenth", "eleventh", "twelfth"]  # fmt: skip
ORDINAL_SUFFIXES = ["st", "nd", "rd", "th"]
_NUMBER = re.compile(r"(?:(?:^|\s)[+-])?(?:\.\d+|\d+(?:,\d{3})*(?:\.\d*)?)")
# strptime formats tried in order, with the date fields each one sets (year, month, day).
DATE_FORMATS = [
    ("%B", "m"), ("%Y", "y"), ("%Ys", "y"), ("%b %Y", "ym"), ("%B %Y", "ym"), ("%B %d", "md"), ("%b %d", "md"),
    ("%d %b", "md"), ("%d %B", "md"), ("%B %d, %Y", "ymd"), ("%d %B %Y", "ymd"), ("%m-%d-%Y", "ymd"),
    ("%Y-%m-%d", "ymd"), ("%Y-%m", "ym"), ("%B %Y", "ym"), ("%d %b %Y", "ymd"), ("%Y-%m-%d", "ymd"),
    ("%b %d, %Y", "ymd"), ("%d.%m.%Y", "ymd"), ("%A, %b %d", "md"), ("%A, %B %d", "md"),
]  # fmt: skip
_FIELD_PATTERNS = {"%A": r"\w+", "%B": r"\w+", "%Y": r"\d{4}", "%b": r"\w{3}", "%d": r"\d{1,2}", "%m": r"\d{1,2}"}


def _format_prefilter(date_format: str) -> re.Pattern:
    """A regex a text must match before strptime is tried with the format (strptime is slow)."""
    pattern = date_format.replace(".", re.escape(".")).replace("-", re.escape("-")).replace(" ", r"\s+")
    for directive, regex in _FIELD_PATTERNS.items():
        pattern = pattern.replace(directive, regex)
    return re.compile("^" + pattern + "$")


_DATE_FORMATS = [(date_format, fields, _format_prefilter(date_format)) for date_format, fields in DATE_FORMATS]


def normalize_for_match(text: str) -> str:
    return " ".join(text.lower().split())


def parse_number(text: str) -> float | None:
    """A float from a word or a number match ("1,234", "3rd", " -5"), None for anything else or nan / infinity."""
    for suffix in ORDINAL_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return None if math.isnan(value) or value == math.inf else value


def parse_date(text: str) -> NumericValue | None:
    text = re.sub(r"Sept\b", "Sep", text)
    for date_format, fields, prefilter in _DATE_FORMATS:
        if not prefilter.match(text):
            continue
        try:
            date = datetime.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
        if date.year < MIN_YEAR or date.year > MAX_YEAR:
            continue
        return NumericValue(date=Date(year=date.year if "y" in fields else None,
                                      month=date.month if "m" in fields else None,
                                      day=date.day if "d" in fields else None))  # fmt: skip
    return None


def word_spans(text: str, max_words: int):
    """(begin, end) of every run of 1 to max_words consecutive alphanumeric words (with what lies between them)."""
    starts = []
    for index, char in enumerate(text):
        if not char.isalnum():
            continue
        if index == 0 or not text[index - 1].isalnum():
            starts.append(index)
        if index + 1 == len(text) or not text[index + 1].isalnum():
            for start in starts[-max_words:]:
                yield start, index + 1


def parse_text(text: str) -> list[NumericSpan]:
    """The numeric spans of a (normalized) text: its numbers and dates, longest spans first where they overlap."""
    found: dict[tuple[int, int], list[NumericValue]] = collections.defaultdict(list)
    for match in _NUMBER.finditer(text):
        number = parse_number(match.group(0))
        if number is not None:
            found[match.span()].append(NumericValue(float_value=number))
    for span in word_spans(text, 1):
        if span in found:
            continue
        word = text[span[0] : span[1]]
        number = parse_number(word)
        if number is not None:
            found[span].append(NumericValue(float_value=number))
        for words in (NUMBER_WORDS, ORDINAL_WORDS):
            if word in words:
                found[span].append(NumericValue(float_value=float(words.index(word))))
    for span in word_spans(text, MAX_DATE_WORDS):
        date = parse_date(text[span[0] : span[1]])
        if date is not None:
            found[span].append(date)
    selected: list[tuple[tuple[int, int], list[NumericValue]]] = []
    for span, values in sorted(found.items(), key=lambda item: (item[0][1] - item[0][0], -item[0][0]), reverse=True):
        if not any(kept[0] <= span[0] and span[1] <= kept[1] for kept, _ in selected):
            selected.append((span, values))
    selected.sort(key=lambda item: item[0][0])
    return [NumericSpan(span[0], span[1], values) for span, values in selected]


def numeric_values(text: str) -> list[NumericValue]:
    return [value for span in parse_text(normalize_for_match(text)) for value in span.values]


def sort_key_function(values):
    """A function mapping values to comparable keys: the float, or the date fields every value has. ValueError
    when the values mix numbers and dates or the dates share no field."""
    kinds = {value.kind for value in values}
    if len(kinds) != 1:
        raise ValueError(f"No common value type in {values}")
    if kinds == {NUMBER}:
        return NumericValue.primitive
    fields = [index for index in range(3) if all(value.primitive()[index] is not None for value in values)]
    if not fields:
        raise ValueError(f"No common value in {values}")
    return lambda value: tuple(value.primitive()[index] for index in fields)


def consolidate(cells: dict[int, list[NumericValue]]) -> dict[int, NumericValue]:
    """row -> the first value of the column's most common type, if at least MIN_CONSOLIDATION_FRACTION of the rows
    have one (dates win a tie); {} otherwise."""
    counts = collections.Counter(kind for values in cells.values() for kind in {value.kind for value in values})
    if not counts:
        return {}
    most = max(counts.values())
    if most < len(cells) * MIN_CONSOLIDATION_FRACTION:
        return {}
    kinds = {kind for kind, count in counts.items() if count == most}
    kind = DATE if len(kinds) > 1 else next(iter(kinds))
    result = {}
    for row, values in cells.items():
        first = next((value for value in values if value.kind == kind), None)
        if first is not None:
            result[row] = first
    return result


def column_values(rows: list[list[str]]) -> list[dict[int, NumericValue]]:
    """Per column, row index -> the consolidated value of the cell (cells without one left out)."""
    columns = len(rows[0]) if rows else 0
    return [consolidate({r: numeric_values(row[c]) for r, row in enumerate(rows)}) for c in range(columns)]


def relation(value: NumericValue, other: NumericValue, key) -> Relation | None:
    a, b = key(value), key(other)
    if a == b:
        return Relation.EQ
    if a < b:
        return Relation.LT
    if a > b:
        return Relation.GT
    return None
