"""Wording for syntax errors: what was expected, in words a compliance lead knows, and
an example of the declaration being written.

lark reports the terminals it could have accepted (`NAME`, `EQUAL`, `__ANON_3`...). We
ask lark's interactive parser which of them really move the parse on (LALR merges the
lookaheads of similar states, so its own list often names words that would fail one
step later, such as rule clauses inside a `let`), translate them, group long lists
("a value", "an operator", "a rule clause"), and add the shape of the declaration the
error is in, taken from `EXAMPLES`.
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
    "CODE": "a code in capitals (97140, G0283, M25.6*)",
    "MINUS": "'-' (a range, like 97010-97039)",
    "CODE_RANGE": "a range of codes like 98940-98942",
    "CODE_PREFIX": "a code prefix like S93.4*",
    "RULE_ID": "a rule id like units.total",
    "RULEBOOK_ID": "a rulebook id like therapy-common",
    "RULEBOOK_REF": "a rulebook like therapy-common@2026Q2",
    "QUARTER": "a quarter like 2026Q2",
    "COMPARE": "a comparison (= != < <= > >=)",
    "QUANTIFIER": "any, all or none",
    "TEST": "missing, present, blank or null",
    "MINUTES_UNIT": "minutes",
    "DAYS_UNIT": "days or weeks",
    "SCOPE_ARTICLE": "'each' or 'the' (for each line, for the claim)",
    "OPTIONAL": "optional",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "$END": "the end of the file",
}

OPERATOR_WORDS = {"and", "or", "of", "where", "in", "not", "has", "mentions", "is", "otherwise",
                  "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", ".", "["}
CLAUSE_WORDS = {"for", "category", "severity", "with", "when", "unless", "say", "cite", "fix", "denial"}
DECLARATION_WORDS = {"param", "codeset", "phrases", "table", "let", "rule", "override", "disable", "adopt"}

# Terminals, by lark name, that start a value (an expression or a literal).
_VALUE_START = {"NAME", "STRING", "INT", "DECIMAL", "MONEY", "DATE", "TRUE", "FALSE", "IF", "LPAR", "LSQB",
                "MINUS", "NOT", "CODE_RANGE", "CODE_PREFIX"}
# Terminals that continue an expression after a value.
_OPERATORS = {"ADD_OP", "MUL_OP", "COMPARE", "AND", "OR", "OF", "WHERE", "IN", "NOT", "HAS", "MENTIONS", "IS",
              "OTHERWISE", "DOT", "LSQB", "LPAR"}
_UNITS = {"MINUTES_UNIT", "DAYS_UNIT"}
_CLAUSES = {"FOR", "CATEGORY", "SEVERITY", "WITH", "WHEN", "UNLESS", "SAY", "CITE", "FIX", "DENIAL"}
_DECLARATIONS = {"PARAM", "CODESET", "PHRASES", "TABLE", "LET", "RULE", "OVERRIDE", "DISABLE", "ADOPT"}

# The shape of each declaration, shown when an error falls inside one.
EXAMPLES = {
    "rulebook": ('a rulebook starts: rulebook acme-pt "Acme PT plan"  quarter 2026Q2  extends therapy-common@2026Q2  '
                 'source "..."'),
    "param": 'a param is written: param kx_threshold = $2,480.00  cite "CMS therapy page, CR 14252"',
    "codeset": 'a code set is written: codeset timed "Timed codes" = 97110 97140 97530 97010-97039 M25.6*',
    "phrases": 'a phrase set is written: phrases vague "Vague responses" = "tolerated well" "ROM improved"',
    "table": 'a table is written: table mue from "tables/mue.csv" key code: code columns mue: integer, mai: integer',
    "let": "a definition is written: let timed_minutes per date = sum(minutes of lines where code in timed)",
    "rule": ('a rule is written: rule units.total "Title"  for each date  category units  severity deny  '
             'when ...  say "..."  cite "..."'),
    "disable": 'a disable is written: disable rule units.total because "reason"',
    "adopt": 'an adopt is written: adopt rule units.total, units.lone_under_8 cite "the payer\'s own source" (a `severity warn` before the cite adopts them as warnings)',
}

# Characters that word processors and PDFs put where the language wants plain ASCII.
LOOKALIKES = {
    "\u201c": 'a curly quote: write straight double quotes "..."',
    "\u201d": 'a curly quote: write straight double quotes "..."',
    "\u2018": "a curly quote: quoted text uses straight double quotes \"...\"",
    "\u2019": "a curly quote: quoted text uses straight double quotes \"...\"",
    "\u2013": "an en dash: write a plain hyphen '-', as in 97010-97039",
    "\u2014": "an em dash: write a plain hyphen '-', as in 97010-97039",
    "\u2212": "a minus sign: write a plain hyphen '-'",
    "\u00a0": "a non-breaking space: write an ordinary space",
    "'": "a single quote: quoted text uses double quotes \"...\"",
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


def _join(groups: list[str]) -> str:
    if not groups:
        return "nothing more here"
    if len(groups) == 1:
        return groups[0]
    return ", ".join(groups[:-1]) + " or " + groups[-1]


def describe_expected(expected, parser, end_word: str = "a new declaration (rule, let, param, codeset, ...)") -> str:
    """Turn a set of acceptable terminals (lark names) into a short phrase.

    `end_word` is how `$END` reads: parsed one declaration at a time, the end of the
    text means the next declaration may start.
    """
    names = set(expected)
    if names == {"COLON", "EQUAL"}:
        return "'=' and the value (or ':' and a type, like : money, before the '=')"
    groups: list[str] = []
    after: list[str] = []

    value = {"INT", "STRING"} <= names
    if value:
        names -= _VALUE_START
        names.discard("RPAR")  # `sum(` may close at once, but a value is what is missing
        names.discard("RSQB")
        kinds = "a name, a number, an amount like $2,480.00, a date or a quoted text" if "NAME" in expected \
            else "a number, an amount like $2,480.00, a date, a quoted text, true or false"
        after.append(f"a value ({kinds})")
    operators = names & _OPERATORS
    if len(operators) >= 3:
        names -= _OPERATORS
        after.append("an operator (and, or, =, <, +, in, where, of, ...)")
    units = names & _UNITS
    if units:
        names -= _UNITS
        after.append("a unit (minutes, days or weeks)")
    clauses = names & _CLAUSES
    if len(clauses) >= 3:
        names -= _CLAUSES
        after.append("a rule clause (" + ", ".join(sorted(_word(c, parser).strip("'") for c in clauses)) + ")")
    declarations = names & _DECLARATIONS
    if len(declarations) >= 3:
        names -= _DECLARATIONS
        after.append("a declaration (rulebook, param, codeset, phrases, table, let, rule, override, disable, adopt)"
                     if "RULEBOOK" in names else "a new declaration (rule, let, param, codeset, ...)")
        names.discard("RULEBOOK")
    if "$END" in names:
        names.discard("$END")
        if end_word not in after:
            after.append(end_word)
    # Specific words first (a closing bracket, 'then', ':'): they are usually the fix.
    groups = sorted({_word(n, parser) for n in names}) + after
    return _join(groups)


def _first_word(chunk: str) -> str:
    words = re.findall(r"[a-z]+", re.sub(r'"[^"\n]*"|#[^\n]*', "", chunk))
    first = words[0] if words else ""
    if first == "override" and len(words) > 1:
        first = words[1]
    return first


def example_for(chunk: str) -> str | None:
    """The shape of the declaration that `chunk` starts, if it starts one."""
    return EXAMPLES.get(_first_word(chunk))


_CODE = re.compile(r"[0-9A-Z][0-9A-Z]*(\.[0-9A-Z]*)?\*?")


def lowercase_code(word: str) -> str | None:
    """`g0283` -> `G0283` when the word is a code written in lower case (it has a digit,
    or it is two letters like a modifier)."""
    upper = word.upper()
    if word == upper or not _CODE.fullmatch(upper):
        return None
    if not re.search(r"[0-9]", word) and len(word) > 2:
        return None
    return upper
