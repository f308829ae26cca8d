"""Loading a predictor config: the YAML file, each predictor read by its kind's typed config."""
from pathlib import Path

import yaml

from foresight.predictors.registry import config_class

from .reader import ConfigError, Fields
from .schema import Config


def load_config(path) -> Config:
    """Read and validate a config file. Raises ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read the file: {exc.strerror}") from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "<config>") -> Config:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise ConfigError(source, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        raise ConfigError(source, "", "the file is empty; expected a 'predictors:' list")
    top = Fields(data, source, "")
    items, _ = top._get("predictors", None, True)
    top.reject_unknown()
    if not isinstance(items, list) or not items:
        raise ConfigError(source, "predictors", "expected a non-empty list of predictors")
    predictors, names = [], set()
    for i, item in enumerate(items):
        f = Fields(item, source, f"predictors[{i}]")
        kind = f.text("kind", required=True)
        try:
            cls = config_class(kind)
        except KeyError as exc:
            raise f.error("kind", exc.args[0]) from None
        cfg = cls.from_fields(f)
        if cfg.name in names:
            raise f.error("name", f"{cfg.name!r} is used by another predictor; names must be unique")
        names.add(cfg.name)
        predictors.append(cfg)
    return Config(source=source, predictors=predictors)
