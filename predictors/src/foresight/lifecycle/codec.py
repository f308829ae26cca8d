"""The one safe serialised form of Foresight state: typed JSON, never pickle.

`encode` walks Foresight's own objects and plain containers into JSON-ready nodes;
`dumps` wraps them in a versioned document; `loads` and `decode` rebuild them. Every
JSON object in a document is a typed node {"$": type, ...}:

  float  non-finite floats ("inf", "-inf", "nan")     tuple, frozenset  {"items": [...]}
  dict   {"map": {...}} with text keys, else {"items": [[key, value], ...]}; also
         counter and odict (collections.Counter, OrderedDict)
  deque  {"maxlen": n, "items": [...]}               set   {"items": [...]}
  ndarray {"dtype", "shape", "data": base64}          bytes {"data": base64}
  object {"class": "foresight.module:Class", "attrs": {...}} or, for a class with
         `to_state()` and `from_state(state)`, {"class": ..., "state": node}
  lock   a threading lock (rebuilt empty)            ref   {"n": k}: the k-th container again
JSON arrays are lists; numbers, text, true, false and null are themselves.

Loading runs no code that the document names: a class must be defined in a `foresight.*`
module, is created without calling its constructor, and its attributes are set directly
(dataclass fields missing from an older document take their defaults). Arrays must have
a numeric dtype. Anything else is a StateError that says where in the document it is.
Objects shared within one document (a graph two parts hold) stay shared: a container met
again is written as a `ref` to its first appearance, numbered in the order both walks go.
"""
import base64
import binascii
import dataclasses
import importlib
import json
import math
import re
import threading
import types
import typing
from collections import Counter, OrderedDict, deque

import numpy as np

FORMAT = "foresight.state"
VERSION = 1  # raise when the document layout changes; older documents are then refused
_MODULE = re.compile(r"foresight(\.[A-Za-z_][A-Za-z0-9_]*)+")
_QUALNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class StateError(ValueError):
    """A document that is not Foresight state this code can load, with where and why."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- encoding --------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.seen: dict[int, tuple[int, object]] = {}  # id -> (number, object kept alive)

    def _first(self, value) -> dict | None:
        """A ref node when `value` was met before; otherwise numbers it and returns None."""
        known = self.seen.get(id(value))
        if known is not None:
            return {"$": "ref", "n": known[0]}
        self.seen[id(value)] = (len(self.seen), value)
        return None

    def node(self, value, path: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (bytes, bytearray)):
            return {"$": "bytes", "data": bytes(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _NUMERIC_KINDS:
                raise StateError(f"{path}: arrays of dtype {value.dtype} are not state")
            return {"$": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape),
                    "data": np.ascontiguousarray(value).tobytes()}  # a copy: safe to write later
        if isinstance(value, tuple):
            return {"$": "tuple", "items": [self.node(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, frozenset):
            return {"$": "frozenset", "items": [self.node(v, f"{path}{{}}") for v in value]}
        if isinstance(value, _LOCK_TYPES):
            return {"$": "lock"}
        ref = self._first(value)
        if ref is not None:
            return ref
        if type(value) is list:
            return [self.node(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if type(value) in (dict, Counter, OrderedDict):
            kind = {dict: "dict", Counter: "counter", OrderedDict: "odict"}[type(value)]
            if all(type(k) is str for k in value):
                return {"$": kind, "map": {k: self.node(v, f"{path}.{k}") for k, v in value.items()}}
            return {"$": kind, "items": [[self.node(k, f"{path}<key>"), self.node(v, f"{path}[{k!r}]")]
                                         for k, v in value.items()]}
        if type(value) is deque:
            return {"$": "deque", "maxlen": value.maxlen,
                    "items": [self.node(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if type(value) is set:
            return {"$": "set", "items": [self.node(v, f"{path}{{}}") for v in value]}
        return self._object(value, path)

    def _object(self, value, path: str) -> dict:
        cls = type(value)
        name = f"{cls.__module__}:{cls.__qualname__}"
        if not _MODULE.fullmatch(cls.__module__) or "<locals>" in cls.__qualname__:
            raise StateError(f"{path}: {name} is not a Foresight class (give its owner to_state/from_state)")
        if callable(getattr(value, "to_state", None)) and callable(getattr(cls, "from_state", None)):
            return {"$": "object", "class": name, "state": self.node(value.to_state(), f"{path}.to_state()")}
        return {"$": "object", "class": name,
                "attrs": {k: self.node(v, f"{path}.{k}") for k, v in _attributes(value).items()}}


def _attributes(value) -> dict:
    """An instance's attributes: its __dict__ and every slot that is set."""
    found = dict(getattr(value, "__dict__", {}))
    for klass in type(value).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__") and hasattr(value, slot):
                found[slot] = getattr(value, slot)
    return found


