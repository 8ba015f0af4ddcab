"""EnglishNumberNormalizer: numbers in text spelt out in English words, as SpeechT5's tokenizer does with
normalize=True ("$1,234.56" -> "one thousand two hundred and thirty four point five six dollars").

Rules (those of transformers 4.57, quirks included): thousands separators are dropped first; a number is digits
with at most two decimals, optionally after a minus sign and currency symbols and before a percent sign, not
touching a word character; the integer part is read in groups of three digits ("and" after the hundreds), a zero
integer part gives no words, the decimals digit by digit after "point" (exactly "00" counts as none); the minus,
percent and currency words follow in that order; runs of spaces become one.
"""

from __future__ import annotations

import re

ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion", "sextillion", "septillion",
          "octillion", "nonillion", "decillion"]  # fmt: skip
# Currency symbols in the order they are tried, each with the words that follow the number.
CURRENCIES = {
    "$": " dollars", "€": " euros", "£": " pounds", "¢": " cents", "¥": " japanese yen", "﷼": " saudi riyal",
    "₹": " indian rupees", "₽": " russian rubles", "฿": " thai baht", "₺": " turkish liras", "₴": " ukrainian hryvnia",
    "₣": " swiss francs", "₡": " costa rican colon", "₱": " philippine peso", "₪": " israeli shekels",
    "₮": " mongolian tögrög", "₩": " south korean won", "₦": " nigerian naira", "₫": " vietnamese Đồng",
}  # fmt: skip
# The symbols as the number pattern allows them before the digits: each at most once, in this order.
_SYMBOL_ORDER = "$€£¢¥₹₽฿₺₴₣₡₱₪₮₩₦₫﷼"
_NUMBER = re.compile(r"(?<!\w)(-?" + "".join(re.escape(s) + "?" for s in _SYMBOL_ORDER) + r"\d+(?:\.\d{1,2})?%?)(?!\w)")
_GROUPED = re.compile(r"\d+,\d+")


def spell_below_thousand_groups(number: int) -> str:
    """A non-negative int in words, group by group of three digits but without scale words (only ever given
    numbers below 1000 by `spell_number_text`); 0 is "zero"."""
    if number == 0:
        return "zero"
    groups = []
    for _ in SCALES:
        if number % 1000:
            hundreds, rest = number % 1000 // 100, number % 100
            words = ""
            if hundreds:
                words += ONES[hundreds] + " hundred" + (" and " if rest else "")
            if 10 < rest < 20:
                words += TEENS[rest - 10]
            else:
                words += " ".join(word for word in (TENS[rest // 10], ONES[rest % 10]) if word)
            groups.append(words)
        number //= 1000
    return " ".join(reversed(groups))


def spell_number_text(number: str) -> str:
    """One matched number ("-$1234.5", "12%") in words."""
    integer, decimals = number.split(".") if "." in number else (number, "00")
    currency = ""
    for symbol, words in CURRENCIES.items():
        if integer.startswith(symbol):
            currency, integer = words, integer[len(symbol) :]
            break
        if integer.startswith("-") and integer[1:].startswith(symbol):
            currency, integer = words, "-" + integer[len(symbol) + 1 :]
            break
    minus = ""
    if integer.startswith("-"):
        minus, integer = "minus ", integer[1:]
    elif integer.startswith("minus"):
        minus, integer = "minus ", integer[len("minus") :]
    percent = ""
    if "%" in integer or "%" in decimals:
        percent, integer, decimals = " percent", integer.replace("%", ""), decimals.replace("%", "")
    integer = integer.zfill(3 * ((len(integer) - 1) // 3 + 1))
    groups = []
    for start in range(0, len(integer), 3):
        value = int(integer[start : start + 3])
        if value > 0:
            scale = SCALES[len(integer[start:]) // 3 - 1]
            groups.append(spell_below_thousand_groups(value) + (" " + scale if scale else ""))
    spelled = " ".join(groups)
    if decimals == "00":
        return f"{minus}{spelled}{percent}{currency}"
    digits = " ".join(spell_below_thousand_groups(int(digit)) for digit in decimals)
    return f"{minus}{spelled} point {digits}{percent}{currency}"


class EnglishNumberNormalizer:
    """Callable: text with its numbers spelt out (see the module docstring)."""

    def __call__(self, text: str) -> str:
        text = _GROUPED.sub(lambda match: match.group(0).replace(",", ""), text)
        text = _NUMBER.sub(lambda match: spell_number_text(match.group(1)), text)
        return re.sub(" +", " ", text)
