"""The dashboard page: a pure function of a snapshot, with everything from a message escaped."""

from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from simple_worker.cli._dashboard._page import SPARK_HEIGHT, SPARK_WIDTH, render_page, sparkline
from simple_worker.cli._dashboard._snapshot import (
    DeadLetters,
    Notice,
    QueueGroup,
    QueueView,
    Sample,
    Snapshot,
)
from simple_worker.cli._dlq import DeadLetter
from simple_worker.ports.queue import QueueStats

NOW = 1_800_000_000.0
CSRF = "csrf-token-for-tests"
HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    '" onfocus="alert(1)" autofocus="',
    "<img src=x onerror=alert(1)>",
    "</code></td></tr></table><script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "&lt;script&gt; stays as typed",
    "<!-- --><SCRIPT>alert(1)</SCRIPT>",
]
TAGS = {
    "html", "head", "meta", "title", "link", "script", "body", "header", "h1", "h2", "h3",
    "p", "code", "span", "section", "main", "footer", "table", "thead", "tbody", "tr", "th",
    "td", "svg", "rect", "polyline", "details", "summary", "form", "input", "label", "button",
    "abbr", "div",
}  # fmt: skip


class Page(HTMLParser):
    """What a browser would build: the elements, their attributes, the text of each cell."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attributes = []
        self.cells = []
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs
        if tag in {"td", "p"}:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in {"td", "p"} and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def letter(text="x", **fields):
    values = {
        "message_id": text,
        "task_name": text,
        "task_id": text,
        "enqueued_at": text,
        "receive_count": 3,
        "payload": text,
        "reason": text,
    }
    return DeadLetter(**{**values, **fields})


def snapshot(text="x", *, letters=None, history=()):
    dlq = QueueView(
        "shop-default-dlq",
        QueueStats(2, 0, 0),
        history=history,
        dead_letters=DeadLetters(
            tuple(letters if letters is not None else [letter(text)]), NOW - 5, note=text
        ),
    )
    return Snapshot(
        app=text,
        endpoint=text,
        now=NOW,
        sampled_at=NOW - 1,
        interval=10,
        groups=(
            QueueGroup(QueueView("shop-default", QueueStats(7, 3, 1), history=history), dlq),
            QueueGroup(QueueView("shop-emails", error=text)),
        ),
        notices=(Notice(NOW - 2, False, text), Notice(NOW - 1, True, "done")),
        busy=text,
    )


def assert_inert(page_text):
    page = Page(page_text)
    assert set(page.tags) <= TAGS
    assert page.tags.count("script") == 1
    assert ("src", "/dashboard.js") in page.attributes
    assert not [name for name, _ in page.attributes if name.startswith("on")]
    assert not [name for name, _ in page.attributes if name == "style"]
    return page


def test_page_shows_the_counts_the_forms_and_the_dead_letters():
    text = render_page(snapshot("plain"), CSRF)
    page = assert_inert(text)
    assert {"7", "3", "1", "2"} <= set(page.cells)
    assert 'data-confirm="shop-default"' in text
    assert 'data-confirm="shop-default-dlq"' in text
    assert text.count(f'name="csrf" value="{CSRF}"') == 4  # 2 purges, 1 redrive, 1 read
    assert 'action="/redrive"' in text
    assert "Redrive to shop-default" in text
    assert "ApproximateAgeOfOldestMessage" in text
    assert "receive count goes up by one" in text


def test_hostile_values_are_shown_as_text_in_content_and_attributes():
    for hostile in HOSTILE:
        text = render_page(snapshot(hostile), CSRF)
        page = assert_inert(text)
        assert hostile in page.cells  # a payload cell, an error cell: the text, as typed
        assert hostile not in text  # each has a character that must be escaped


def test_a_dead_letter_with_an_attribute_breaking_payload_stays_in_its_cell():
    hostile = '" onmouseover="window.__pwned=1'
    text = render_page(snapshot(letters=[letter(payload=hostile)]), CSRF)
    assert_inert(text)
    assert "&quot; onmouseover=&quot;window.__pwned=1" in text


@given(st.text())
def test_no_text_anywhere_on_the_page_makes_markup(value):
    text = render_page(snapshot(value, letters=[letter(value)]), CSRF)
    page = assert_inert(text)
    lowered = text.lower()
    assert lowered.count("<script") == 1
    if value.strip():
        assert value in page.cells or value.replace("\r\n", "\n").replace("\r", "\n") in {
            c.replace("\r\n", "\n").replace("\r", "\n") for c in page.cells
        }


def test_sparkline_spans_the_last_hour_and_holds_the_latest_counts_until_now():
    samples = [
        Sample(NOW - 4000, 99, 0, 0),  # older than an hour: left out
        Sample(NOW - 1800, 10, 5, 0),
        Sample(NOW - 600, 0, 0, 2),
    ]
    svg = sparkline(samples, NOW)
    points = svg.split('class="visible"')[1].split('points="')[1].split('"')[0].split()
    xs = [float(p.split(",")[0]) for p in points]
    ys = [float(p.split(",")[1]) for p in points]
    assert xs == [SPARK_WIDTH / 2, SPARK_WIDTH * 5 / 6, SPARK_WIDTH]
    assert min(ys) >= 0
    assert max(ys) <= SPARK_HEIGHT
    assert ys[0] < ys[1] == ys[2]  # 10 high, then 0 held until now
    assert "highest: visible 10, in flight 5, delayed 2" in svg


def test_sparkline_without_samples_says_so():
    assert "no samples yet" in sparkline([], NOW)
    assert "polyline" not in sparkline([], NOW)


def test_dead_letters_not_read_yet_and_a_failed_read_are_said():
    dlq = QueueView("d", QueueStats(0, 0, 0), dead_letters=DeadLetters(error="AccessDenied"))
    shot = Snapshot(
        "a", "e", NOW, None, 10, (QueueGroup(QueueView("q", QueueStats(0, 0, 0)), dlq),)
    )
    text = render_page(shot, CSRF)
    assert "The last read failed: AccessDenied" in text
    assert 'Counts read at <span class="sampled">not yet' in text
