import threading

import pytest

from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.testing.payload_store_contract import PayloadStorePortContract


class TestInMemoryPayloadStore(PayloadStorePortContract):
    @pytest.fixture
    def payload_store(self):
        return InMemoryPayloadStore("bucket")


def test_keys_start_with_the_prefix_and_name_the_bucket():
    store = InMemoryPayloadStore("tasks", key_prefix="large/")

    pointer = store.put("body")

    assert pointer.bucket == "tasks"
    assert pointer.key.startswith("large/")
    assert store.keys() == [pointer.key]


def test_two_stores_share_nothing():
    first, second = InMemoryPayloadStore("b"), InMemoryPayloadStore("b")

    first.put("body")

    assert second.keys() == []


def test_puts_from_many_threads_all_land():
    store = InMemoryPayloadStore()
    threads = [
        threading.Thread(target=lambda: [store.put("x") for _ in range(100)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(store.keys()) == 800
