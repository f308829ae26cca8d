"""Model bundles: one predictor's trained per-target state, as a folder of plain data.

A bundle is what `foresight train` writes for each predictor and what the MLflow registry
holds as a model version. It has exactly two files:

  bundle.json   the manifest: format and version, the predictor's name and kind, the
                config it was trained with (the predictor's YAML mapping) and its SHA-256,
                the training window, the library versions, the scores, and the SHA-256 of
                state.jsonl
  state.jsonl   one line per row of state (section, name, target, document): the series
                windows the predictor reads, its config, its shared state and each
                target's models, as the typed-JSON documents of `codec` (the same form a
                state store holds)

Loading runs no code from a bundle: the manifest is checked first (format, file list,
hashes, config hash, config valid for its kind), then every row is decoded by `codec`,
which rebuilds only foresight.* classes. Any failure is a BundleError naming the bundle,
the file, the line and what is wrong; a bundle is taken whole or not at all.
"""
import hashlib
import json
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import yaml

from foresight.config import ConfigError, parse_config

from .codec import VERSION, StateError, decode, dumps, encode, loads

FORMAT = "foresight.bundle"
BUNDLE_VERSION = 1
MANIFEST = "bundle.json"
STATE = "state.jsonl"
SECTIONS = ("series", "config", "shared", "target")  # what a bundle holds; alert levels stay with the sidecar
LIBRARIES = ("foresight", "numpy", "scipy", "statsmodels", "scikit-learn", "drain3", "prophet")
_REQUIRED = ("format", "version", "predictor", "kind", "config", "config_sha256", "window", "libraries",
             "state_version", "files")


class BundleError(ValueError):
    """A folder that is not a bundle this Foresight can load, with where and why."""


@dataclass
class Bundle:
    path: Path
    predictor: str
    kind: str
    config: dict  # the predictor's YAML mapping, as trained
    config_sha256: str
    window: dict  # start, end (unix seconds), source
    libraries: dict
    scores: dict = field(default_factory=dict)
    created_at: float = 0.0
    rows: list = field(default_factory=list)  # (section, name, key, value), decoded

    @property
    def typed_config(self):
        """The config as the predictor's kind reads it."""
        return _typed(self.config, self.path)

    def section(self, *sections) -> list:
        return [row for row in self.rows if row[0] in sections]


