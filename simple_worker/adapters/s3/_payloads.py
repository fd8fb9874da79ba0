"""The S3 payload store: `PayloadStorePort` over Amazon S3, through boto3.

Besides the SQS adapter, the only module of the package that imports boto3 or
botocore; every botocore error is translated here into simple-worker's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from simple_worker.adapters.sqs._clients import (
    client_configuration,
    merged_config,
    refuse_altered_client,
    refuse_client_with_options,
    session_and_region,
)
from simple_worker.domain._errors import (
    HOW_TO_SET_CREDENTIALS,
    ConfigurationError,
    MessageDecodeError,
    PayloadNotFound,
    PayloadStoreError,
)
from simple_worker.domain._payload_pointer import MAX_KEY_BYTES, PayloadPointer

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_s3 import S3Client

_UUID_LENGTH = 36
MAX_KEY_PREFIX_LENGTH = MAX_KEY_BYTES - _UUID_LENGTH
"""Longest key prefix: a key is the prefix and a UUID, 1024 bytes at most."""
# The extended client libraries' rule for prefixes: keys that need no escaping anywhere.
_KEY_PREFIX = re.compile(r"[A-Za-z0-9./_-]*")
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def default_config() -> Config:
    """Return the botocore `Config` an `S3PayloadStore` builds its client with."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": 5},  # the first call and 4 retries
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=64,  # task threads fetch, 8 delete threads clean up
    )


class S3PayloadStore:
    """A `PayloadStorePort` over one Amazon S3 bucket (or an emulator speaking its API).

    Objects are put under ``key_prefix`` + a random UUID, as the extended client
    libraries name theirs. Pointers into any other bucket are refused
    (`PayloadNotFound`): a message must not make a worker read or delete objects
    of a bucket it was not given. Retries are botocore's (``standard`` mode), as
    for `SQSQueue`; thread-safe, as boto3 clients are.

    Args:
        bucket: the bucket's name; it must exist (the store never creates it).
        key_prefix: put before every new key, e.g. ``"simple-worker/"``; letters,
            digits and ``. / _ -`` only.
        client: a boto3 S3 client, used as is; default: one built here.
        session: the boto3 session to build the client from; default: a new one, of
            boto3's own class whatever replaced it, so the standard AWS configuration
            applies (``AWS_ENDPOINT_URL_S3``, ``AWS_REGION``, profiles, credentials)
            and nothing other libraries hook onto sessions.
        endpoint_url: S3 endpoint, e.g. a local emulator's.
        region: AWS region name.
        config: botocore options, merged over `default_config`.

    Raises:
        ConfigurationError: the bucket name is empty, the prefix is invalid, a
            ``client`` is given with options for building one, the AWS
            configuration cannot make a client, or the client's methods are not
            botocore's (another library replaced them).
    """

    def __init__(
        self,
        bucket: str,
        *,
        key_prefix: str = "",
        client: S3Client | None = None,
        session: Session | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        config: Config | None = None,
    ) -> None:
        if not bucket or "/" in bucket:
            raise ConfigurationError(
                f"large payload bucket must be a bucket's name (no s3:// and no /); got {bucket!r}."
            )
        if len(key_prefix) > MAX_KEY_PREFIX_LENGTH or not _KEY_PREFIX.fullmatch(key_prefix):
            raise ConfigurationError(
                f"key_prefix must be up to {MAX_KEY_PREFIX_LENGTH} letters, digits and . / _ -; "
                f"got {key_prefix!r:.80}."
            )
        refuse_client_with_options("S3PayloadStore", client, session, endpoint_url, region, config)
        self.bucket = bucket
        self.key_prefix = key_prefix
        self._client = client or _build_client(session, endpoint_url, region, config)
        given = client is not None or session is not None
        refuse_altered_client("S3PayloadStore", self._client, given=given)

    def put(self, body: str) -> PayloadPointer:
        """Store ``body`` as a new object and return its pointer.

        Raises:
            PayloadStoreError: S3 refused the call or did not answer.
        """
        pointer = PayloadPointer(self.bucket, f"{self.key_prefix}{uuid.uuid4()}")
        with _translate("PutObject", pointer):
            self._client.put_object(
                Bucket=pointer.bucket,
                Key=pointer.key,
                Body=body.encode("utf-8"),
                ContentType="application/json",
            )
        return pointer

    def get(self, pointer: PayloadPointer) -> str:
        """Return the body stored at ``pointer``.

        Raises:
            PayloadNotFound: no such object (S3 answered 404), or it is in another bucket.
            MessageDecodeError: the object is not UTF-8 text.
            PayloadStoreError: S3 refused the call (403 too, which S3 answers for a
                missing object when ``s3:ListBucket`` is not granted) or did not answer.
        """
        self._check_bucket(pointer)
        with _translate("GetObject", pointer):
            data = self._client.get_object(Bucket=pointer.bucket, Key=pointer.key)["Body"].read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise MessageDecodeError(f"its large payload {pointer} is not UTF-8 text") from None

    def delete(self, pointer: PayloadPointer) -> None:
        """Delete the object at ``pointer``; S3 answers success when it is already gone.

        Raises:
            PayloadNotFound: the pointer is into another bucket.
            PayloadStoreError: S3 refused the call or did not answer.
        """
        self._check_bucket(pointer)
        with _translate("DeleteObject", pointer):
            self._client.delete_object(Bucket=pointer.bucket, Key=pointer.key)

    def _check_bucket(self, pointer: PayloadPointer) -> None:
        if pointer.bucket != self.bucket:
            reason = f"it is not in bucket {self.bucket!r}, the only one this store reads"
            raise PayloadNotFound(pointer.bucket, pointer.key, reason)


