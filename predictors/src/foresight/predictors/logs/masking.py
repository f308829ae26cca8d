"""Masking of the variable parts of a log line: ids, IP addresses, paths and numbers.

Masking runs on every line, so it is a few precompiled substitutions done in C, with no
Python callback per match. Each pattern starts with a plain character class or literal,
which lets the regex engine skip quickly to candidate positions; the "not glued to a
word" checks are lookbehinds placed after that first character for the same reason.
Order matters: URLs and paths go first (they hold numbers and IPs), then ids and IPs,
then plain numbers, otherwise their digits would be taken as numbers first.
"""
import re

ID = "<ID>"
IP = "<IP>"
NUM = "<NUM>"
PATH = "<PATH>"
PLACEHOLDERS = (ID, IP, NUM, PATH)

_H = "[0-9a-fA-F]"
_ID_PATTERN = re.compile(
    rf"{_H}(?<![0-9A-Za-z].)(?=x|[0-9a-fA-F:-]{{7}})"  # the lookahead skips short words fast
    rf"(?:{_H}{{7}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}}"  # UUID
    rf"|(?<=0)x{_H}+"  # 0x7fff5fbff8
    rf"|{_H}(?::{_H}{{2}}){{3,}}"  # MAC addresses and other colon-separated hex bytes
    rf"|(?:(?<=[a-fA-F])|(?=[0-9]*[a-fA-F])){_H}{{7,}}"  # hex run of 8+ with a letter: request/trace ids
    rf")(?![0-9A-Za-z])"
)
# IPv4; a port after it is left to the number mask, giving "<IP>:<NUM>".
_IP_PATTERN = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9])")
# What follows a URL's scheme, up to a space or closing punctuation: "hdfs://<PATH>".
_URL_PATTERN = re.compile(r"://[^\s,;)\]'\"]+")
# File and URL paths of two or more segments, starting a word or after = : ( [ ~ . or a
# quote: "/var/lib/x.db", "./conf/a.yml", "/api/v1/orders/17"; "C:\\Windows\\x" -> "C:<PATH>".
# One segment ("/health") stays.
_SEGMENT = r"[^\s/\\,;)\]'\"]"
_PATH_PATTERN = re.compile(rf"[/\\](?<![^\s=:(\[\"'~.][/\\]){_SEGMENT}+(?:[/\\]{_SEGMENT}*)+")
# Numbers not glued to a preceding letter or digit, with their sign and a unit glued after:
# "12ms", "-4131", "5.2KB", "99%" -> "<NUM>"; "user_42" -> "user_<NUM>"; "sha256" and "v2" stay.
_NUM_PATTERN = re.compile(r"[-+0-9](?<![0-9A-Za-z].)(?:(?<=[0-9])|(?=[0-9]))[0-9]*(?:\.[0-9]+)?"
                          r"(?:[A-Za-z%]+(?![0-9A-Za-z]))?")


def mask(text: str) -> str:
    """The line with ids, IPs, paths and numbers replaced by <ID>, <IP>, <PATH> and <NUM>."""
    text = _PATH_PATTERN.sub(PATH, _URL_PATTERN.sub("://" + PATH, text))
    return _NUM_PATTERN.sub(NUM, _IP_PATTERN.sub(IP, _ID_PATTERN.sub(ID, text)))
