from collections import Counter

from simple_worker.consumer._turns import WeightedTurns


def test_weights_three_to_one_give_three_turns_in_four_spread_out():
    turns = WeightedTurns({"high": 3, "low": 1})

    picked = [turns.next(["high", "low"]) for _ in range(8)]

    assert picked == ["high", "high", "low", "high"] * 2


def test_equal_weights_take_turns_one_by_one():
    turns = WeightedTurns({"a": 1, "b": 1, "c": 1})

    assert [turns.next(["a", "b", "c"]) for _ in range(6)] == ["a", "b", "c"] * 2


def test_a_queue_with_nothing_ready_takes_no_turn_and_gets_no_debt():
    turns = WeightedTurns({"high": 3, "low": 1})
    assert {turns.next(["low"]) for _ in range(5)} == {"low"}

    picked = Counter(turns.next(["high", "low"]) for _ in range(400))

    assert picked == {"high": 300, "low": 100}
