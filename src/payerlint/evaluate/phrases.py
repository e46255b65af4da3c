"""Phrase matching over note text: one pass over the text, linear in its length.

A text is cut into tokens once (a C-speed regular expression scan), then every phrase of a
set is looked for in a single walk over the tokens. The work per token is bounded by the
phrase set (its longest phrase, the phrases that share a word), never by the length of the
text, so 200 phrases against a 20,000-character note cost about as much as reading the
note (benchmarks/bench_phrases.py measures it beside `str.lower` of the same text). There
is no backtracking and no rescan per phrase.

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
from collections import deque
from functools import lru_cache
from itertools import repeat

# ------------------------------------------------------------------ exact phrases

_EXACT_TOKEN = re.compile(r"\w+|[^\w\s]")
"""A word, or any other visible character on its own: "e-stim" is e, -, stim."""


def exact_tokens(text: str) -> list[str]:
    return _EXACT_TOKEN.findall(text.casefold())


class PhraseMatcher:
    """Exact phrases of a set, matched as whole words in order, ignoring case and spacing.

    The phrases are kept in a trie keyed by token; a text is matched by starting a walk at
    each token, and a walk is at most as long as the longest phrase: O(tokens x longest
    phrase), whatever the number of phrases. A phrase with no words never matches."""

    __slots__ = ("name", "phrases", "trie", "depth")

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

    def _scan(self, tokens: list[str], first_only: bool) -> set[int]:
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
"""`_SERVICE_TOKEN` for a text of ASCII characters without a slash (no shorthand to read):
a letter or digit is exactly `[^\W_]` there, and about half again as fast to scan."""
_SHORTHAND_WORDS = {"w/o": "without", "w/": "with", "d/c": "d/c"}
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


WORD, SOFT, BOUNDARY = 0, 1, 2
_KINDS = {**dict.fromkeys(_BOUNDARY, BOUNDARY), **dict.fromkeys(_SOFT, SOFT)}


class _Tokens:
    """A text's tokens as three parallel lists (text, stem, kind): no object per token, so
    a long note costs no more per character than a short one."""

    __slots__ = ("text", "stem", "kind")

    def __init__(self, text: str):
        if "/" in text:
            tokens = [_SHORTHAND_WORDS[t.casefold()] if len(t) > 1 and "/" in t else t
                      for t in _SERVICE_TOKEN.findall(text)]
        elif text.isascii():
            tokens = _ASCII_TOKEN.findall(text)  # the same tokens, without Unicode classes
        else:
            tokens = _SERVICE_TOKEN.findall(text)
        # Both maps run at C speed: `stem` is cached, and leaves a separator as it is.
        self.text = tokens
        self.kind = list(map(_KINDS.get, tokens, repeat(WORD, len(tokens))))
        self.stem = list(map(stem, tokens))


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
    """A node of a phrase trie: the words that may come next, and the phrases ending here."""

    __slots__ = ("next", "last", "ends")

    def __init__(self):
        self.next: dict[str, _Node] = {}
        """The next word, found with up to GAP words of any kind in between."""
        self.last: dict[str, _Node] = {}
        """Inverted phrases only: the phrase's first word, moved last, found across connectors."""
        self.ends: list[int] = []


