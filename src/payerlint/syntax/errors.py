"""Wording for syntax errors: what was expected, in words a compliance lead knows, and
an example of the declaration being written.

lark reports the terminals it could have accepted (`NAME`, `EQUAL`, `__ANON_3`...). We
translate them, group long lists ("an operator", "a rule clause"), and add the shape of
the declaration the error is in, taken from `EXAMPLES`.
"""

from __future__ import annotations

import re

# How each named terminal reads in a message.
TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted text ("...")',
    "INT": "a whole number",
    "DECIMAL": "a decimal number",
    "MONEY": "an amount like $2,480.00",
    "DATE": "a date like 2026-05-14",
    "CODE": "a code in capitals, like 97140, G0283 or M25.6*",
    "RULE_ID": "a rule id like units.total",
    "RULEBOOK_ID": "a rulebook id like medicare",
    "RULEBOOK_REF": "a rulebook like medicare@2026Q2",
    "QUARTER": "a quarter like 2026Q2",
    "COMPARE": "a comparison (= != < <= > >=)",
    "QUANTIFIER": "any, all or none",
    "TEST": "missing, present, blank or null",
    "MINUTES_UNIT": "minutes",
    "DAYS_UNIT": "days or weeks",
    "SCOPE_ARTICLE": "each or the",
    "OPTIONAL": "optional",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "$END": "the end of the file",
}

OPERATOR_WORDS = {"and", "or", "of", "where", "in", "not", "has", "mentions", "is", "otherwise",
                  "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", ".", "["}
CLAUSE_WORDS = {"for", "category", "severity", "with", "when", "unless", "say", "cite", "fix"}
DECLARATION_WORDS = {"param", "codeset", "phrases", "table", "let", "rule", "override", "disable"}

# The shape of each declaration, shown when an error falls inside one.
EXAMPLES = {
    "rulebook": 'a rulebook starts: rulebook medicare "Medicare Part B therapy"  quarter 2026Q2  source "..."',
    "param": 'a param is written: param kx_threshold = $2,480.00  cite "CMS therapy page, CR 14252"',
    "codeset": 'a code set is written: codeset timed "Timed codes" = 97110 97140 97530 97010-97039 M25.6*',
    "phrases": 'a phrase set is written: phrases vague "Vague responses" = "tolerated well" "ROM improved"',
    "table": 'a table is written: table mue from "tables/mue.csv" key code: code columns mue: integer, mai: integer',
    "let": "a definition is written: let timed_minutes per date = sum(minutes of lines where code in timed)",
    "rule": ('a rule is written: rule units.total "Title"  for each date  category units  severity deny  '
             'when ...  say "..."  cite "..."'),
    "disable": 'a disable is written: disable rule units.total because "reason"',
}


def _word(name: str, parser) -> str:
    if name in TERMINAL_WORDS:
        return TERMINAL_WORDS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except (KeyError, AttributeError):
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def describe_expected(expected, parser) -> str:
    """Turn lark's set of acceptable terminals into a short phrase."""
    words = sorted({_word(name, parser) for name in expected})
    plain = {w.strip("'") for w in words}
    groups = []
    if len(words) > 6:
        # Closing brackets and the tails of if/then/else are always acceptable after a
        # value inside them; listing them only buries the useful words.
        words = [w for w in words if w not in ("')'", "']'", "','", "':'", "'then'", "'else'")]
        rest = []
        ops = clause = decl = False
        for w in words:
            bare = w.strip("'")
            if bare in OPERATOR_WORDS or w in (TERMINAL_WORDS["COMPARE"], TERMINAL_WORDS["ADD_OP"], TERMINAL_WORDS["MUL_OP"]):
                ops = True
            elif bare in CLAUSE_WORDS:
                clause = True
            elif bare in DECLARATION_WORDS:
                decl = True
            else:
                rest.append(w)
        groups.extend(rest)
        if ops:
            groups.append("an operator")
        if clause:
            groups.append("a rule clause (" + ", ".join(sorted(plain & CLAUSE_WORDS)) + ")")
        if decl:
            groups.append("a new declaration (rule, let, param, codeset, ...)")
    else:
        groups = words
    if not groups:
        return "nothing more here"
    if len(groups) == 1:
        return groups[0]
    return ", ".join(groups[:-1]) + " or " + groups[-1]


def hint_for(chunk: str, found: str) -> str | None:
    """An example of the declaration that `chunk` starts, plus a word on common slips."""
    words = re.findall(r"[a-z]+", re.sub(r'"[^"\n]*"|#[^\n]*', "", chunk))
    first = words[0] if words else ""
    if first == "override" and len(words) > 1:
        first = words[1]
    hints = []
    lowered = found.lower()
    if re.search(r"'[a-z][a-z0-9]*'", found) and first == "codeset":
        hints.append("codes are written in capitals, as CMS publishes them")
    if "'-q" in lowered or re.search(r"'\d{4}-q", lowered):
        hints.append("a quarter is written like 2026Q2")
    if first in EXAMPLES:
        hints.append(EXAMPLES[first])
    return "; ".join(hints) if hints else None
