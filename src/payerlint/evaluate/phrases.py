"""Phrase matching over note text: one pass over the text, linear in its length.

A text is cut into tokens once (at C speed: a regular expression, or for plain ASCII a byte
table and a split), then every phrase of a set is looked for in a single walk over the
tokens. The work per token is bounded by the phrase set (its longest phrase, the phrases
that share a word), never by the length of the text, so 200 phrases against a
20,000-character note cost about as much as reading the note (benchmarks/bench_phrases.py
measures it beside `str.lower` of the same text). There is no backtracking and no rescan
per phrase.

Two ways to match, for two purposes:

`PhraseMatcher` (`mentions`, `phrases_found`): **exact phrases**. A phrase matches as whole
words in its own order, ignoring case and the spaces between words ("tolerated well" is in
"Tolerated   WELL today", not in "tolerated it well"). Documentation rules use it: a phrase
set such as "manual therapy performed" must not grow to match a specific note.

`ServiceMatcher` (`services_found`): **a service, however the note words it**. The coding
guidance reads techniques written by many clinicians in many styles, so a phrase naming a
service is recognised:
- in any inflection ("hot packs", "mobilized", "stretching exercises", "strengthening exs"
  is a row of its own): both sides are reduced by `stem`, a small, conservative suffix
  stripper (plural, -ing, -ed, -ation/-ize), so "mobilization" and "mobilized" meet;
- with up to two words in between ("hot moist pack", "mechanical cervical traction");
- inverted, its first word after the others with a comma or a connecting word between
  ("exercises for strengthening", "traction, mechanical", "electrical stimulation
  (attended)");
- abbreviated, where the phrase set lists the abbreviation ("TherEx", "STM", "jt mob"):
  abbreviations are data, rows of the guidance table, not code. A phrase word written in
  capitals ("US", "HP", "TENS") matches only in capitals, so "US" (ultrasound) is not "us";
- not when the note says it was not done: "no e-stim", "pt declined HP", "e-stim deferred"
  (`NEGATIONS_BEFORE`, `NEGATIONS_AFTER`);
- and the most specific wins: where one phrase's match lies inside a longer phrase's match
  ("electrical stimulation" inside "attended electrical stimulation"), only the longer is
  reported, which is how a specific manual technique ("manual traction") is kept apart from
  a machine ("mechanical traction").
A match never crosses a sentence or clause boundary (`. ; ! ?`, a line break, `|`).

The shorthand of notes that is not a service is normalised before matching: "w/" is
"with" and "w/o" is "without" (so "w/o e-stim" is a negation); "pt" stays a word.

>>> ServiceMatcher(["hot pack", "mechanical traction"]).found(["Moist hot packs x10 min; manual traction"])
['hot pack']
>>> ServiceMatcher(["electrical stimulation"]).found(["pt declined electrical stimulation", "e-stim: no electrical stimulation"])
[]
>>> PhraseMatcher("vague", ["tolerated well"]).any("Patient TOLERATED  well.")
True
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import compress, product
from typing import Any

# ------------------------------------------------------------------ exact phrases

_EXACT_TOKEN = re.compile(r"\w+|[^\w\s]")
"""A word, or any other visible character on its own: "e-stim" is e, -, stim."""
NUMBER = "#"
"""In an exact phrase, a number: "about #" is in "about 20 minutes", not in "talked about
the plan" (a number is a run of digits: "1.5" is 1, ., 5)."""


def exact_tokens(text: str) -> list[str]:
    return _EXACT_TOKEN.findall(text.casefold())


