"""`S3PayloadStore` against moto's S3 server, over real HTTP."""

import re
import uuid

import boto3
import pytest
from botocore.config import Config

from simple_worker import ConfigurationError, MessageDecodeError, PayloadStoreError
from simple_worker.adapters.s3._payloads import S3PayloadStore
from simple_worker.domain._payload_pointer import PayloadPointer
from simple_worker.testing.payload_store_contract import PayloadStorePortContract

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1)


@pytest.fixture(scope="module")
def session():
    """One boto3 session for the module: each new one loads S3's large service model again."""
    return boto3.session.Session()


class TestS3PayloadStoreContract(PayloadStorePortContract):
    @pytest.fixture
    def payload_store(self, moto_server, make_bucket, session):
        return S3PayloadStore(make_bucket(), session=session, endpoint_url=moto_server)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


def test_keys_are_the_prefix_and_a_uuid_as_the_extended_clients_make_them(
    moto_server, bucket, session
):
    store = S3PayloadStore(
        bucket, key_prefix="simple-worker/large/", session=session, endpoint_url=moto_server
    )

    pointer = store.put("{}")

    prefix, _, rest = pointer.key.rpartition("/")
    assert prefix == "simple-worker/large"
    assert UUID.fullmatch(rest)


def test_the_object_is_the_body_in_utf8_as_json(moto_server, bucket, session, s3_client):
    store = S3PayloadStore(bucket, session=session, endpoint_url=moto_server)

    pointer = store.put('{"text":"caf\u00e9"}')

    stored = s3_client.get_object(Bucket=bucket, Key=pointer.key)
    assert stored["Body"].read() == '{"text":"caf\u00e9"}'.encode()
    assert stored["ContentType"] == "application/json"


def test_putting_into_a_missing_bucket_is_a_store_error_that_says_to_create_it(
    moto_server, session
):
    store = S3PayloadStore(
        f"missing-{uuid.uuid4().hex[:12]}", session=session, endpoint_url=moto_server
    )

    with pytest.raises(PayloadStoreError, match=r"NoSuchBucket.*aws s3 mb") as raised:
        store.put("{}")

    assert raised.value.operation == "PutObject"


def test_reading_from_a_missing_bucket_is_a_store_error_not_a_missing_object(moto_server, session):
    name = f"missing-{uuid.uuid4().hex[:12]}"
    store = S3PayloadStore(name, session=session, endpoint_url=moto_server)

    with pytest.raises(PayloadStoreError, match="NoSuchBucket") as raised:
        store.get(PayloadPointer(name, "k"))

    assert (raised.value.bucket, raised.value.key) == (name, "k")


def test_an_unreachable_endpoint_is_a_store_error_naming_the_object(closed_port_url):
    store = S3PayloadStore("b", endpoint_url=closed_port_url, config=ONE_ATTEMPT)

    with pytest.raises(PayloadStoreError, match="could not be reached") as raised:
        store.get(PayloadPointer("b", "some-key"))

    assert raised.value.key == "some-key"
    assert raised.value.__cause__ is not None


def test_no_credentials_is_a_store_error_that_says_how_to_set_them(monkeypatch, moto_server):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3PayloadStore("b", endpoint_url=moto_server, config=ONE_ATTEMPT)

    with pytest.raises(PayloadStoreError) as raised:
        store.get(PayloadPointer("b", "some-key"))

    message = str(raised.value)
    assert "S3 GetObject of s3://b/some-key failed: no AWS credentials were found." in message
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message


def test_an_object_that_is_not_utf8_is_a_decode_error(moto_server, bucket, session, s3_client):
    s3_client.put_object(Bucket=bucket, Key="binary", Body=b"\xff\xfe\x00")
    store = S3PayloadStore(bucket, session=session, endpoint_url=moto_server)

    with pytest.raises(MessageDecodeError, match="not UTF-8"):
        store.get(PayloadPointer(bucket, "binary"))


def test_the_endpoint_may_come_from_aws_endpoint_url_s3(moto_server, bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    store = S3PayloadStore(bucket)

    assert store.get(store.put("via the environment")) == "via the environment"


@pytest.mark.parametrize(
    ("bucket_name", "options", "match"),
    [
        ("", {}, "bucket's name"),
        ("s3://b", {}, "bucket's name"),
        ("b", {"key_prefix": "with space/"}, "key_prefix"),
        ("b", {"key_prefix": "p" * 989}, "key_prefix"),
        ("b", {"client": object(), "region": "eu-west-1"}, "not both"),
    ],
)
def test_invalid_options_are_refused(bucket_name, options, match):
    with pytest.raises(ConfigurationError, match=match):
        S3PayloadStore(bucket_name, **options)


def test_a_client_whose_methods_another_library_replaced_is_refused(moto_server):
    def replace_get_object(class_attributes, **_):
        get_object = class_attributes["get_object"]
        class_attributes["get_object"] = lambda self, **kwargs: get_object(self, **kwargs)

    session = boto3.session.Session()
    session.events.register("creating-client-class.s3", replace_get_object)

    with pytest.raises(ConfigurationError, match="get_object by ") as caught:
        S3PayloadStore("b", session=session, endpoint_url=moto_server)

    assert "build its own client" in str(caught.value)
