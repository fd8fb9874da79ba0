import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_worker import MessageDecodeError
from simple_worker.domain._payload_pointer import (
    LEGACY_POINTER_CLASS,
    POINTER_CLASS,
    PayloadPointer,
    encode_pointer,
    find_pointer,
    pointer_attributes,
)

POINTER = PayloadPointer("my-bucket", "large/5b0c7a9e-0d4c-4f61-9a43-1f0b7f3c2d10")


def body(kind=POINTER_CLASS, **fields):
    return json.dumps([kind, fields])


def test_a_pointer_encodes_as_the_extended_clients_write_it():
    assert json.loads(encode_pointer(POINTER)) == [
        "software.amazon.payloadoffloading.PayloadS3Pointer",
        {"s3BucketName": "my-bucket", "s3Key": POINTER.key},
    ]


def test_the_size_attribute_is_the_extended_clients_number_attribute():
    assert pointer_attributes(2_097_152) == {"ExtendedPayloadSize": 2_097_152}


def test_an_encoded_pointer_is_found_again():
    assert find_pointer(encode_pointer(POINTER)) == POINTER


@pytest.mark.parametrize("kind", [POINTER_CLASS, LEGACY_POINTER_CLASS])
def test_a_pointer_is_found_by_either_class(kind):
    found = find_pointer(body(kind, s3BucketName="b", s3Key="k"))

    assert found == PayloadPointer("b", "k")


def test_unknown_fields_next_to_bucket_and_key_are_ignored():
    found = find_pointer(body(s3BucketName="b", s3Key="k", region="eu-west-1"))

    assert found == PayloadPointer("b", "k")


@pytest.mark.parametrize(
    "text",
    [
        '{"task_name": "t", "task_payload": {}}',
        '["an", "array", "of", "something", "else"]',
        json.dumps(["java.lang.String", {"s3BucketName": "b", "s3Key": "k"}]),
        json.dumps([["nested"], {}]),
        "[]",
        "[not json",
        "",
        "plain text",
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_a_body_that_names_no_pointer_class_is_no_pointer(text):
    assert find_pointer(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (json.dumps([POINTER_CLASS]), "not a \\[class"),
        (json.dumps([POINTER_CLASS, {}, {}]), "not a \\[class"),
        (json.dumps([POINTER_CLASS, ["b", "k"]]), "no \\{s3BucketName"),
        (body(s3Key="k"), "s3BucketName"),
        (body(s3BucketName="", s3Key="k"), "s3BucketName"),
        (body(s3BucketName="a/b", s3Key="k"), "s3BucketName"),
        (body(s3BucketName="b" * 256, s3Key="k"), "s3BucketName"),
        (body(s3BucketName=7, s3Key="k"), "s3BucketName"),
        (body(s3BucketName="b"), "s3Key"),
        (body(s3BucketName="b", s3Key=None), "s3Key"),
        (body(s3BucketName="b", s3Key=""), "s3Key"),
        (body(s3BucketName="b", s3Key="k" * 1025), "s3Key"),
        (body(s3BucketName="b", s3Key="line\nbreak"), "unprintable"),
        (body(s3BucketName="b", s3Key="\ud800"), "unprintable"),
    ],
)
def test_a_malformed_pointer_is_a_decode_error_with_the_reason(text, reason):
    with pytest.raises(MessageDecodeError, match=reason):
        find_pointer(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@given(
    st.one_of(
        st.text(max_size=200),
        json_values.map(json.dumps),
        st.lists(json_values, max_size=3).map(lambda rest: json.dumps([POINTER_CLASS, *rest])),
        st.dictionaries(st.sampled_from(["s3BucketName", "s3Key", "x"]), json_values).map(
            lambda fields: json.dumps([POINTER_CLASS, fields])
        ),
    ),
)
def test_finding_a_pointer_raises_nothing_but_a_decode_error(text):
    try:
        found = find_pointer(text)
    except MessageDecodeError:
        return
    assert found is None or isinstance(found, PayloadPointer)
