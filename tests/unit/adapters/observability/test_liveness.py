from simple_worker.adapters.observability._liveness import LivenessFanOut, one_liveness


class Beats:
    def __init__(self):
        self.count = 0

    def beat(self):
        self.count += 1


class Broken:
    def beat(self):
        raise OSError("disk full")


def test_every_port_beats_even_after_one_that_raises(caplog):
    first, last = Beats(), Beats()

    LivenessFanOut([first, Broken(), last]).beat()

    assert (first.count, last.count) == (1, 1)
    assert "Liveness port Broken raised" in caplog.text


def test_one_liveness_wraps_only_when_there_are_several():
    only = Beats()

    assert one_liveness([]) is None
    assert one_liveness([only]) is only
    assert isinstance(one_liveness([only, Beats()]), LivenessFanOut)
