"""Shared by the exhaustion shape tests: one series through the engine, as the service runs it."""
import numpy as np

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.engine import Engine

T0 = 1_767_225_600


def replay(values: np.ndarray, config: str, step: float = 15.0, every_minutes: int = 5) -> list:
    """`values`, scraped every `step` seconds from T0 as series `used` of instance "a", through
    an engine of `config`, evaluated every `every_minutes`: every prediction it made."""
    engine = Engine(parse_config(config))
    out, chunk = [], int(every_minutes * 60 / step)
    for begin in range(0, values.size, chunk):
        points = [Point("used", (("instance", "a"),), T0 + i * step, float(values[i]), GAUGE)
                  for i in range(begin, min(begin + chunk, values.size))]
        engine.add_points("metrics", points)
        out.extend(engine.evaluate())
    return out
