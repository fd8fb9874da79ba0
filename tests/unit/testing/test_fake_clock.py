from datetime import datetime, timedelta, timezone

import pytest

from simple_worker.testing.clock import FakeClock


def test_fake_clock_starts_at_new_year_2026_utc_and_monotonic_zero():
    clock = FakeClock()

    assert clock.now() == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert clock.now().tzinfo == timezone.utc
    assert clock.monotonic() == 0.0


def test_fake_clock_starts_at_the_time_it_is_given_in_utc():
    start = datetime(2030, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))

    now = FakeClock(start).now()

    assert now == start
    assert now.tzinfo == timezone.utc


def test_fake_clock_refuses_a_naive_start():
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2026, 1, 1))


def test_advance_moves_wall_and_monotonic_time_together():
    clock = FakeClock()

    clock.advance(31)
    clock.advance(0.5)

    assert clock.monotonic() == 31.5
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 31, 500_000, tzinfo=timezone.utc)


def test_sleep_advances_the_clock_instead_of_waiting():
    clock = FakeClock()

    clock.sleep(3600)

    assert clock.monotonic() == 3600
    assert clock.now() == datetime(2026, 1, 1, 1, tzinfo=timezone.utc)


def test_the_clock_never_goes_backwards():
    clock = FakeClock()

    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert clock.monotonic() == 0.0
