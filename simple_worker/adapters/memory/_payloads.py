"""The in-memory payload store: a `PayloadStorePort` for testing mode, without AWS.

It keeps bodies in a dict, under keys made like the S3 adapter's, and refuses
pointers into other buckets as the S3 adapter does. Thread-safe; two instances
share nothing.
"""

from __future__ import annotations

import threading
import uuid

from simple_worker.domain._errors import PayloadNotFound
from simple_worker.domain._payload_pointer import PayloadPointer


class InMemoryPayloadStore:
    """A `PayloadStorePort` whose objects live in this process.

    Beyond the port: `keys`, for tests.

    Args:
        bucket: the name its pointers carry, as an S3 bucket's would.
        key_prefix: put before every new key.
    """

    def __init__(self, bucket: str = "testing", key_prefix: str = "") -> None:
        self.bucket = bucket
        self.key_prefix = key_prefix
        self._objects: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, body: str) -> PayloadPointer:
        """Store ``body`` under a new key and return its pointer."""
        key = f"{self.key_prefix}{uuid.uuid4()}"
        with self._lock:
            self._objects[key] = body
        return PayloadPointer(self.bucket, key)

    def get(self, pointer: PayloadPointer) -> str:
        """Return the body at ``pointer``.

        Raises:
            PayloadNotFound: no such object, or the pointer is into another bucket.
        """
        self._check_bucket(pointer)
        with self._lock:
            body = self._objects.get(pointer.key)
        if body is None:
            raise PayloadNotFound(pointer.bucket, pointer.key)
        return body

    def delete(self, pointer: PayloadPointer) -> None:
        """Delete the object at ``pointer``, if it is there.

        Raises:
            PayloadNotFound: the pointer is into another bucket.
        """
        self._check_bucket(pointer)
        with self._lock:
            self._objects.pop(pointer.key, None)

    def keys(self) -> list[str]:
        """Return the keys of the objects stored now, oldest first."""
        with self._lock:
            return list(self._objects)

    def _check_bucket(self, pointer: PayloadPointer) -> None:
        if pointer.bucket != self.bucket:
            reason = f"it is not in bucket {self.bucket!r}, the only one this store reads"
            raise PayloadNotFound(pointer.bucket, pointer.key, reason)
