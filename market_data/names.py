"""Column and indicator names as vendors write them, matched by whole fields and words.

A vendor's column name is a chain of fields (``广东:当日成交额:碳排放权配额(GDEA)``, ``ICE EUA
Futures (Continuous): Close``). A field *is* a quantity (the close, the turnover) when, with its
parenthesised notes dropped, it ends with the quantity's words and what comes before them is only a
qualifier: ``当日成交额`` is the day's turnover, ``累计成交额`` a cumulative one, ``Open`` the open,
but ``Open Interest`` is not the open, and ``前结算价`` (previous settlement) not the settlement.
Latin text is compared word by word; Chinese, which has no spaces, by the end of the field.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["daily", "cumulative", "plain"]

FIELD_SEPARATORS = re.compile(r"[:：|]")
NOTES = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")

DAILY: tuple[str, ...] = ("当日", "日", "daily", "day", "day's")
CUMULATIVE: tuple[str, ...] = ("累计", "累积", "年初至今", "cumulative", "accumulated", "ytd")
# A field about another day is not today's quantity.
OTHER_DAY: tuple[str, ...] = ("前", "昨", "上日", "previous", "prev", "prior", "yesterday")


def _latin_words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


def _is_latin(text: str) -> bool:
    return text.isascii()


def fields(name: str) -> list[str]:
    """The fields of a column name, notes in brackets dropped, blank ones left out."""
    parts = (NOTES.sub("", part).strip() for part in FIELD_SEPARATORS.split(name))
    return [part for part in parts if part]


def _qualifier(prefix: list[str] | str) -> Kind | None:
    """What the words before a quantity say about it; ``None`` when they make it another
    quantity."""
    if isinstance(prefix, str):  # Chinese: the characters before the quantity
        text = prefix.strip()
        if any(word in text for word in OTHER_DAY):
            return None
        if any(word in text for word in CUMULATIVE):
            return "cumulative"
        if any(word in text for word in DAILY):
            return "daily"
        return "plain"
    if any(word in OTHER_DAY for word in prefix):
        return None
    if any(word in CUMULATIVE for word in prefix):
        return "cumulative"
    if any(word in DAILY for word in prefix):
        return "daily"
    return "plain"


def field_kind(name: str, phrase: str) -> Kind | None:
    """Whether a column name has a field that is ``phrase`` (``"收盘价"``, ``"close"``), and how
    it is qualified; ``None`` when it has none."""
    phrase = phrase.strip().lower()
    for field in fields(name):
        if _is_latin(phrase):
            words, wanted = _latin_words(field), _latin_words(phrase)
            if len(words) >= len(wanted) and words[len(words) - len(wanted) :] == wanted:
                kind = _qualifier(words[: len(words) - len(wanted)])
                if kind is not None:
                    return kind
        elif field.lower().endswith(phrase):
            kind = _qualifier(field[: len(field) - len(phrase)])
            if kind is not None:
                return kind
    return None


def has_word(name: str, word: str) -> bool:
    """Whether ``word`` (one or more Latin words, or Chinese characters) occurs in a name as
    whole words: ``"usd"`` is in ``"CFETS:即期汇率:美元兑人民币 (USD)"`` but ``"eur"`` is not in
    ``"Europe"``. Chinese, having no spaces, is matched as a substring."""
    word = word.strip().lower()
    if not word:
        return False
    if not _is_latin(word):
        return word in name.lower()
    words, wanted = _latin_words(name), _latin_words(word)
    if not wanted:
        return word in name.lower()
    return any(words[i : i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))
