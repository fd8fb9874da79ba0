"""The dashboard in a real browser: headless Chromium, against moto's SQS.

The browser is Debian's ``chromium`` package, driven by Playwright for Python (the dev
extra). When either is missing, these tests skip and say which package to install:
``scripts/test`` installs Chromium itself when it runs as root with apt-get. The
dashboard runs in this process, built as the command builds it (the ``dashboard``
fixture of conftest.py).
"""

import importlib.util
import json
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_BODIES = [
    json.dumps(
        {
            "task_name": "touch",
            "task_payload": {"note": "<script>window.__pwned = 1</script>"},
            "task_id": "t-script",
            "v": 1,
        }
    ),
    json.dumps({"task_name": '"><script>window.__pwned = 2</script>', "task_payload": {}, "v": 1}),
    '<img src=x onerror="window.__pwned = 3">',
]


def browser_missing():
    """Why the browser tests cannot run here, or ``""`` when they can."""
    if importlib.util.find_spec("playwright") is None:
        return (
            "Playwright for Python is not installed: pip install playwright (it is in the "
            "dev extra); its browser is Debian's chromium, never 'playwright install'"
        )
    if not CHROMIUM.exists():
        return (
            f"headless Chromium is missing ({CHROMIUM}): install Debian's chromium package "
            "(apt-get install chromium chromium-driver; scripts/test does it as root)"
        )
    return ""


def envelope(task_name="record", **payload):
    return json.dumps({"task_name": task_name, "task_payload": payload, "v": 1})


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium (Debian's) driven by Playwright; skips, saying why, when missing.

    Per module, not per session: while Playwright's sync API is open, this thread
    has a running event loop, and later tests (and handlers) calling asyncio.run fail.
    """
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when present

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh page (its own cookies), 1280 pixels wide; fails the test on a script error."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert errors == []


pytestmark = pytest.mark.browser


def send(sqs_client, url, *bodies):
    for body in bodies:
        sqs_client.send_message(QueueUrl=url, MessageBody=body)


def test_the_page_shows_the_counts_and_hostile_dead_letters_as_text(
    browser_page, dashboard, create_queue, sqs_client, queue_url, prefix
):
    from playwright.sync_api import expect  # noqa: PLC0415 - present once `chromium` ran

    create_queue("default")
    send(sqs_client, queue_url("default"), *(envelope(n=n) for n in range(3)))
    send(sqs_client, queue_url("default-dlq"), *HOSTILE_BODIES)
    url, _ = dashboard()

    browser_page.goto(url)

    queue = browser_page.locator(f'tr.queue[data-queue="{prefix}default"]')
    expect(queue.locator("td.visible")).to_have_text("3")
    expect(queue.locator("td.in-flight")).to_have_text("0")
    dlq = browser_page.locator(f'tr.dlq[data-queue="{prefix}default-dlq"]')
    expect(dlq.locator("td.visible")).to_have_text("3")
    letters = browser_page.locator("table.letters tbody tr")
    expect(letters).to_have_count(3)
    payloads = browser_page.locator("code.payload").all_inner_texts()
    assert any("<script>window.__pwned = 1</script>" in p for p in payloads)
    assert '<img src=x onerror="window.__pwned = 3">' in payloads
    assert any("<script>window.__pwned = 2</script>" in p for p in payloads)  # not a task name
    assert browser_page.evaluate("typeof window.__pwned") == "undefined"
    assert browser_page.locator("table.letters img").count() == 0


def test_redrive_moves_the_dead_letters_back_to_their_queue(
    browser_page, dashboard, create_queue, sqs_client, queue_url, prefix, counts
):
    from playwright.sync_api import expect  # noqa: PLC0415 - present once `chromium` ran

    create_queue("default")
    send(sqs_client, queue_url("default-dlq"), *(envelope(n=n) for n in range(3)))
    url, _ = dashboard()
    browser_page.goto(url)
    dlq = browser_page.locator(f'tr.dlq[data-queue="{prefix}default-dlq"]')

    dlq.locator("details.redrive summary").click()
    dlq.locator("details.redrive input[name=confirm]").fill(f"{prefix}default-dlq")
    dlq.locator("details.redrive button").click()

    notice = browser_page.locator("p.notice.ok", has_text="Moved 3 message(s)")
    expect(notice).to_be_visible()
    assert counts("default") == (3, 0)
    assert counts("default-dlq") == (0, 0)
    expect(browser_page.locator(f'tr.queue[data-queue="{prefix}default"] td.visible')).to_have_text(
        "3"
    )
    expect(dlq.locator("td.visible")).to_have_text("0")
    expect(browser_page.locator("table.letters")).to_have_count(0)


def test_purge_asks_for_the_name_and_a_wrong_one_does_nothing(
    browser_page, dashboard, create_queue, sqs_client, queue_url, prefix, counts, wait_until
):
    from playwright.sync_api import expect  # noqa: PLC0415 - present once `chromium` ran

    create_queue("default")
    send(sqs_client, queue_url("default"), envelope(n=1), envelope(n=2))
    url, _ = dashboard()
    browser_page.goto(url)
    queue = browser_page.locator(f'tr.queue[data-queue="{prefix}default"]')
    form = queue.locator("details.purge form")

    queue.locator("details.purge summary").click()
    form.locator("input[name=confirm]").fill(f"{prefix}default-dlq")
    form.locator("button").click()

    expect(form.locator("p.mismatch")).to_have_text(
        "The name typed does not match: nothing was done."
    )
    assert counts("default") == (2, 0)

    form.locator("input[name=confirm]").fill(f"{prefix}default")
    form.locator("button").click()

    expect(browser_page.locator("p.notice.ok", has_text=f"Purged {prefix}default")).to_be_visible()
    wait_until(lambda: counts("default") == (0, 0), message="the purge")


def test_screenshot_of_a_dashboard_with_history(
    browser_page, dashboard, create_queue, sqs_client, queue_url, tmp_path
):
    create_queue("default")
    now = [time.time() - 3000]
    url, board = dashboard(clock=lambda: now[0])
    for n in range(6):  # an hour of samples, as the sampler would have taken them
        send(sqs_client, queue_url("default"), *(envelope(n=n) for _ in range(n + 1)))
        if n % 2:
            send(sqs_client, queue_url("default-dlq"), envelope("fail", m=n))
        now[0] += 500
        board.sample()
    send(sqs_client, queue_url("default-dlq"), *HOSTILE_BODIES)
    now[0] = time.time()
    board.sample()
    board.read_dead_letters(board.snapshot().groups[0].dead_letter_queue.name)
    browser_page.goto(url)

    path = tmp_path / "dashboard.png"
    browser_page.screenshot(path=str(path), full_page=True)

    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


def test_the_token_in_the_address_lets_the_browser_in_once(
    chromium, browser_page, dashboard, create_queue, prefix
):
    create_queue("default")
    token = "a-token-of-enough-characters"
    url, _ = dashboard(token=token)

    refused = browser_page.goto(url + "/")
    assert refused.status == 401
    browser_page.goto(f"{url}/?token={token}")

    assert browser_page.url == url + "/"  # redirected: the token left the address bar
    assert browser_page.locator(f'tr.queue[data-queue="{prefix}default"]').count() == 1
    assert browser_page.goto(url + "/").status == 200  # the cookie, from now on
    other = chromium.new_context()
    try:
        assert other.new_page().goto(url + "/").status == 401
    finally:
        other.close()
