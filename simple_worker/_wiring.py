"""Choosing the payload store an `App` sends large tasks through; wiring only."""

from __future__ import annotations

from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.domain._errors import ConfigurationError
from simple_worker.ports.payload_store import PayloadStorePort


def choose_payload_store(
    bucket: str | None,
    store: PayloadStorePort | None,
    *,
    testing_mode: bool,
    s3_endpoint_url: str | None,
    sqs_endpoint_url: str | None,
    region: str | None,
) -> PayloadStorePort | None:
    """Return the store for `App`'s large-payload options, or None when they are off.

    A bucket means S3 in ``region``, through ``s3_endpoint_url``, else the SQS one
    (a local emulator serves both), else the standard AWS configuration; in
    testing mode it means memory, so that tests need no AWS.

    Raises:
        ConfigurationError: both a bucket and a store, an S3 endpoint without a
            bucket, or a bucket name S3 cannot have.
    """
    if store is not None:
        if bucket is not None:
            raise ConfigurationError(
                "Give large_payload_bucket or large_payload_store, not both: the store "
                "already names its bucket."
            )
        return store
    if bucket is None:
        if s3_endpoint_url is not None:
            raise ConfigurationError(
                "s3_endpoint_url is for large payloads: give large_payload_bucket too."
            )
        return None
    if testing_mode:
        return InMemoryPayloadStore(bucket)
    # Imported here so that apps without large payloads do not import the S3 adapter.
    from simple_worker.adapters.s3._payloads import S3PayloadStore  # noqa: PLC0415

    return S3PayloadStore(bucket, endpoint_url=s3_endpoint_url or sqs_endpoint_url, region=region)
