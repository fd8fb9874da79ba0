import pytest

# Detailed assert messages in the contract suite, which lives in the package.
pytest.register_assert_rewrite("simple_worker.testing.queue_contract")
