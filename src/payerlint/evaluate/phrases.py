"""Phrase sets: whether a note mentions any of a set of phrases, which ones, as whole
words, ignoring case and the spacing between words."""

from __future__ import annotations

import re
from functools import lru_cache


def phrase_pattern(phrases) -> re.Pattern:
    """One case-insensitive pattern for a phrase set; a phrase matches as whole words,
    with any run of spaces between its words.

    The word-boundary checks wrap each group of alternatives once instead of each
    alternative, which keeps the regex engine's fast scan: about 10x quicker for a
    30-phrase set than a lookbehind per phrase."""
    groups: dict[tuple[bool, bool], list[str]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):  # longer phrases win ties
        body = r"\s+".join(re.escape(w) for w in phrase.split())
        key = (bool(re.match(r"\w", phrase)), bool(re.search(r"\w$", phrase)))
        groups.setdefault(key, []).append(body)
    parts = [("(?<!\\w)" if left else "") + "(?:" + "|".join(bodies) + ")" + ("(?!\\w)" if right else "")
             for (left, right), bodies in sorted(groups.items())]
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


class PhraseMatcher:
    __slots__ = ("name", "phrases", "any_pattern", "each", "normal", "by_normal", "words")

    def __init__(self, name: str, phrases):
        self.name = name
        self.phrases = tuple(phrases)
        self.any_pattern = phrase_pattern(self.phrases)
        self.each = tuple((p, phrase_pattern([p])) for p in self.phrases)
        self.normal = tuple(" ".join(p.split()).casefold() for p in self.phrases)
        self.by_normal = {n: i for i, n in reversed(list(enumerate(self.normal)))}
        self.words = tuple(frozenset(n.split()) for n in self.normal)

    def matched(self, text: str) -> list[str]:
        return [p for p, pattern in self.each if pattern.search(text)]

    def found(self, texts) -> list[str]:
        """The phrases that occur in any of the texts, in the set's order: one scan of each
        text with the combined pattern, then only the phrases it hit are confirmed."""
        hits = set()
        for text in texts:
            for match in self.any_pattern.finditer(text):
                hits.add(" ".join(match.group(0).split()).casefold())
        if not hits:
            return []
        chosen = {self.by_normal[hit] for hit in hits if hit in self.by_normal}
        # The combined pattern reports one phrase per stretch of text; a phrase inside or
        # overlapping one it reported ("guided exercise" in "hands-on guided exercise",
        # "massage for relaxation" after "swedish massage") shares a word with it and is
        # confirmed on its own.
        hit_words = frozenset(word for hit in hits for word in hit.split())
        for index, words in enumerate(self.words):
            if index not in chosen and words & hit_words and any(self.each[index][1].search(t) for t in texts):
                chosen.add(index)
        return [self.phrases[i] for i in sorted(chosen)]



@lru_cache(maxsize=4096)
def cached_matcher(phrases: tuple) -> PhraseMatcher:
    """Phrases that come from data (a table column) are compiled once per distinct list."""
    return PhraseMatcher("", phrases)


def mentions(matcher: PhraseMatcher, text: str, quantifier: str) -> bool:
    if quantifier == "any":
        return matcher.any_pattern.search(text) is not None
    if quantifier == "none":
        return matcher.any_pattern.search(text) is None
    return len(matcher.matched(text)) == len(matcher.phrases)
