"""Passwords nobody should be allowed to choose (NIST SP 800-63B, 5.1.1.2: refuse commonly used,
expected or compromised values; no composition rules).

The list is short on purpose: the most-used passwords of public breach statistics that meet the
length minimum, in English and German. Runs of a keyboard row, the alphabet or digits, a password
of one or two repeated characters, and the account's own email (or its local part) are refused by
rule, so their variants need no entries.
"""

from __future__ import annotations

COMMON = frozenset(
    """
password password1 password12 password123 passw0rd p@ssw0rd p@ssword iloveyou iloveyou1 sunshine sunshine1
princess princess1 football football1 baseball baseball1 welcome1 welcome123 abc12345 abcd1234 qwerty123
qwertz123 1q2w3e4r 1q2w3e4r5t q1w2e3r4 q1w2e3r4t5 1qaz2wsx zaq12wsx trustno1 superman starwars whatever
letmein1 letmein123 michelle jennifer 12341234 11223344 123123123 asdfasdf asdf1234 qwer1234 1234qwer
computer internet corvette mercedes maverick midnight charlie1 monkey123 dragon123 master123 admin123
admin1234 administrator changeme changeme1 changeme123 secret123 test1234 test12345 testtest guest123
default1 freedom1 michael1 jordan23 liverpool chelsea1 arsenal1 samsung1 pokemon1 minecraft blink182
a1b2c3d4 aa123456 zxcvbnm1 lovely123 babygirl1 passwort passwort1 passwort123 hallo123 geheim123
schalke04 qwertzui
""".split()
)

_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm")


def weak_password(password: str, email: str = "") -> str | None:
    """Why ``password`` must not be chosen (a field message), or None when it may."""
    folded = password.casefold()
    local = email.casefold().split("@", 1)[0]
    if len(set(folded)) <= 2:
        return "uses one or two different characters only"
    if folded in COMMON or folded.rstrip("!.1") in COMMON:
        return "is one of the most common passwords; choose another"
    if any(folded in run or folded in run[::-1] for run in _RUNS):
        return "is a run of keys, letters or digits; choose another"
    if folded in (email.casefold(), local) and local:
        return "must not be your email address"
    return None