class PhraseMatcher:
    """Exact phrases of a set, matched as whole words in order, ignoring case and spacing.

    The phrases are kept in a trie keyed by token; a text is matched by starting a walk at
    each token, and a walk is at most as long as the longest phrase: O(tokens x longest
    phrase), whatever the number of phrases. A phrase with no words never matches."""

    __slots__ = ("name", "phrases", "trie", "depth", "numbers")

    def __init__(self, name: str, phrases):
        self.name = name
        self.phrases = tuple(phrases)
        self.trie: dict = {}
        self.depth = 0
        for index, phrase in enumerate(self.phrases):
            words = exact_tokens(phrase)
            if not words:
                continue
            node = self.trie
            for word in words:
                node = node.setdefault(word, {})
            node.setdefault(None, []).append(index)
            self.depth = max(self.depth, len(words))
        self.numbers = any(NUMBER in phrase for phrase in self.phrases)
        """Whether a phrase holds `#`, which stands for any number ("about #")."""

    def _scan(self, tokens: list[str], first_only: bool) -> set[int]:
        if self.numbers:
            return self._scan_numbers(tokens, first_only)
        trie = self.trie
        hits: set[int] = set()
        count = len(tokens)
        for start, token in enumerate(tokens):
            node = trie.get(token)
            position = start
            while node is not None:
                ends = node.get(None)
                if ends is not None:
                    hits.update(ends)
                    if first_only:
                        return hits
                position += 1
                if position == count:
                    break
                node = node.get(tokens[position])
        return hits

    def _scan_numbers(self, tokens: list[str], first_only: bool) -> set[int]:
        """`_scan` for a set with `#` in a phrase: a token of digits goes on both by itself
        and as `#`, so a walk may fork (at most once per token of the walk)."""
        trie = self.trie
        hits: set[int] = set()
        count = len(tokens)
        for start in range(count):
            walks = [(trie, start)]
            while walks:
                node, position = walks.pop()
                token = tokens[position]
                nodes = [node.get(token)]
                if token.isdecimal():
                    nodes.append(node.get(NUMBER))
                for child in nodes:
                    if child is None:
                        continue
                    ends = child.get(None)
                    if ends is not None:
                        hits.update(ends)
                        if first_only:
                            return hits
                    if position + 1 < count:
                        walks.append((child, position + 1))
        return hits

    def any(self, text: str) -> bool:
        """Whether any phrase occurs in the text (stops at the first)."""
        return bool(self.trie) and bool(self._scan(exact_tokens(text), True))

    def matched(self, text: str) -> list[str]:
        """Every phrase that occurs in the text, in the set's order."""
        hits = self._scan(exact_tokens(text), False)
        return [self.phrases[i] for i in sorted(hits)]

    def found(self, texts, memo: dict | None = None) -> list[str]:
        """The phrases that occur in any of the texts, in the set's order. `memo`: the
        claim's evaluation cache, so a text that several lines read is scanned once."""
        hits: set[int] = set()
        for text in texts:
            hits |= _memoized(memo, self, text, lambda: self._scan(exact_tokens(text), False))
        return [self.phrases[i] for i in sorted(hits)]


def _memoized(memo: dict | None, matcher, text: str, scan) -> set[int]:
    """The phrases `matcher` finds in `text`, from the claim's cache when it has them. The
    cache lives as long as one claim's evaluation (program.Ctx), so no note text outlives
    the claim it came from; the key holds the matcher itself, not its id, so it stays valid."""
    if memo is None:
        return scan()
    key = ("phrases", matcher, text)
    hits = memo.get(key)
    if hits is None:
        hits = memo[key] = scan()
    return hits


def mentions(matcher: PhraseMatcher, text: str, quantifier: str) -> bool:
    """`text mentions any|all|none of phrases`."""
    if quantifier == "any":
        return matcher.any(text)
    if quantifier == "none":
        return not matcher.any(text)
    return len(matcher.matched(text)) == len(matcher.phrases)


@lru_cache(maxsize=4096)
def cached_matcher(phrases: tuple) -> PhraseMatcher:
    """Phrases that come from data (a table column) are compiled once per distinct list."""
    return PhraseMatcher("", phrases)


# ------------------------------------------------------------------ services, however worded

GAP = 2
"""How many other words may stand between two words of a phrase ("hot moist pack")."""

CONNECTORS = frozenset({",", ":", "(", ")", "/", "for", "of", "to", "-"})
"""What may stand before the first word of an inverted phrase: "exercises for
strengthening", "traction, mechanical", "electrical stimulation (attended)". Nothing else:
"stimulation table, manual" is no phrase."""

