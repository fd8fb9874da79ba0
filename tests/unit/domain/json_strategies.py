"""Hypothesis strategies of JSON, shared by the domain tests.

Not a test module: importlib mode puts no test folder on ``sys.path``, so the
modules that use it run it by path (``runpy.run_path``) and take what they need.
"""

from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=20,
)
"""Any JSON value (no NaN or infinity): nested lists and objects of at most 5 items."""

payloads = st.dictionaries(st.text(), json_values, max_size=5)
"""A task payload: a JSON object of at most 5 names."""
