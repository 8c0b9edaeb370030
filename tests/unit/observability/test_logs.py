from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from streams.observability.logs import (
    JsonFormatter,
    TextFormatter,
    level_number,
    logging_config,
    record_context,
    use_json,
)

pytestmark = pytest.mark.unit

Captured = tuple[logging.Logger, io.StringIO, "logging.StreamHandler[io.StringIO]"]


@pytest.fixture
def captured() -> Iterator[Captured]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("recon.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_json_lines_carry_the_record_context_and_extra(captured: Captured) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    with record_context(correlation_id="run1:7", topic="p.raw.pos", partition=2, offset=41):
        logger.warning("dead-lettered\nsecond line", extra={"category": "parse_error"})
    logger.info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "dead-lettered\nsecond line"  # one event, one line
    assert (first["correlation_id"], first["topic"], first["partition"], first["offset"]) == (
        "run1:7", "p.raw.pos", 2, 41,
    )
    assert first["category"] == "parse_error" and first["level"] == "warning"
    assert "correlation_id" not in second  # the context ended with the block


def test_extra_wins_over_the_context_and_exceptions_stay_on_one_line(captured: Captured) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    with record_context(outcome="applied"):
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed", extra={"outcome": "dead_lettered"})
    (line,) = stream.getvalue().splitlines()
    doc = json.loads(line)
    assert doc["outcome"] == "dead_lettered" and "ValueError: boom" in doc["exception"]


def test_text_format_is_readable_with_context(captured: Captured) -> None:
    logger, stream, handler = captured
    handler.setFormatter(TextFormatter())
    with record_context(correlation_id="run1:7", agent="recon.pos"):
        logger.info("decided %s", "applied")
    text = stream.getvalue()
    assert "decided applied  [correlation_id=run1:7 agent=recon.pos]" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_json_unless_on_a_terminal() -> None:
    assert use_json("auto", io.StringIO()) and not use_json("auto", Tty())
    assert use_json("json", Tty()) and not use_json("text", io.StringIO())
    config = logging_config(logging.INFO, "json")
    assert config["formatters"]["recon"]["()"] is JsonFormatter
    assert config["handlers"]["stderr"]["stream"] == "ext://sys.stderr"


def test_faust_level_names() -> None:
    assert [level_number(n) for n in ("crit", "error", "warn", "info", "debug")] == [
        logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG,
    ]
    with pytest.raises(ValueError, match="'loud'"):
        level_number("loud")