def encode(value):
    """JSON-ready nodes of `value`: a deep copy, so the writer may serialise it while the
    state goes on changing. Raises StateError naming the part that cannot be state."""
    return _Encoder().node(value, "root")


def dumps(root_node, kind: str) -> str:
    """The document text of encoded nodes (the slow part: run it off the consumer thread)."""
    document = {"format": FORMAT, "version": VERSION, "kind": kind, "root": root_node}
    return json.dumps(document, separators=(",", ":"), allow_nan=False,
                      default=lambda o: _b64(o) if isinstance(o, bytes) else _unknown(o))


def _unknown(value):
    raise TypeError(f"{type(value).__name__} is not JSON")


# -- decoding --------------------------------------------------------------------------
class _Decoder:
    def __init__(self):
        self.made: list = []  # containers by number, in the order the encoder met them

    def _number(self, container):
        self.made.append(container)
        return container

    def node(self, node, path: str):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            out = self._number([])
            out.extend(self.node(v, f"{path}[{i}]") for i, v in enumerate(node))
            return out
        if not isinstance(node, dict) or not isinstance(node.get("$"), str):
            raise StateError(f"{path}: not a typed node: {_short(node)}")
        handler = self._HANDLERS.get(node["$"])
        if handler is None:
            raise StateError(f"{path}: unknown node type {_short(node['$'])}")
        return handler(self, node, path)

    def _float(self, node, path):
        if node.get("v") not in _NON_FINITE:
            raise StateError(f"{path}: bad float {_short(node.get('v'))}")
        return _NON_FINITE[node["v"]]

    def _bytes(self, node, path):
        return _unb64(node.get("data"), path)

    def _ndarray(self, node, path):
        try:
            dtype = np.dtype(node["dtype"])
            shape = tuple(int(n) for n in node["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"{path}: bad array header: {exc}") from None
        if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
            raise StateError(f"{path}: arrays of dtype {dtype} are not state")
        data = _unb64(node.get("data"), path)
        if len(data) != dtype.itemsize * math.prod(shape):
            raise StateError(f"{path}: {len(data)} bytes do not fill an array of shape {shape} and dtype {dtype}")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()  # writable, owns its memory

    def _items(self, node, path) -> list:
        items = node.get("items")
        if not isinstance(items, list):
            raise StateError(f"{path}: 'items' must be a list")
        return [self.node(v, f"{path}[{i}]") for i, v in enumerate(items)]

    def _tuple(self, node, path):
        return tuple(self._items(node, path))

    def _frozenset(self, node, path):
        return frozenset(self._hashable(self._items(node, path), path))

    def _set(self, node, path):
        out = self._number(set())
        out.update(self._hashable(self._items(node, path), path))
        return out

    def _deque(self, node, path):
        maxlen = node.get("maxlen")
        if maxlen is not None and (type(maxlen) is not int or maxlen < 0):
            raise StateError(f"{path}: bad deque maxlen {_short(maxlen)}")
        out = self._number(deque(maxlen=maxlen))
        out.extend(self._items(node, path))
        return out

    def _dict(self, node, path, out=None):
        out = self._number({} if out is None else out)
        if isinstance(node.get("map"), dict):
            for key, value in node["map"].items():
                out[key] = self.node(value, f"{path}.{key}")
            return out
        pairs = node.get("items")
        if not isinstance(pairs, list):
            raise StateError(f"{path}: a dict needs 'map' or 'items'")
        for i, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise StateError(f"{path}[{i}]: a dict item must be [key, value]")
            key = self._hashable([self.node(pair[0], f"{path}<key {i}>")], path)[0]
            out[key] = self.node(pair[1], f"{path}[{key!r}]")
        return out

    def _counter(self, node, path):
        return self._dict(node, path, Counter())

    def _odict(self, node, path):
        return self._dict(node, path, OrderedDict())

    def _lock(self, node, path):
        return threading.Lock()

    def _ref(self, node, path):
        n = node.get("n")
        if type(n) is not int or not 0 <= n < len(self.made):
            raise StateError(f"{path}: reference to unknown container {_short(n)}")
        return self.made[n]

    def _object(self, node, path):
        cls = resolve_class(node.get("class"), path)
        if "state" in node:
            if not callable(getattr(cls, "to_state", None)) or not callable(getattr(cls, "from_state", None)):
                raise StateError(f"{path}: {node['class']} has no from_state")
            self._number(None)  # keeps the numbering in step with the encoder
            slot = len(self.made) - 1
            value = cls.from_state(self.node(node["state"], f"{path}.state"))
            self.made[slot] = value
            return value
        attrs = node.get("attrs")
        if not isinstance(attrs, dict):
            raise StateError(f"{path}: an object needs 'attrs' or 'state'")
        try:
            obj = object.__new__(cls)
        except TypeError as exc:
            raise StateError(f"{path}: {node['class']} cannot be rebuilt from attributes: {exc}") from None
        self._number(obj)
        fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else None
        for name, value in attrs.items():
            if not name.isidentifier() or name.startswith("__"):
                raise StateError(f"{path}: bad attribute name {_short(name)}")
            if fields is not None and name not in fields:
                raise StateError(f"{path}: {node['class']} has no field {name!r}")
            value = self.node(value, f"{path}.{name}")
            if fields is not None:
                _check_type(fields[name], value, f"{path}.{name}")
            try:
                object.__setattr__(obj, name, value)
            except AttributeError as exc:
                raise StateError(f"{path}: {node['class']} has no attribute {name!r}: {exc}") from None
        for name, field in (fields or {}).items():  # a field added since the document was written
            if name not in attrs and field.init:
                if field.default is not dataclasses.MISSING:
                    object.__setattr__(obj, name, field.default)
                elif field.default_factory is not dataclasses.MISSING:
                    object.__setattr__(obj, name, field.default_factory())
                else:
                    raise StateError(f"{path}: {node['class']} field {name!r} is missing and has no default")
        return obj

    @staticmethod
    def _hashable(values: list, path: str) -> list:
        for v in values:
            try:
                hash(v)
            except TypeError:
                raise StateError(f"{path}: {type(v).__name__} cannot be a set member or dict key") from None
        return values

    _HANDLERS = {"float": _float, "bytes": _bytes, "ndarray": _ndarray, "tuple": _tuple, "frozenset": _frozenset,
                 "set": _set, "deque": _deque, "dict": _dict, "counter": _counter, "odict": _odict, "lock": _lock,
                 "ref": _ref, "object": _object}


def _check_type(field, value, path: str):
    """Fields annotated with a plain type (float, int, str, bool, or one of them | None)
    must hold it: a tampered number should fail here, not in a forecast later."""
    union = isinstance(field.type, types.UnionType) or typing.get_origin(field.type) is typing.Union
    allowed = field.type.__args__ if union else (field.type,)
    if not all(t in (float, int, str, bool, type(None)) for t in allowed):
        return
    if float in allowed:
        allowed = (*allowed, int)
    if type(value) not in allowed or (type(value) is bool and bool not in allowed):
        raise StateError(f"{path}: expected {field.type}, found {type(value).__name__} {_short(value)}")


def resolve_class(name, path: str = "root") -> type:
    """The class `foresight.module:Qual.Name`, only if a Foresight module defines it."""
    if not isinstance(name, str) or name.count(":") != 1:
        raise StateError(f"{path}: bad class name {_short(name)}")
    module_name, qualname = name.split(":")
    if not _MODULE.fullmatch(module_name) or not _QUALNAME.fullmatch(qualname):
        raise StateError(f"{path}: {name!r} is not a Foresight class; only classes of foresight.* modules load")
    try:
        target = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise StateError(f"{path}: no class {name!r} in this version of Foresight") from None
    if not isinstance(target, type) or target.__module__ != module_name or target.__qualname__ != qualname:
        raise StateError(f"{path}: {name!r} is not a class defined in {module_name}")
    return target


def _unb64(data, path: str) -> bytes:
    if not isinstance(data, str):
        raise StateError(f"{path}: binary data must be base64 text")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise StateError(f"{path}: binary data is not base64") from None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def decode(node):
    """The objects that `encode` made `node` from."""
    try:
        return _Decoder().node(node, "root")
    except RecursionError:
        raise StateError("root: nested too deeply") from None


def loads(text: str | bytes, kind: str):
    """Rebuild the state a document of `kind` holds; StateError when it is not one."""
    try:
        document = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise StateError(f"not a JSON document: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateError(f"not a Foresight state document (format {_short(_get(document, 'format'))}, "
                         f"expected {FORMAT!r})")
    if document.get("version") != VERSION:
        raise StateError(f"state version {_short(document.get('version'))} is not {VERSION}, the version this "
                         "Foresight reads")
    if document.get("kind") != kind:
        raise StateError(f"a {_short(document.get('kind'))} document where {kind!r} was expected")
    return decode(document.get("root"))


def _get(document, key):
    return document.get(key) if isinstance(document, dict) else None


__all__ = ["FORMAT", "VERSION", "StateError", "decode", "dumps", "encode", "loads", "resolve_class"]
