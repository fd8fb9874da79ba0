"""The payload store port: where task bodies too large for a queue message are kept.

The S3 adapter is the real one; an in-memory one serves testing mode. Values are
domain types (`PayloadPointer`), never a client library's dicts.
"""

from __future__ import annotations

from typing import Protocol

from simple_worker.domain._payload_pointer import PayloadPointer

__all__ = ["PayloadStorePort"]


class PayloadStorePort(Protocol):
    """Stores task bodies under unique keys of one bucket; safe to call from many threads."""

    def put(self, body: str) -> PayloadPointer:
        """Store ``body`` (UTF-8) under a new key and return where it is.

        Raises:
            PayloadStoreError: the store failed; nothing is stored.
        """

    def get(self, pointer: PayloadPointer) -> str:
        """Return the body stored at ``pointer``.

        Raises:
            PayloadNotFound: no such object in this store: deleted, expired, never
                written, or in a bucket that is not the store's own.
            MessageDecodeError: the object is not UTF-8 text, so no task.
            PayloadStoreError: the store failed; the object may well be there.
        """

    def delete(self, pointer: PayloadPointer) -> None:
        """Delete the object at ``pointer``; deleting one that is gone is no error.

        Raises:
            PayloadNotFound: the pointer is into a bucket that is not the store's own.
            PayloadStoreError: the store failed; the object may still be there.
        """
