"""``simple-worker dashboard``: the real command serves the page until Ctrl-C; its refusals."""

import html
import json
import re
import signal
import urllib.request
from urllib.parse import urlencode

URL = re.compile(r"Dashboard of cli_app:app on (http://127\.0\.0\.1:\d+)/")


def test_dashboard_serves_the_counts_and_stops_on_ctrl_c(
    start_cli, create_queue, sqs_client, queue_url, prefix, wait_until
):
    create_queue("default")
    sqs_client.send_message(
        QueueUrl=queue_url("default-dlq"),
        MessageBody=json.dumps({"task_name": "fail", "task_payload": {"n": "<b>"}, "v": 1}),
    )
    process = start_cli("dashboard", "cli_app:app", "--port", "0", "--interval", "30")
    wait_until(
        lambda: URL.search(process.stderr()) or process.popen.poll() is not None,
        message=lambda: f"the dashboard to start: {process.stderr()}",
    )
    url = URL.search(process.stderr()).group(1)

    def page():
        with urllib.request.urlopen(url + "/", timeout=10) as answer:  # noqa: S310 - loopback
            return answer.read().decode()

    wait_until(lambda: "&lt;b&gt;" in page(), message="the dead letters on the page")
    assert f'<tr class="dlq" data-queue="{prefix}default-dlq">' in page()
    assert "<b>" not in page()

    process.send(signal.SIGINT)
    assert process.wait() == 0


def test_dashboard_refuses_another_address_without_a_token(run_main, create_queue):
    every_interface = "0.0.0.0"  # noqa: S104 - the address refused without a token
    result = run_main("dashboard", "cli_app:app", "--host", every_interface)
    assert result.returncode == 2
    assert "SIMPLE_WORKER_DASHBOARD_TOKEN" in result.stderr


def test_dashboard_without_credentials_says_so_once_with_status_2(run_main, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    result = run_main("dashboard", "cli_app:app", "--port", "0")

    assert result.returncode == 2
    assert result.stderr.count("No AWS credentials were found") == 1


def post(url, path, **form):
    request = urllib.request.Request(  # noqa: S310 - http on loopback, our own server
        url + path, data=urlencode(form).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        return answer.read().decode()


def test_the_dashboards_redrive_and_purge_act_on_sqs_after_the_name_is_typed(
    dashboard, create_queue, sqs_client, queue_url, prefix, counts, wait_until
):
    create_queue("default")
    for n in range(3):
        body = json.dumps({"task_name": "record", "task_payload": {"n": n}, "v": 1})
        sqs_client.send_message(QueueUrl=queue_url("default-dlq"), MessageBody=body)
    url, _ = dashboard()
    csrf = board_csrf(url)
    dlq, queue = f"{prefix}default-dlq", f"{prefix}default"

    post(url, "/redrive", csrf=csrf, queue=dlq, confirm=queue)  # the wrong name
    assert counts("default-dlq") == (3, 0)
    page = post(url, "/redrive", csrf=csrf, queue=dlq, confirm=dlq)
    assert "Moved 3 message(s)" in html.unescape(page)
    assert counts("default") == (3, 0)
    assert counts("default-dlq") == (0, 0)

    page = post(url, "/purge", csrf=csrf, queue=queue, confirm="default")
    assert "Not purged: the name typed, &#x27;default&#x27;" in page
    assert counts("default") == (3, 0)
    post(url, "/purge", csrf=csrf, queue=queue, confirm=queue)
    wait_until(lambda: counts("default") == (0, 0), message="the purge")


def board_csrf(url):
    with urllib.request.urlopen(url + "/", timeout=10) as answer:  # noqa: S310 - loopback
        return re.search(r'name="csrf" value="([^"]+)"', answer.read().decode()).group(1)
