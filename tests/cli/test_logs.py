"""The command's log policy: medunet's lines and warnings on the terminal, everything in the
run's log, no tracebacks or error records on the terminal."""

from __future__ import annotations

import io
import logging

import pytest

from medunet.cli import logs as cli_logs


@pytest.fixture
def routed(monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(cli_logs.sys, "stderr", terminal)
    routing = cli_logs.CommandLogging(verbose=False)
    routing.install()
    yield routing, terminal
    routing.uninstall()
    logging.basicConfig(force=True)


def test_the_terminal_shows_medunet_and_third_party_warnings_only(routed):
    _, terminal = routed
    logging.getLogger("medunet.bundle.training").info("training into RUN")
    logging.getLogger("ignite.engine").info("Epoch[1] Complete")
    logging.getLogger("monai.bundle").warning("a config key is unused")
    logging.getLogger("monai.bundle").info("Logging file is set to False")  # benign
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("ignite.engine").exception("Engine run is terminating due to exception")
    logging.getLogger("medunet.x").error("an error record")  # the command prints one line
    shown = terminal.getvalue()
    assert "training into RUN" in shown and "a config key is unused" in shown
    assert "Epoch[1]" not in shown and "Logging file" not in shown
    assert "Traceback" not in shown and "boom" not in shown and "an error record" not in shown


def test_the_run_log_gets_every_record_and_those_before_it_was_named(routed, tmp_path):
    routing, _ = routed
    logging.getLogger("medunet.cli").info("before the run folder existed")
    routing.log_to(tmp_path / "run" / "medunet.log")
    logging.getLogger("ignite.engine").info("Epoch[1] Complete")
    try:
        raise ValueError("bad pair")
    except ValueError:
        logging.getLogger("monai").exception("failed")
    routing.file.flush()
    text = (tmp_path / "run" / "medunet.log").read_text()
    assert "before the run folder existed" in text and "Epoch[1] Complete" in text
    assert "Traceback" in text and "ValueError: bad pair" in text
    routing.log_to(tmp_path / "run" / "medunet.log")  # the same file again: kept as it is
    assert routing.file is not None


def test_verbose_shows_third_party_info_and_debug_takes_nothing_over(monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(cli_logs.sys, "stderr", terminal)
    routing = cli_logs.setup_logging(verbose=True)
    try:
        logging.getLogger("ignite.engine").info("Epoch[2] Complete")
        assert cli_logs.command_logging() is routing
        assert "Epoch[2] Complete" in terminal.getvalue()
    finally:
        routing.uninstall()
    assert cli_logs.setup_logging(debug=True) is None and cli_logs.command_logging() is None
    logging.basicConfig(force=True)
