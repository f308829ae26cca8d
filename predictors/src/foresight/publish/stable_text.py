"""Texts published as label values (why, action) that change only in substance.

foresight_driver_info{text} and foresight_action_info{text} carry numbers that move a
little at every evaluation; each new text is a new Prometheus series. A text is held
until its words change or one of its numbers moves more than `tolerance` (10%) away from
the number in the held text, so a steady ramp makes a handful of series, not one per
evaluation.
"""
import re

# A clock time (14:05, compared as minutes of the day) or a number, with its sign.
_NUMBER = re.compile(r"(\d{1,2}):(\d{2})\b|[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
TOLERANCE = 0.1


def _split(text: str) -> tuple[str, list[float]]:
    numbers = []

    def replace(match: re.Match) -> str:
        if match[1] is not None:
            numbers.append(int(match[1]) * 60.0 + int(match[2]))
        else:
            numbers.append(float(match[0]))
        return "#"

    return _NUMBER.sub(replace, text), numbers


def same_in_substance(held: str, new: str, tolerance: float = TOLERANCE) -> bool:
    """The same words, and every number within `tolerance` of the held one."""
    held_words, held_numbers = _split(held)
    new_words, new_numbers = _split(new)
    return held_words == new_words and all(
        a == b or abs(a - b) <= tolerance * max(abs(a), abs(b)) for a, b in zip(held_numbers, new_numbers))


class HeldTexts:
    """The text to publish for each (target, slot), held while it is the same in substance."""

    def __init__(self, tolerance: float = TOLERANCE):
        self.tolerance = tolerance
        self._held: dict[tuple, str] = {}

    def hold(self, key: tuple, text: str) -> str:
        held = self._held.get(key)
        if held is not None and same_in_substance(held, text, self.tolerance):
            return held
        self._held[key] = text
        return text

    def forget(self, keep) -> None:
        """Drop the texts of every slot whose target is not in `keep` (a set of target keys)."""
        self._held = {key: text for key, text in self._held.items() if key[0] in keep}


__all__ = ["HeldTexts", "TOLERANCE", "same_in_substance"]
