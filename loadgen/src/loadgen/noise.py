"""Deterministic noise that depends only on (seed, stream, time).

Values must not depend on how the timeline is cut into batches (run exports in flushes,
csv computes everything at once), so noise is a hash of its inputs, not a stateful RNG.
"""

import hashlib

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _stream_key(seed: int, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}/{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _splitmix64(values: np.ndarray) -> np.ndarray:
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))) & _MASK


def uniform(seed: int, stream: str, keys: np.ndarray) -> np.ndarray:
    """Uniform values in (0, 1), one per integer key (usually a unix second)."""
    mixed = _splitmix64(np.asarray(keys, dtype=np.int64).astype(np.uint64) ^ _stream_key(seed, stream))
    return ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def normal(seed: int, stream: str, keys: np.ndarray, clip: float = 3.0) -> np.ndarray:
    """Standard normal values (Box-Muller), clipped so callers can bound excursions."""
    u1 = uniform(seed, stream + "/a", keys)
    u2 = uniform(seed, stream + "/b", keys)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return np.clip(z, -clip, clip)


def smooth(seed: int, stream: str, times: np.ndarray, period: int) -> np.ndarray:
    """Slow wandering noise (standard normal at knots every `period` s, cosine-interpolated)."""
    times = np.asarray(times, dtype=np.float64)
    knot = np.floor(times / period)
    frac = times / period - knot
    weight = (1.0 - np.cos(np.pi * frac)) / 2.0
    left = normal(seed, stream, knot.astype(np.int64))
    right = normal(seed, stream, knot.astype(np.int64) + 1)
    return left * (1.0 - weight) + right * weight
