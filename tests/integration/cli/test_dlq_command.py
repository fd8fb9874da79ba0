"""``simple-worker dlq show``: the dead letters and why each cannot run, none moved or lost."""

import json

BODIES = {
    "valid": {"task_name": "record", "task_payload": {"n": 1}, "task_id": "t-valid", "v": 1},
    "unknown": {"task_name": "no_such_task", "task_payload": {}, "task_id": "t-unknown", "v": 1},
    "mismatch": {"task_name": "fail", "task_payload": {"m": 2}, "task_id": "t-mismatch", "v": 1},
    "script": {
        "task_name": "touch",
        "task_payload": {"path": "<script>alert(1)</script>"},
        "task_id": "t-script",
        "enqueued_at": "2026-01-02T03:04:05.000Z",
        "v": 1,
    },
}


def fill(sqs_client, url):
    entries = [{"Id": key, "MessageBody": json.dumps(body)} for key, body in BODIES.items()] + [
        {"Id": "garbage", "MessageBody": "this is not JSON"}
    ]
    sqs_client.send_message_batch(QueueUrl=url, Entries=entries)


def total(counts, name):
    visible, in_flight = counts(name)
    return visible + in_flight


def test_dlq_show_gives_each_message_its_reason_and_leaves_them_all(
    cli, create_queue, sqs_client, queue_url, counts, prefix
):
    create_queue("default")
    fill(sqs_client, queue_url("default-dlq"))
    assert counts("default-dlq") == (5, 0)

    result = cli("dlq", "show", "cli_app:app", "--queue", "default")

    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 6  # five messages, then the summary
    by_id = {}
    for block in blocks[:5]:
        pairs = [line.split(": ", 1) for line in block.splitlines()[1:]]
        fields = {key.strip(): value.strip() for key, value in pairs}
        by_id[fields["task id"]] = fields
    assert by_id["t-valid"]["reason"].startswith("runs now")
    assert by_id["t-valid"]["payload"] == '{"n": 1}'
    assert by_id["t-unknown"]["reason"].startswith("unknown task no_such_task")
    assert by_id["t-mismatch"]["reason"] == (
        "payload does not fit the handler: missing n; unexpected m"
    )
    assert by_id["t-script"]["payload"] == '{"path": "<script>alert(1)</script>"}'
    assert by_id["t-script"]["enqueued at"] == "2026-01-02T03:04:05.000Z"
    assert by_id["-"]["reason"] == "not a task envelope: not valid JSON (JSONDecodeError)"
    assert by_id["-"]["payload"] == "this is not JSON"
    assert f"Shown 5 message(s) of {prefix}default-dlq" in blocks[5]
    assert counts("default-dlq") == (5, 0)


def test_dlq_show_json_and_limit(run_main, create_queue, sqs_client, queue_url, counts, prefix):
    create_queue("default")
    fill(sqs_client, queue_url("default-dlq"))

    result = run_main("dlq", "show", "cli_app:app", "--queue", f"{prefix}default", "--json")

    assert result.returncode == 0, result.stderr
    letters = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(letters) == 5
    keys = {
        "message_id",
        "task_name",
        "task_id",
        "enqueued_at",
        "receive_count",
        "payload",
        "reason",
    }
    assert all(set(letter) == keys for letter in letters)
    reasons = {letter["task_id"]: letter["reason"] for letter in letters}
    assert reasons[None].startswith("not a task envelope")
    assert reasons["t-mismatch"].startswith("payload does not fit")
    assert all(letter["receive_count"] >= 1 for letter in letters)
    assert total(counts, "default-dlq") == 5

    limited = run_main("dlq", "show", "cli_app:app", "--queue", "default", "--json", "--limit", "2")

    assert limited.returncode == 0, limited.stderr
    assert len(limited.stdout.splitlines()) == 2
    assert counts("default-dlq") == (5, 0)


def test_dlq_show_counts_earlier_failures(run_main, create_queue, sqs_client, queue_url, counts):
    create_queue("default")
    url = queue_url("default-dlq")
    sqs_client.send_message(QueueUrl=url, MessageBody=json.dumps(BODIES["valid"]))
    for _ in range(2):  # as if two workers had failed it
        receipt = sqs_client.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        sqs_client.change_message_visibility(
            QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0
        )

    result = run_main("dlq", "show", "cli_app:app", "--queue", "default", "--json")

    (letter,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert letter["receive_count"] == 3
    assert letter["reason"] == "failed 2 times"
    assert counts("default-dlq") == (1, 0)


def test_dlq_show_cuts_long_payloads_unless_full(run_main, create_queue, sqs_client, queue_url):
    create_queue("default")
    body = {"task_name": "touch", "task_payload": {"path": "x" * 1000}, "v": 1}
    sqs_client.send_message(QueueUrl=queue_url("default-dlq"), MessageBody=json.dumps(body))

    cut = json.loads(run_main("dlq", "show", "cli_app:app", "--queue", "default", "--json").stdout)
    full = json.loads(
        run_main("dlq", "show", "cli_app:app", "--queue", "default", "--json", "--full").stdout
    )

    assert len(cut["payload"]) <= 200
    assert cut["payload"].endswith("characters)")
    assert json.loads(full["payload"]) == body["task_payload"]


def test_dlq_show_needs_a_redrive_policy(run_main, create_queue):
    create_queue("plain", dlq=False)

    result = run_main("dlq", "show", "cli_app:app", "--queue", "plain")

    assert result.returncode == 2
    assert "has no redrive policy" in result.stderr


def test_dlq_show_of_a_missing_queue_is_a_usage_error(run_main):
    result = run_main("dlq", "show", "cli_app:app", "--queue", "nowhere")

    assert result.returncode == 2
    assert "nowhere" in result.stderr


def test_dlq_show_names_a_large_payload_pointer_without_fetching_it(
    run_main, create_queue, sqs_client, queue_url
):
    create_queue("default")
    pointer = [
        "software.amazon.payloadoffloading.PayloadS3Pointer",
        {"s3BucketName": "shop-payloads", "s3Key": "abc123"},
    ]
    sqs_client.send_message(QueueUrl=queue_url("default-dlq"), MessageBody=json.dumps(pointer))

    result = run_main("dlq", "show", "cli_app:app", "--queue", "default", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reason"] == "large payload at s3://shop-payloads/abc123"