def config_sha256(config: dict) -> str:
    """The hash of a predictor's config mapping: its canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def library_versions() -> dict:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _typed(config: dict, where) -> object:
    try:
        return parse_config(yaml.safe_dump({"predictors": [config]}), f"{where}/{MANIFEST} config").predictors[0]
    except ConfigError as exc:
        raise BundleError(f"bundle {where}: its config is not a valid predictor config: {exc}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bundle(directory, config: dict, rows: list, window: dict, scores: dict | None = None) -> Path:
    """Write one predictor's bundle into `directory` (created; must be empty or absent).

    `config` is the predictor's YAML mapping; `rows` are (section, name, key, value) rows
    of its state (engine_state's form), only SECTIONS. Raises BundleError, or StateError
    for state that cannot be serialised."""
    directory = Path(directory)
    typed = _typed(config, directory)
    unknown = sorted({row[0] for row in rows} - set(SECTIONS))
    if unknown:
        raise BundleError(f"bundle {directory}: sections {unknown} do not belong in a bundle")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if any(directory.iterdir()):
            raise BundleError(f"bundle {directory}: the folder is not empty")
        with open(directory / STATE, "w", encoding="utf-8") as handle:
            for section, name, key, value in rows:
                handle.write('{"section":%s,"name":%s,"target":%s,"document":%s}\n' % (
                    json.dumps(section), json.dumps(name), json.dumps(encode(key), separators=(",", ":")),
                    dumps(encode(value), section)))
        manifest = {
            "format": FORMAT, "version": BUNDLE_VERSION, "predictor": typed.name, "kind": typed.kind,
            "config": config, "config_sha256": config_sha256(config), "window": window,
            "libraries": library_versions(), "state_version": VERSION, "created_at": time.time(),
            "targets": sum(row[0] == "target" for row in rows), "series": sum(row[0] == "series" for row in rows),
            "scores": scores or {}, "files": {STATE: _sha256(directory / STATE)},
        }
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False,
                                                     default=_no_json) + "\n")
    except OSError as exc:
        raise BundleError(f"bundle {directory}: cannot write: {exc}") from None
    return directory


def _no_json(value):
    raise TypeError(f"{type(value).__name__} is not JSON")


def read_manifest(directory) -> dict:
    """The manifest, checked against the folder: format, every file listed and unchanged,
    nothing else there, the config hash. Raises BundleError."""
    directory = Path(directory)
    where = f"bundle {directory}"
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{where}: no {MANIFEST}; this is not a Foresight model bundle") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{where}: {MANIFEST} is not readable JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{where}: {MANIFEST} is not a Foresight bundle manifest (format "
                          f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, expected {FORMAT!r})")
    missing = [key for key in _REQUIRED if key not in manifest]
    if missing:
        raise BundleError(f"{where}: {MANIFEST} lacks {', '.join(missing)}")
    if manifest["version"] != BUNDLE_VERSION:
        raise BundleError(f"{where}: bundle version {manifest['version']!r}; this Foresight reads version "
                          f"{BUNDLE_VERSION}")
    if manifest["state_version"] != VERSION:
        raise BundleError(f"{where}: state version {manifest['state_version']!r}; this Foresight reads {VERSION}")
    files = manifest["files"]
    if not isinstance(files, dict) or set(files) != {STATE}:
        raise BundleError(f"{where}: {MANIFEST} files must list exactly {STATE}, found {files!r}")
    present = {p.name for p in directory.iterdir()}
    extra = sorted(present - {MANIFEST, STATE})
    if extra:
        raise BundleError(f"{where}: unexpected file(s) {', '.join(extra)}; a bundle holds only {MANIFEST} and "
                          f"{STATE}, and nothing else in it is ever loaded")
    if STATE not in present:
        raise BundleError(f"{where}: {STATE} is missing")
    if _sha256(directory / STATE) != files[STATE]:
        raise BundleError(f"{where}: {STATE} does not match the SHA-256 in {MANIFEST}: it was changed after "
                          f"the bundle was written")
    if not isinstance(manifest["config"], dict) or config_sha256(manifest["config"]) != manifest["config_sha256"]:
        raise BundleError(f"{where}: the config in {MANIFEST} does not match its config_sha256")
    typed = _typed(manifest["config"], directory)
    if (typed.name, typed.kind) != (manifest["predictor"], manifest["kind"]):
        raise BundleError(f"{where}: the manifest names predictor {manifest['predictor']!r} ({manifest['kind']}) "
                          f"but its config is {typed.name!r} ({typed.kind})")
    return manifest


def read_bundle(directory) -> Bundle:
    """Check and load a bundle (see read_manifest); every row must decode. Raises BundleError."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    bundle = Bundle(directory, manifest["predictor"], manifest["kind"], manifest["config"],
                    manifest["config_sha256"], manifest["window"], manifest["libraries"],
                    manifest.get("scores") or {}, float(manifest.get("created_at") or 0.0))
    with open(directory / STATE, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            bundle.rows.append(_row(line, bundle.predictor, f"bundle {directory}: {STATE} line {number}"))
    return bundle


def _row(line: str, predictor: str, where: str) -> tuple:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise BundleError(f"{where}: not JSON: {exc}") from None
    if not isinstance(row, dict) or set(row) != {"section", "name", "target", "document"}:
        raise BundleError(f"{where}: a row must have exactly section, name, target and document")
    section, name = row["section"], row["name"]
    if section not in SECTIONS:
        raise BundleError(f"{where}: section {section!r} is not one of {', '.join(SECTIONS)}")
    if name != ("" if section == "series" else predictor):
        raise BundleError(f"{where}: a {section} row of predictor {name!r} in the bundle of {predictor!r}")
    try:
        key = decode(row["target"])
        if not isinstance(key, tuple):
            raise StateError("the target is not a key")
        value = loads(json.dumps(row["document"]), section)
    except (StateError, ValueError) as exc:
        raise BundleError(f"{where}: {exc}") from None
    return section, name, key, value


def bundle_size(directory) -> int:
    """Bytes of a bundle's files."""
    return sum(p.stat().st_size for p in Path(directory).iterdir() if p.is_file())


__all__ = ["BUNDLE_VERSION", "FORMAT", "MANIFEST", "SECTIONS", "STATE", "Bundle", "BundleError", "bundle_size",
           "config_sha256", "library_versions", "read_bundle", "read_manifest", "write_bundle"]
