"""Masking of the variable parts of a log line: secrets, user ids, e-mail addresses, ids,
IP addresses, paths and numbers.

Templates become label values (foresight_log_template_rate) and alert text, so what
identifies a person or grants access is masked before mining: tokens (JWTs, bearer
credentials, the values of token=, api_key=, password= and the like, long base64 runs)
become <TOKEN>, the values of user=, user_id=, uid= and the like <USER>, e-mail
addresses <EMAIL>.

Masking runs on every line, so it is a few precompiled substitutions done in C (Python
runs only for a match that keeps part of itself, which few lines have). Each pattern
starts with a plain character class or literal, which lets the regex engine skip quickly
to candidate positions; the "not glued to a word" checks are lookbehinds placed after
that first character for the same reason. Patterns that need a rare string ("@", "eyJ",
"earer") run only on lines that hold it. Order matters: secrets and user ids first (their
values may hold anything), then URLs and paths (they hold numbers and IPs), then base64
runs, ids and IPs, then plain numbers, otherwise their digits would be taken as numbers first.
"""
import re

ID = "<ID>"
IP = "<IP>"
NUM = "<NUM>"
PATH = "<PATH>"
TOKEN = "<TOKEN>"
USER = "<USER>"
EMAIL = "<EMAIL>"
PLACEHOLDERS = (ID, IP, NUM, PATH, TOKEN, USER, EMAIL)

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


# A JSON Web Token: base64url header starting '{"', payload and signature, dot-separated.
_JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
# The value of a key that names a secret (-> <TOKEN>) or a person (-> <USER>): token=, access_token=,
# X-Api-Key:, "password": "...", user=, user_id=, uid=. A key matches by how it ends. The match
# starts at the "=", ":" or closing quote after the key, so the regex engine skips quickly to those
# few characters; fixed-width lookbehinds then check the key before it.
_SECRET_KEYS = ("token", "apikey", "api_key", "api-key", "secret", "password", "passwd", "pwd", "authorization",
                "auth", "credential", "credentials", "session", "sessionid", "session_id", "signature",
                "private_key", "cookie")
_USER_KEYS = ("user", "userid", "user_id", "user-id", "username", "user_name", "uid", "login", "account",
              "account_id", "customer", "customer_id", "member_id", "principal", "email")


def _ends(keys) -> str:
    return "|".join(f"(?<={re.escape(key)}.)" for key in keys)


_LAST_LETTERS = "".join(sorted({c for key in _SECRET_KEYS + _USER_KEYS for c in (key[-1].lower(), key[-1].upper())}))
_KEY_VALUE_PATTERN = re.compile(
    rf"([=:\"'](?<=[{_LAST_LETTERS}].)"  # most separators fail this one test
    rf"(?:(?:{_ends(_SECRET_KEYS)})(?P<secret>)|{_ends(_USER_KEYS)})"
    r"(?:(?<=[=:])|(?<=[\"'])[=:])"  # the separator, right after the key or its closing quote
    r"(?:(?<=[=])[\"']?"  # key=value, key="value"
    r"|(?<=[\"']:)[ ]?[\"']?"  # "key": "value", as in JSON
    r"|(?<=[^\"']:)(?=[^\s])"  # key:value
    # key: value only before a scheme word or a generated-looking value ("auth: failed" is prose)
    r"|(?<=[^\"']:)[ ](?=[^\s,;]*[0-9]|[^\s,;]{16}|(?:bearer|basic|digest) ))"
    r"(?:(?:bearer|basic|digest)[ ]+)?+)"  # Authorization: Bearer <TOKEN>; possessive, so "Bearer" is never the value
    r"[^\s,;&)\]}'\"<>]+", re.IGNORECASE)
# A bearer token without a key: "sent Bearer abc.def". It must hold a digit or one of . + / =,
# so "Bearer authentication" stays.
_BEARER_PATTERN = re.compile(r"([Bb](?<![A-Za-z0-9].)earer[ ]+)(?=[A-Za-z_~-]*[0-9.+/=])[A-Za-z0-9._~+/=-]{8,}")
_EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])")
# A run of 32+ base64 characters with upper case, lower case and a digit followed by a letter:
# an API key or a signature. Words, hex, ids like blk_-1608999687919862906 and names with a
# number at the end (tryToReloadTodayBasicSteps1514044800223) lack one of these. The match
# starts at the character before the run (fewer candidates than every letter); a run that starts
# the line is checked on its own.
_B64 = "[A-Za-z0-9+/_-]"
_B64_RUN = (rf"(?={_B64}{{32}})(?={_B64}*?[A-Z])(?={_B64}*?[a-z])(?={_B64}*?[0-9][A-Za-z])"
            rf"{_B64}+=*(?![A-Za-z0-9+/=_-])")
_BASE64_PATTERN = re.compile(rf"([^A-Za-z0-9+/=_-]){_B64_RUN}")
_BASE64_AT_START = re.compile(_B64_RUN)


# Functions, not "\\1<TOKEN>" templates: a template is parsed in Python at every call, a
# function runs only on a match, which few lines have.
def _key_value(match: re.Match) -> str:
    return match.group(1) + (TOKEN if match.group("secret") is not None else USER)


def _after_first_group(match: re.Match) -> str:
    return match.group(1) + TOKEN


def mask(text: str) -> str:
    """The line with secrets, user ids, e-mail addresses, ids, IPs, paths and numbers replaced
    by <TOKEN>, <USER>, <EMAIL>, <ID>, <IP>, <PATH> and <NUM>."""
    if "eyJ" in text:
        text = _JWT_PATTERN.sub(TOKEN, text)
    text = _KEY_VALUE_PATTERN.sub(_key_value, text)
    if "earer" in text:
        text = _BEARER_PATTERN.sub(_after_first_group, text)
    if "@" in text:
        text = _EMAIL_PATTERN.sub(EMAIL, text)
    text = _PATH_PATTERN.sub(PATH, _URL_PATTERN.sub("://" + PATH, text))
    text = _BASE64_AT_START.sub(TOKEN, text, count=1) if _BASE64_AT_START.match(text) else text
    text = _BASE64_PATTERN.sub(_after_first_group, text)
    return _NUM_PATTERN.sub(NUM, _IP_PATTERN.sub(IP, _ID_PATTERN.sub(ID, text)))
