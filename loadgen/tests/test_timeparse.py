import pytest

from loadgen.timeparse import format_instant, parse_duration, parse_start


@pytest.mark.parametrize(
    "text, seconds", [("30s", 30), ("15m", 900), ("8h", 28800), ("7d", 604800), (" 1h ", 3600)]
)
def test_durations_in_each_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "h", "1.5h", "-3m", "10w", "3 h", "0s"])
def test_bad_durations_are_named_in_the_error(text):
    with pytest.raises(ValueError) as error:
        parse_duration(text)
    assert repr(text) in str(error.value)


def test_start_accepts_z_offsets_and_naive_utc():
    assert parse_start("2026-01-01T00:00:00Z") == 1767225600
    assert parse_start("2026-01-01T01:00:00+01:00") == 1767225600
    assert parse_start("2026-01-01T00:00:00") == 1767225600
    assert format_instant(1767225600) == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00.5Z"])
def test_bad_start_is_named_in_the_error(text):
    with pytest.raises(ValueError) as error:
        parse_start(text)
    assert repr(text) in str(error.value)