NEGATIONS_BEFORE = frozenset({
    "no", "not", "without", "declined", "declines", "refused", "refuses", "deferred", "defer", "held", "hold",
    "omitted", "omit", "contraindicated", "avoid", "avoided", "instead", "nor", "never", "discontinued", "d/c",
})
"""Words that, up to three words before a service, say it was not done ("pt declined HP")."""

NEGATIONS_AFTER = frozenset({
    "declined", "refused", "deferred", "held", "not", "omitted", "contraindicated", "discontinued", "d/c",
})
"""Words that, up to two words after a service, say it was not done ("e-stim deferred")."""

NEGATION_STOPS = frozenset({"with", "after", "during", "following", "post", "before", "while", "from", "due", "but"})
"""Words that end a negation's reach: in "no pain with STM" the "no" is about the pain."""

_BEFORE, _AFTER = 3, 2

# Shorthand of notes that is not a service (read as the words it stands for); words
# (letters and digits); the soft separators that may stand inside a phrase; and the
# boundaries a phrase never crosses. Other characters ("-", "#", "'") only separate words.
# One expression, so a text is cut in one C-speed pass.
_SERVICE_TOKEN = re.compile(r"(?<![^\W_])(?:[wW]/[oO]?|[dD]/[cC])(?![^\W_])|[^\W_]+|[,:()/]|[.;!?|\n\u2022]")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+|[,:()/.;!?|\n]")
r"""`_SERVICE_TOKEN` for a text of ASCII characters without shorthand: a letter or digit is
exactly `[^\W_]` there, and about half again as fast to scan."""
_ASCII_SHORTHAND_TOKEN = re.compile(r"[wW]/[oO]?(?![A-Za-z0-9])|[dD]/[cC](?![A-Za-z0-9])|[A-Za-z0-9]+|[,:()/.;!?|\n]")
"""`_SERVICE_TOKEN` for an ASCII text with shorthand. Its look-behind is left out: `findall`
never tries a match just after a letter or digit (a word is taken whole, and what it skips
is neither), so the look-behind always holds, and costs a step at every character."""
# The cut of `_ASCII_TOKEN` without an expression, for an ASCII text without a line break
# (the one boundary that is white space): every other character is made a space by one
# table, each separator present gets a space on either side, and `str.split` cuts the rest,
# each step a C-speed pass over the text's bytes, about a fifth faster than the expression.
_ALNUM = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SEPARATORS = b",:()/.;!?|"
_SPACING = bytes(c if c in _ALNUM or c in _SEPARATORS else 32 for c in range(256))
_ALNUM_SPACE = _ALNUM + b" "
_SPACED = {c: (bytes((c,)), b" %c " % c) for c in _SEPARATORS}
_SHORTHAND = {
    spelling: word
    for short, word in {"w/o": "without", "w/": "with", "d/c": "d/c"}.items()
    for spelling in {"".join(c) for c in product(*({ch, ch.upper()} for ch in short))}
}
"""Each spelling of the shorthand ("W/O", "w/O", ...) and the words it is read as: a token
of more than one character with a slash is shorthand, and every other token maps to itself
(`_SHORTHAND.get(token, token)`, one C-speed map over a text's tokens)."""
_BOUNDARY = frozenset(".;!?|\n\u2022")
_SOFT = frozenset(",:()/")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A word reduced so its inflections meet: packs -> pack, mobilized and mobilization ->
    mobiliz, stretching -> stretch, exercises and exercising -> exerciz, applied -> apply.
    Conservative on purpose: short words and words it does not recognise stay as they are,
    and both the phrase and the note go through the same function, so only agreement
    matters, not whether the result is an English word.

    >>> [stem(w) for w in ("packs", "mobilized", "mobilization", "mobilisation", "stretching", "exercises", "therapies")]
    ['pack', 'mobiliz', 'mobiliz', 'mobiliz', 'stretch', 'exerciz', 'therapy']
    """
    w = word.casefold()
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("isation", "ization", "ation"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[:-len(suffix)] + ("iz" if suffix != "ation" else "")
            break
    else:
        for suffix in ("ing", "ed"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[:-len(suffix)]
                if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                    w = w[:-1]  # running -> run; stretching keeps its ch
                break
    if w.endswith(("ise", "ize")) and len(w) > 5:
        w = w[:-3] + "iz"
    elif w.endswith(("is", "iz")) and len(w) > 5 and word.casefold().endswith(("ised", "ising", "ises")):
        w = w[:-2] + "iz"
    if len(w) >= 7 and w.endswith(("ated", "ate", "at")):
        w = w[: -len(next(x for x in ("ated", "ate", "at") if w.endswith(x)))]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


class _StemCache(dict):
    """`stem` of a token, by its text: a plain dict in front of the `lru_cache`, read by a
    C-speed map over a text's tokens (a call through `lru_cache` costs about twice a look-up).
    Like the `lru_cache` it holds words, never a whole text, and at most `_STEMS_MAX` of
    them: when full, it is emptied and fills again."""

    __slots__ = ()

    def __missing__(self, word: str) -> str:
        if len(self) >= _STEMS_MAX:
            self.clear()
        self[word] = result = stem(word)
        return result


_STEMS_MAX = 65536
_stems = _StemCache().__getitem__

WORD, SOFT, BOUNDARY = 0, 1, 2
_KINDS = {**dict.fromkeys(_BOUNDARY, BOUNDARY), **dict.fromkeys(_SOFT, SOFT)}

# What a token says to a negation looking past it (`_negated`), by its casefolded text: a
# cue (it negates), a stop (the reach ends: a NEGATION_STOPS word or a boundary), a soft
# separator (passed over, not counted); any other word is counted. A cue wins over a stop.
_CUE, _STOP, _PASS = 1, 2, 3
_NEGATION_BEFORE = {**dict.fromkeys(NEGATION_STOPS | _BOUNDARY, _STOP), **dict.fromkeys(_SOFT, _PASS),
                    **dict.fromkeys(NEGATIONS_BEFORE, _CUE)}
_NEGATION_AFTER = {**dict.fromkeys(NEGATION_STOPS | _BOUNDARY, _STOP), **dict.fromkeys(_SOFT, _PASS),
                   **dict.fromkeys(NEGATIONS_AFTER, _CUE)}
# `stem` reads only a word's casefold, so a token whose casefold is a negation has the stem
# of that negation: a text none of whose stems is one of these has no negation to look for.
_NEGATION_STEMS = frozenset(map(stem, NEGATIONS_BEFORE | NEGATIONS_AFTER))
# What may follow the first word of an inverted phrase across a comma: no word but a connector.
_NO_WORD = CONNECTORS | _BOUNDARY
_SPAN = GAP + 2  # a window: the GAP + 1 tokens after a word, as a slice from it


class _Tokens:
    """A text's tokens as two parallel lists (text, stem): no object per token, so a long
    note costs no more per character than a short one. A token's kind (word, soft
    separator, boundary) is told by its text, where it is asked."""

    __slots__ = ("text", "stem")

    def __init__(self, text: str):
        # Every step is one C-speed pass: the cut, the shorthand map, and `stem` (read
        # through `_stems`, a dict, and leaves a separator as it is).
        if text.isascii():
            # Shorthand has "w/" or "d/" in it: without them, a slash is a separator.
            if "/" in text and ("w/" in (lower := text.lower()) or "d/" in lower):
                tokens = _ASCII_SHORTHAND_TOKEN.findall(text)
                tokens = list(map(_SHORTHAND.get, tokens, tokens))
            elif "\n" in text:
                tokens = _ASCII_TOKEN.findall(text)
            else:
                spaced = text.encode().translate(_SPACING)
                separators = spaced.translate(None, _ALNUM_SPACE)
                if separators:
                    # Each separator once (a short text has one or none: no set for it).
                    for separator in set(separators) if len(separators) > 1 else separators:
                        spaced = spaced.replace(*_SPACED[separator])
                tokens = spaced.decode().split()
        else:
            tokens = _SERVICE_TOKEN.findall(text)
            if "/" in text:
                tokens = list(map(_SHORTHAND.get, tokens, tokens))
        self.text = tokens
        self.stem = list(map(_stems, tokens))

    @property
    def kind(self) -> list[int]:
        """WORD, SOFT or BOUNDARY for each token (the scan asks the text instead)."""
        return [_KINDS.get(t, WORD) for t in self.text]


def service_tokens(text: str) -> _Tokens:
    return _Tokens(text)


class _Word:
    """One word of a service phrase: what a token must show to be it."""

    __slots__ = ("key",)

    def __init__(self, text: str):
        # "US", "HP", "TENS": an abbreviation in capitals matches only in capitals, by its
        # text; any other word matches by its stem.
        exact = len(text) > 1 and text.isupper() and text.isalpha()
        self.key = text if exact else stem(text)


class _Node:
    """A node of the phrase trie: the words that may come next, and the phrases ending here."""

    __slots__ = ("next", "last", "ends")

    def __init__(self):
        self.next: dict[str, _Node] = {}
        """The next word, found with up to GAP words of any kind in between."""
        self.last: dict[str, list[int]] = {}
        """Inverted phrases only: the phrase's first word, moved last, found across connectors,
        and the phrases it ends."""
        self.ends: list[int] = []

    def frozen(self) -> tuple:
        """The node as the walk reads it, `(ends, next, seek, last, firsts)`, built once per
        matcher (a tuple unpacks faster than attributes are read). `seek` holds the keys of
        `next` and the boundaries, so the next words in a window are found by one set
        operation, which also tells whether the clause ends in it; `last` maps a first word
        straight to the phrases it ends, and `firsts` holds its keys, so a node none of
        whose first words is in its window is passed at once. None where there is nothing."""
        after = seek = last = firsts = None
        if self.next:
            after = {key: child.frozen() for key, child in self.next.items()}
            seek = frozenset(after) | _BOUNDARY
        if self.last:
            last = {key: tuple(ends) for key, ends in self.last.items()}
            firsts = frozenset(last)
        return tuple(self.ends), after, seek, last, firsts


class ServiceMatcher:
    """Service phrases, recognised however a note words them (see the module docstring).

    The phrases are kept in one trie of word keys, in both orders at once: a phrase's words
    in order end at its node, and its second and later words lead to a node where its first
    word, moved last, may follow (`last`). A walk starts at each token that is some phrase's
    first (or second) word and follows the trie, taking for each next word its nearest
    occurrence within `GAP` tokens inside the clause. Where the orders share words they
    share nodes: the nearest occurrence of a word depends only on where the walk stands, so
    one walk finds what a walk per order would. A walk is at most as long as the longest
    phrase and shares its steps among the phrases with the same beginning, so the text is
    read once, and the work per token is bounded by the phrase set."""

    __slots__ = ("phrases", "sizes", "trie", "reach", "starts", "spelled", "spelled_stems", "gate")

    def __init__(self, phrases):
        self.phrases = tuple(phrases)
        self.sizes: list[int] = []
        self.trie = _Node()
        for index, phrase in enumerate(self.phrases):
            keys = [_Word(t).key for t in _Tokens(phrase).text if t not in _KINDS]
            self.sizes.append(len(keys))
            if not keys:
                continue
            node = self.trie
            for key in keys:
                node = node.next.setdefault(key, _Node())
            node.ends.append(index)
            if len(keys) > 1:
                node = self.trie
                for key in keys[1:]:
                    node = node.next.setdefault(key, _Node())
                node.last.setdefault(keys[0], []).append(index)
        # The most tokens a match can span: its words and the gaps between them.
        self.reach = max((n + (n - 1) * GAP for n in self.sizes), default=0)
        # Where a walk may start: one look-up per token.
        self.starts: dict[str, tuple] = {key: node.frozen() for key, node in self.trie.next.items()}
        # A token is looked up by its stem, and by its text where that differs, so an
        # abbreviation in capitals is found. The text only finds something when it is a key
        # and its own stem is not ("HP", whose stem is "hp"): only those texts are looked up.
        every, nodes = set(), [self.trie]
        while nodes:
            node = nodes.pop()
            every.update(node.next, node.last)
            nodes.extend(node.next.values())
        self.spelled = frozenset(key for key in every if stem(key) != key)
        self.spelled_stems = frozenset(map(stem, self.spelled))
        # A text none of whose stems is here starts no walk: neither a start by its stem,
        # nor a text of `spelled` (whose stem it would have).
        self.gate = frozenset(self.starts) | self.spelled_stems

    def found(self, texts, memo: dict | None = None) -> list[str]:
        """The phrases whose service the texts mention (done, not negated), in the set's
        order. `memo` as for PhraseMatcher.found: each line of a claim reads the
        interventions of its code, so a 50-line claim would scan each note text many times,
        and its lines of one code ask about the same texts: the answer is kept for them too."""
        if memo is None:
            hits: set[int] = set()
            for text in texts:
                hits |= self._scan(_Tokens(text))
            return list(map(self.phrases.__getitem__, sorted(hits)))
        if texts.__class__ is list and len(texts) == 1:
            # One text, the usual call (a line's techniques): `_memo_scan`, written out, as
            # its answer is the text's own.
            key = ("phrases", self, texts[0])
            kept = memo.get(key)
            if kept is None:
                hits = self._scan(_Tokens(texts[0]))
                kept = memo[key] = (hits, self._named(hits))
            return list(kept[1])
        key = ("found", self, tuple(texts))
        answer = memo.get(key)
        if answer is None:
            hits = set()
            for text in texts:
                hits |= self._memo_scan(memo, text)[0]
            answer = memo[key] = self._named(hits)
        return list(answer)

    def _memo_scan(self, memo: dict, text: str) -> tuple[set[int], tuple[str, ...]]:
        """`_memoized`, written out, with the answer for the text alone kept beside its scan:
        (the phrases `_scan` finds, their texts in the set's order)."""
        key = ("phrases", self, text)
        kept = memo.get(key)
        if kept is None:
            hits = self._scan(_Tokens(text))
            kept = memo[key] = (hits, self._named(hits))
        return kept

    def _named(self, hits: set[int]) -> tuple[str, ...]:
        # A set of one is in order already (one phrase: the usual answer).
        return tuple(map(self.phrases.__getitem__, sorted(hits) if len(hits) > 1 else hits))

    def _scan(self, tokens: _Tokens) -> set[int]:
        """The phrases matched in one text, each decided once: a match is dropped when a
        longer phrase's match contains it, and a containing match starts at or before it,
        within the longest phrase's reach, so only the recent matches are compared.

        A walk goes without recursion: a node's window is read in place, and the next words
        it finds are kept to visit (in any order: every match of a start is collected before
        any is decided). Most texts start no walk, most tokens start none, and most nodes
        find no next word: each is told by a set operation or a map at C speed."""
        stems = tokens.stem
        if self.gate.isdisjoint(stems):
            return set()
        texts = tokens.text
        count = len(stems)
        starts = self.starts
        first: list[Any] = list(map(starts.get, stems))  # the walk each token starts, or None
        spelled = None  # position -> text, looked up besides its stem
        present: Any = None  # with `spelled`: every stem and text a look-up can find
        also: dict[int, tuple] | None = None  # position -> the walk its text starts besides its stem's
        if not self.spelled_stems.isdisjoint(stems) and not self.spelled.isdisjoint(texts):
            spelled = {p: texts[p] for p in compress(range(count), map(self.spelled.__contains__, texts))}
            present = {*stems, *spelled.values()}
            also = {}
            for position, text in spelled.items():
                node = starts.get(text)
                if node is not None:
                    if first[position] is None:
                        first[position] = node
                    else:
                        also[position] = node
        matches: list[tuple[int, int, int]] = []  # (phrase, first token, last token), by first token
        todo: list[tuple[int, tuple]] = []  # (position, node) found by the walk, yet to visit
        for at, node in compress(enumerate(first), first):
            start = at
            for index in node[0]:
                matches.append((index, start, start))
            if also and start in also:
                for index in also[start][0]:
                    matches.append((index, start, start))
                todo.append((start, also[start]))
            while True:
                _, after, seek, last, firsts = node
                window = stems[at + 1:at + _SPAN]
                if after is not None:
                    # Each next word at its nearest occurrence in the window, up to a
                    # boundary; the phrases it ends are recorded where it is found, and it
                    # is visited only if it leads further.
                    if spelled is None:
                        if not seek.isdisjoint(window):
                            seen = seek.intersection(window)
                            if not _BOUNDARY.isdisjoint(seen):
                                seen = seek.intersection(window[:min(map(window.index, _BOUNDARY.intersection(seen)))])
                            for key in seen:
                                position = at + 1 + window.index(key)
                                child = after[key]
                                for index in child[0]:
                                    matches.append((index, start, position))
                                if child[1] is not None or child[3] is not None:
                                    todo.append((position, child))
                    else:
                        # A text looked up besides its stem: read the window token by token.
                        taken: tuple[str | None, ...] = ()
                        for position in range(at + 1, min(at + _SPAN, count)):
                            if stems[position] in _BOUNDARY:
                                break
                            for key in (stems[position], spelled.get(position)):
                                child = after.get(key)
                                if child is not None and key not in taken:
                                    taken += (key,)
                                    for index in child[0]:
                                        matches.append((index, start, position))
                                    if child[1] is not None or child[3] is not None:
                                        todo.append((position, child))
                # (With `spelled`, a first word may be a token's text: looked for in the whole text.)
                if last is not None and not firsts.isdisjoint(window if spelled is None else present):
                    # Inverted: the first word, moved last, with only connectors before it;
                    # across a comma or colon the phrase must end there ("exercise,
                    # therapeutic activities" is a list, not "therapeutic exercise").
                    listed = False
                    position = at
                    for key in window:
                        position += 1
                        ending = last.get(key)
                        if ending is None and spelled is not None and position in spelled:
                            ending = last.get(spelled[position])
                        if ending is not None:
                            if not (listed and position + 1 < count and stems[position + 1] not in _NO_WORD):
                                for index in ending:
                                    matches.append((index, start, position))
                            break
                        if key not in CONNECTORS:
                            break  # a word, or a boundary
                        if key == "," or key == ":":
                            listed = True
                if not todo:
                    break
                at, node = todo.pop()
        if not matches:
            return set()
        negatable = not _NEGATION_STEMS.isdisjoint(stems)
        if len(matches) == 1:  # the usual answer: one service, nothing to compare it with
            index, first_token, last_token = matches[0]
            return set() if negatable and _negated(texts, first_token, last_token) else {index}
        kept: set[int] = set()
        sizes, reach = self.sizes, self.reach
        oldest = 0  # the first match within reach
        for index, first_token, last_token in matches:
            if index in kept:
                continue
            while matches[oldest][1] < first_token - reach:
                oldest += 1
            # The most specific wins: a match inside a longer phrase's match is that phrase.
            size, contained = sizes[index], False
            for position in range(oldest, len(matches)):
                other, s, e = matches[position]
                if s > first_token:
                    break  # and so do all that follow
                if last_token <= e and sizes[other] > size:
                    contained = True
                    break
            if not contained and not (negatable and _negated(texts, first_token, last_token)):
                kept.add(index)
        return kept


def _negated(texts: list[str], start: int, end: int) -> bool:
    """Whether a negation word stands close before or after the match, in its clause
    ("pt declined HP and e-stim", "e-stim deferred"), with no word such as "with"
    between that gives the negation to something else ("no pain with STM")."""
    for positions, reading, reach in ((range(start - 1, -1, -1), _NEGATION_BEFORE, _BEFORE),
                                      (range(end + 1, len(texts)), _NEGATION_AFTER, _AFTER)):
        seen = 0
        for position in positions:
            says = reading.get(texts[position].casefold())
            if says is None:
                seen += 1
                if seen == reach:
                    break
            elif says == _CUE:
                return True
            elif says == _STOP:
                break
    return False


@lru_cache(maxsize=1024)
def cached_service_matcher(phrases: tuple) -> ServiceMatcher:
    return ServiceMatcher(phrases)