def _build_client(
    session: Session | None, endpoint_url: str | None, region: str | None, config: Config | None
) -> S3Client:
    session, region = session_and_region(session, region)
    with client_configuration("S3", endpoint_url):
        return session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=merged_config(default_config(), config),
        )


@contextmanager
def _translate(operation: str, pointer: PayloadPointer) -> Iterator[None]:
    """Turn a botocore error raised inside the block into ours, chained with ``from``."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code") or "UnknownError"
        if operation == "GetObject" and code in _MISSING_OBJECT_CODES:
            raise PayloadNotFound(pointer.bucket, pointer.key) from exc
        raise PayloadStoreError(
            f"S3 {operation} of {pointer} failed: {code}: {error.get('Message') or exc}. "
            f"{_hint(code, operation, pointer.bucket)}",
            operation=operation,
            bucket=pointer.bucket,
            key=pointer.key,
        ) from exc
    except NoCredentialsError as exc:
        raise PayloadStoreError(
            f"S3 {operation} of {pointer} failed: no AWS credentials were found. "
            + HOW_TO_SET_CREDENTIALS,
            operation=operation,
            bucket=pointer.bucket,
            key=pointer.key,
        ) from exc
    except BotoCoreError as exc:
        raise PayloadStoreError(
            f"S3 {operation} of {pointer} failed: {type(exc).__name__}: {exc}. S3 could not "
            "be reached or did not answer in time, even after botocore's retries: check the "
            "endpoint and the network, then try again.",
            operation=operation,
            bucket=pointer.bucket,
            key=pointer.key,
        ) from exc


def _hint(code: str, operation: str, bucket: str) -> str:
    if code == "NoSuchBucket":
        return f"Create the bucket (aws s3 mb s3://{bucket}) or fix large_payload_bucket."
    if code in ("AccessDenied", "403", "Forbidden"):
        action = {"PutObject": "s3:PutObject", "GetObject": "s3:GetObject"}.get(
            operation, "s3:DeleteObject"
        )
        return (
            f"Grant {action} on arn:aws:s3:::{bucket}/* (and s3:ListBucket on the bucket, "
            "so that a missing object reads as missing, not as denied)."
        )
    return "Check the region, credentials and permissions, then try again."
