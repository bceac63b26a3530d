"""The messages between the daemon and its workers (monitor.daemon.protocol): each survives its
line unchanged, the lines keep the wire format older workers and daemons speak, and a line that is
no message (a library printing to stdout) is ignored rather than taken for the end of a pass."""

from __future__ import annotations

import json

import pytest

from monitor.daemon.protocol import (
    Done,
    Error,
    Interrupted,
    PassOrder,
    Ready,
    TargetCounts,
    counts,
    decode,
    encode,
)

DONE = Done(
    run=7,
    summary={"fetched": 3, "failed": {"http-404": 1}},
    targets={"news": TargetCounts(fetched=3, failed={"http-404": 1}), "blog": TargetCounts()},
    gone=["old"],
)


@pytest.mark.parametrize(
    "msg", [Ready(), DONE, Done(None, {}, {}, []), Interrupted(), Error("bad TOML")], ids=repr
)
def test_every_message_survives_its_line(msg):
    line = encode(msg)
    assert line.endswith("\n") and line.count("\n") == 1
    assert decode(line) == msg


def test_the_lines_keep_the_wire_format():
    assert json.loads(encode(Ready())) == {"event": "ready"}
    assert json.loads(encode(DONE)) == {
        "event": "done",
        "run": 7,
        "summary": {"fetched": 3, "failed": {"http-404": 1}},
        "targets": {
            "news": {"fetched": 3, "failed": {"http-404": 1}},
            "blog": {"fetched": 0, "failed": {}},
        },
        "gone": ["old"],
    }
    assert json.loads(encode(Error("x"))) == {"event": "error", "error": "x"}
    assert json.loads(encode(Interrupted())) == {"event": "interrupted"}


def test_a_pass_order_survives_its_line():
    order = PassOrder(targets=["a", "b"], watchlist='[archive]\ndir = "x"\n')
    assert PassOrder.decode(order.encode()) == order
    assert json.loads(order.encode()) == {"targets": ["a", "b"], "watchlist": order.watchlist}


@pytest.mark.parametrize("line", ["hello\n", "5\n", '["done"]\n', '{"event": "progress"}\n', "\n"])
def test_a_line_that_is_no_message_is_ignored(line):
    assert decode(line) is None


def test_the_daemon_keeps_what_it_records_of_a_pass_report_per_target():
    per_target = {
        "news": {"fetched": 2, "failed": {"timeout": 1}, "gone": 0, "max_pages_reached": 5}
    }
    assert counts(per_target) == {"news": TargetCounts(fetched=2, failed={"timeout": 1})}
