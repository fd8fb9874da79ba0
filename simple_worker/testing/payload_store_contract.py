"""The `PayloadStorePort` contract: one test suite that every payload store must pass.

Subclass `PayloadStorePortContract` in a test module and provide one fixture::

    class TestMyStore(PayloadStorePortContract):
        @pytest.fixture
        def payload_store(self) -> PayloadStorePort:
            return MyStore(bucket=...)  # an empty bucket of its own

The tests hold only what both S3 and the in-memory store guarantee.
"""

# A test suite living in the package (so other adapters can import it) gets the rules
# pyproject relaxes for tests/: it asserts and its names are its docs.
# ruff: noqa: S101, D102

from __future__ import annotations

import pytest

from simple_worker.domain._errors import PayloadNotFound
from simple_worker.domain._payload_pointer import PayloadPointer
from simple_worker.ports.payload_store import PayloadStorePort

__all__ = ["PayloadStorePortContract"]

_LARGE = 2 * 1024 * 1024


class PayloadStorePortContract:
    """Tests every `PayloadStorePort` adapter must pass; subclass and give `payload_store`."""

    @pytest.fixture
    def payload_store(self) -> PayloadStorePort:
        raise NotImplementedError("a subclass provides the payload_store fixture")

    def test_a_stored_body_reads_back_unchanged(self, payload_store: PayloadStorePort) -> None:
        body = '{"task_name":"t","task_payload":{"text":"caf\\u00e9 \u2603"},"v":1}'

        pointer = payload_store.put(body)

        assert payload_store.get(pointer) == body

    def test_a_body_of_megabytes_reads_back_unchanged(
        self, payload_store: PayloadStorePort
    ) -> None:
        body = '{"blob":"' + "x" * _LARGE + '"}'

        assert payload_store.get(payload_store.put(body)) == body

    def test_every_put_gets_a_key_of_its_own(self, payload_store: PayloadStorePort) -> None:
        first, second = payload_store.put("a"), payload_store.put("a")

        assert first.bucket == second.bucket
        assert first.key != second.key

    def test_reading_a_missing_object_raises_payload_not_found(
        self, payload_store: PayloadStorePort
    ) -> None:
        missing = PayloadPointer(payload_store.put("a").bucket, "no-such-key")

        with pytest.raises(PayloadNotFound) as raised:
            payload_store.get(missing)

        assert (raised.value.bucket, raised.value.key) == (missing.bucket, missing.key)

    def test_a_deleted_object_is_gone(self, payload_store: PayloadStorePort) -> None:
        pointer = payload_store.put("a")

        payload_store.delete(pointer)

        with pytest.raises(PayloadNotFound):
            payload_store.get(pointer)

    def test_deleting_a_missing_object_is_no_error(self, payload_store: PayloadStorePort) -> None:
        pointer = payload_store.put("a")
        payload_store.delete(pointer)

        payload_store.delete(pointer)

    def test_a_pointer_into_another_bucket_is_neither_read_nor_deleted(
        self, payload_store: PayloadStorePort
    ) -> None:
        pointer = payload_store.put("a")
        elsewhere = PayloadPointer(pointer.bucket + "-other", pointer.key)

        with pytest.raises(PayloadNotFound, match="only one this store reads"):
            payload_store.get(elsewhere)
        with pytest.raises(PayloadNotFound):
            payload_store.delete(elsewhere)
        assert payload_store.get(pointer) == "a"
