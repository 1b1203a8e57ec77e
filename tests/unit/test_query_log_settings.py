"""The query log's settings from the container, and the parts of a record, without a server."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.container import create_container
from app.settings import Settings
from infrastructure.persistence import QUERY_LOGGER, configure_query_log, observe
from infrastructure.server.cypher import Rows, scalar_rows


@pytest.fixture(autouse=True)
def default_query_log() -> Iterator[None]:
    yield
    configure_query_log(echo=False, show_values=False, slow_ms=0)


def test_the_container_turns_echo_values_and_the_slow_threshold_on_from_settings() -> None:
    logger = logging.getLogger(QUERY_LOGGER)
    create_container(
        Settings(falkordb_echo=True, falkordb_log_values=True, falkordb_slow_query_ms=250)
    )
    assert logger.isEnabledFor(logging.DEBUG)
    assert observe.settings.show_values is True
    assert observe.settings.slow_ms == 250

    create_container(Settings())  # the defaults: no echo, values redacted, slow at 1 s
    assert not logger.isEnabledFor(logging.DEBUG)
    assert observe.settings.show_values is False
    assert observe.settings.slow_ms == 1000


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALKORDB_ECHO", "true")
    monkeypatch.setenv("FALKORDB_SLOW_QUERY_MS", "0")
    settings = Settings()
    assert settings.falkordb_echo is True
    assert settings.falkordb_slow_query_ms == 0
    create_container(settings)
    assert observe.settings.slow_ms is None  # 0: never warn


def test_shapes_name_each_parameter_and_its_size_never_its_value() -> None:
    shapes = observe.shapes(
        {"rows": [[1, "secret"], [2, "x"]], "p": {"a": 1}, "key": "secret", "n": 3, "f": None}
    )
    assert shapes == {"rows": "rows[2]", "p": "map[1]", "key": "text", "n": "int", "f": "NoneType"}
    assert "secret" not in repr(shapes)


def test_the_servers_execution_time_is_read_from_a_plain_reply() -> None:
    stats = ["Cached execution: 1", "Query internal execution time: 0.412 milliseconds"]
    rows = scalar_rows([["a"], [[[3, 7]]], stats])
    assert isinstance(rows, Rows)
    assert rows.result_set == [[7]]
    assert observe.server_ms(rows) == pytest.approx(0.412)
    empty = scalar_rows([stats])
    assert empty is not None
    assert observe.server_ms(empty) == pytest.approx(0.412)
    assert observe.server_ms(Rows([], [])) is None


def test_a_non_positive_slow_threshold_turns_the_warning_off() -> None:
    configure_query_log(slow_ms=5)
    assert observe.settings.slow_ms == 5
    configure_query_log(slow_ms=-1)
    assert observe.settings.slow_ms is None
