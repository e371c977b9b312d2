"""Regular expressions with possessive quantifiers on every Python the modules run on.

Possessive quantifiers (*+ ++ ?+ {m,n}+) spare the engine's hot patterns any backtracking on Python
3.11+. Older Pythons (managed hosts with 3.9 or 3.10) do not know them: there the same patterns are
compiled greedy. Only patterns whose possessive and greedy forms match the same texts may use this
(what follows each possessive part can never be what it repeats), so older Pythons are only slower.
"""
import re
import sys

POSSESSIVE = sys.version_info >= (3, 11)
# a `+` right after a quantifier (*, +, ?, {m,n}) that is not itself an escaped character
_POSSESSIVE_MARK = re.compile(rb"(?<=[*+?}])(?<!\\[*+?}])\+")


def compile_possessive(pattern, flags=0):
    if not POSSESSIVE:
        if isinstance(pattern, str):
            pattern = _POSSESSIVE_MARK.sub(b"", pattern.encode("latin-1")).decode("latin-1")
        else:
            pattern = _POSSESSIVE_MARK.sub(b"", pattern)
    return re.compile(pattern, flags)
