"""docs/lambda.md's local example runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "lambda.md"


def test_the_local_example_of_docs_lambda_md_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [local] = [block for block in blocks if "testing_mode=True" in block]
    exec(compile(local, "docs/lambda.md", "exec"), {"__name__": "lambda_doc"})  # noqa: S102


def test_docs_lambda_md_says_what_happens_without_report_batch_item_failures():
    text = DOC.read_text(encoding="utf-8")
    assert 'FunctionResponseTypes:\n> ["ReportBatchItemFailures"]' in text
    assert "deletes the whole batch, failed tasks" in text
