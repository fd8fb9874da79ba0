import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_worker.domain._excerpt import excerpt, logged_size, quoted

EMOJI = "\U0001f600"
# Every character class a message can hold, surrogates included, each costing a
# different number of bytes in a JSON log line.
any_characters = st.characters(codec=None, categories=None) | st.sampled_from(
    [EMOJI, "é", "\n", "\x00", "\x7f", "\u2028", "\udcff", '"', "\\", "'", "a"]
)
texts = st.text(any_characters, max_size=40) | st.builds(
    lambda text, times: text * times,
    st.text(any_characters, min_size=1, max_size=4),
    st.integers(1, 3000),
)
budgets = st.integers(32, 1200)


@pytest.mark.parametrize(
    ("text", "size"),
    [("abc", 3), ('"\\', 4), ("\n", 2), ("\x00", 6), ("é", 6), (EMOJI, 12), ("\udcff", 6)],
)
def test_logged_size_counts_bytes_as_json_writes_them(text, size):
    assert logged_size(text) == size == len(json.dumps({"m": text}).encode()) - len('{"m": ""}')


def test_text_within_the_budget_is_kept_whole():
    assert excerpt("payload['n']", 32) == "payload['n']"
    assert excerpt(EMOJI * 5, 60) == EMOJI * 5


def test_text_over_the_budget_keeps_its_beginning_and_says_how_long_it_was():
    assert excerpt("x" * 1000, 40) == "x" * 19 + "... (1000 characters)"
    assert excerpt(EMOJI * 1000, 64) == EMOJI * 3 + "... (1000 characters)"


def test_unprintable_characters_are_escaped_so_a_line_stays_one_line():
    assert excerpt("a\nb\x07\udcff", 64) == "a\\nb\\x07\\udcff"


def test_quoted_text_keeps_its_quotes_around_its_beginning():
    assert quoted("key", 32) == "'key'"
    assert quoted("k" * 100, 40) == "'" + "k" * 18 + "'... (100 characters)"
    assert quoted(7, 32) == "7"
    assert quoted(10**4299, 40) == "1" + "0" * 18 + "... (4300 characters)"


@given(text=texts, budget=budgets, as_repr=st.booleans())
def test_an_excerpt_fits_its_budget_on_one_printable_line(text, budget, as_repr):
    shown = quoted(text, budget) if as_repr else excerpt(text, budget)

    assert logged_size(shown) <= budget
    assert shown.isprintable()
    # No character is larger in UTF-8 than in an escaped JSON string: a budget
    # holds for the text format too.
    assert len(shown.encode("utf-8")) <= logged_size(shown)


@given(text=texts, budget=budgets)
def test_an_excerpt_is_the_text_or_its_beginning_with_the_length(text, budget):
    shown = excerpt(text, budget)

    escaped = excerpt(text, 10**9)
    if shown != escaped:
        head, _, rest = shown.rpartition("... (")
        assert rest == f"{len(text)} characters)"
        assert escaped.startswith(head)
