"""Masking of the variable parts of a log line: ids, IP addresses and numbers.

Masking runs on every line, so it is three precompiled substitutions done in C, with no
Python callback per match. Each pattern starts with a plain character class, which lets
the regex engine skip quickly to candidate positions; the "not glued to a word" checks
are lookbehinds placed after that first character for the same reason.
Order matters: ids and IPs are masked before plain numbers, otherwise their digits would
be taken as numbers first.
"""
import re

ID = "<ID>"
IP = "<IP>"
NUM = "<NUM>"

_H = "[0-9a-fA-F]"
_ID_PATTERN = re.compile(
    rf"{_H}(?<![0-9A-Za-z].)"
    rf"(?:{_H}{{7}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}}"  # UUID
    rf"|(?<=0)x{_H}+"  # 0x7fff5fbff8
    rf"|(?:(?<=[a-fA-F])|(?=[0-9]*[a-fA-F])){_H}{{7,}}"  # hex run of 8+ with a letter: request/trace ids
    rf")(?![0-9A-Za-z])"
)
# IPv4; a port after it is left to the number mask, giving "<IP>:<NUM>".
_IP_PATTERN = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9])")
# Integers and decimals not glued to a preceding letter or digit: "12ms" -> "<NUM>ms",
# "user_42" -> "user_<NUM>", but "sha256" and "v2" stay as they are.
_NUM_PATTERN = re.compile(r"[0-9](?<![0-9A-Za-z][0-9])[0-9]*(?:\.[0-9]+)?")


def mask(text: str) -> str:
    """The line with ids, IPs and numbers replaced by <ID>, <IP> and <NUM>."""
    return _NUM_PATTERN.sub(NUM, _IP_PATTERN.sub(IP, _ID_PATTERN.sub(ID, text)))
