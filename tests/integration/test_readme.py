"""The README's Python blocks run, in order, in one namespace, against the moto server.

A block preceded by ``<!-- readme-test: skip (why) -->`` is not run; each such
marker must say why.
"""

import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
_BLOCK = re.compile(
    r"(<!-- readme-test: skip \((?P<why>[^)]+)\) -->\n)?```python\n(?P<code>.*?)```", re.S
)


def readme_blocks():
    return [
        (match.group("code"), match.group("why"))
        for match in _BLOCK.finditer(README.read_text(encoding="utf-8"))
    ]


def test_the_readme_has_python_blocks_to_run():
    runnable = [code for code, why in readme_blocks() if why is None]

    assert len(runnable) >= 5


def test_the_readme_python_blocks_run(moto_server, sqs_client, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_server)
    sqs_client.create_queue(QueueName="your-prefix-default")
    namespace = {"__name__": "readme"}
    try:
        for index, (code, why) in enumerate(readme_blocks()):
            if why is not None:
                continue
            # A failure's traceback names the block: File "README.md block N".
            exec(compile(code, f"README.md block {index}", "exec"), namespace)  # noqa: S102
        url = sqs_client.get_queue_url(QueueName="your-prefix-default")["QueueUrl"]
        attributes = sqs_client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "103"
        assert "missing user_id; unexpected user" in capsys.readouterr().out
    finally:
        sqs_client.delete_queue(
            QueueUrl=sqs_client.get_queue_url(QueueName="your-prefix-default")["QueueUrl"]
        )