class ServiceMatcher:
    """Service phrases, recognised however a note words them (see the module docstring).

    The phrases are kept in two tries of word keys: in order, and inverted (the second and
    later words, then the first). A walk starts at each token that is some phrase's first
    (or second) word and follows the trie, taking for each next word its nearest
    occurrence within `GAP` tokens inside the clause. A walk is at most as long as the
    longest phrase and shares its steps among the phrases with the same beginning, so the
    text is read once, and the work per token is bounded by the phrase set."""

    __slots__ = ("phrases", "sizes", "ordered", "inverted", "reach", "starts")

    def __init__(self, phrases):
        self.phrases = tuple(phrases)
        self.sizes: list[int] = []
        self.ordered, self.inverted = _Node(), _Node()
        for index, phrase in enumerate(self.phrases):
            tokens = _Tokens(phrase)
            keys = [_Word(t).key for t, k in zip(tokens.text, tokens.kind) if k == WORD]
            self.sizes.append(len(keys))
            if not keys:
                continue
            node = self.ordered
            for key in keys:
                node = node.next.setdefault(key, _Node())
            node.ends.append(index)
            if len(keys) > 1:
                node = self.inverted
                for key in keys[1:]:
                    node = node.next.setdefault(key, _Node())
                node = node.last.setdefault(keys[0], _Node())
                node.ends.append(index)
        # The most tokens a match can span: its words and the gaps between them.
        self.reach = max((n + (n - 1) * GAP for n in self.sizes), default=0)
        # Where a walk may start, both tries at once: one look-up per key of a token.
        self.starts: dict[str, tuple[_Node, ...]] = {}
        for root in (self.ordered, self.inverted):
            for key, node in root.next.items():
                self.starts[key] = self.starts.get(key, ()) + (node,)

    def found(self, texts, memo: dict | None = None) -> list[str]:
        """The phrases whose service the texts mention (done, not negated), in the set's
        order. `memo` as for PhraseMatcher.found: each line of a claim reads the
        interventions of its code, so a 50-line claim would scan each note text many times,
        and its lines of one code ask about the same texts: the answer is kept for them too."""
        key = ("found", self, tuple(texts)) if memo is not None else None
        if key is not None:
            answer = memo.get(key)
            if answer is not None:
                return list(answer)
        hits: set[int] = set()
        for text in texts:
            hits |= _memoized(memo, self, text, lambda: self._scan(_Tokens(text)))
        answer = [self.phrases[i] for i in sorted(hits)]
        if key is not None:
            memo[key] = tuple(answer)
        return answer

    def _scan(self, tokens: _Tokens) -> set[int]:
        """The phrases matched in one text, each decided once: a match is dropped when a
        longer phrase's match contains it, and a containing match starts at or before it,
        within the longest phrase's reach, so only the recent matches are compared."""
        kept: set[int] = set()
        recent: deque = deque()  # (phrase, first token, last token) of the matches within reach
        sizes, reach, starts = self.sizes, self.reach, self.starts
        texts, stems = tokens.text, tokens.stem
        for position, kind in enumerate(tokens.kind):
            if kind != WORD:
                continue
            word, text = stems[position], texts[position]
            nodes = starts.get(word, ())
            if text != word:
                nodes += starts.get(text, ())
            if not nodes:
                continue
            here: list[tuple[int, int, int]] = []
            for node in nodes:
                self._walk(tokens, position, position, node, here)
            if not here:
                continue
            while recent and recent[0][1] < position - reach:
                recent.popleft()
            recent.extend(here)
            for index, start, end in here:
                if index in kept:
                    continue
                size = sizes[index]
                # The most specific wins: a match inside a longer phrase's match is that phrase.
                if any(sizes[other] > size and s <= start and end <= e for other, s, e in recent):
                    continue
                if not self._negated(tokens, start, end):
                    kept.add(index)
        return kept

    @staticmethod
    def _window(tokens: _Tokens, after: int) -> range:
        """The positions of the next GAP + 1 tokens after `after`, up to a boundary."""
        kinds = tokens.kind
        stop = min(after + 2 + GAP, len(kinds))
        for position in range(after + 1, stop):
            if kinds[position] == BOUNDARY:
                return range(after + 1, position)
        return range(after + 1, stop)

    def _walk(self, tokens: _Tokens, start: int, at: int, node: _Node, out: list) -> None:
        """Record every phrase ending at `node` (its last word at `at`), then go on to the
        next words, each at its nearest occurrence within reach."""
        for index in node.ends:
            out.append((index, start, at))
        if not node.next and not node.last:
            return
        window = self._window(tokens, at)
        texts, stems, kinds = tokens.text, tokens.stem, tokens.kind
        if node.next:
            taken = set()
            for position in window:
                for key in (stems[position], texts[position]):
                    child = node.next.get(key)
                    if child is not None and key not in taken:
                        taken.add(key)
                        self._walk(tokens, start, position, child, out)
        if node.last:
            # Inverted: the first word, moved last, with only connectors before it; across a
            # comma or colon the phrase must end there ("exercise, therapeutic activities"
            # is a list, not "therapeutic exercise").
            listed = False
            for position in window:
                child = node.last.get(stems[position]) or node.last.get(texts[position])
                if child is not None:
                    after = position + 1
                    if not (listed and after < len(kinds) and kinds[after] == WORD and stems[after] not in CONNECTORS):
                        for index in child.ends:
                            out.append((index, start, position))
                    break
                if stems[position] not in CONNECTORS:
                    break
                listed = listed or texts[position] in (",", ":")

    @staticmethod
    def _negated(tokens: _Tokens, start: int, end: int) -> bool:
        """Whether a negation word stands close before or after the match, in its clause
        ("pt declined HP and e-stim", "e-stim deferred"), with no word such as "with"
        between that gives the negation to something else ("no pain with STM")."""
        texts, kinds = tokens.text, tokens.kind
        for step, limit, cues in ((-1, _BEFORE, NEGATIONS_BEFORE), (1, _AFTER, NEGATIONS_AFTER)):
            position, seen = (start if step < 0 else end) + step, 0
            while 0 <= position < len(kinds) and seen < limit:
                if kinds[position] == BOUNDARY:
                    break
                word = texts[position].casefold()
                if word in cues:
                    return True
                if word in NEGATION_STOPS:
                    break
                if kinds[position] == WORD:
                    seen += 1
                position += step
        return False


@lru_cache(maxsize=1024)
def cached_service_matcher(phrases: tuple) -> ServiceMatcher:
    return ServiceMatcher(phrases)
