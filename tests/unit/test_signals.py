"""SIGTERM, SIGINT and SIGHUP start the same clean stop; a second one hurries it; 128 + N on exit."""

from __future__ import annotations

import os
import signal

import pytest

from vidscribe.cli.errors import exit_code_for
from vidscribe.cli.signals import stop_on_signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_each_stop_signal_requests_a_stop_and_a_second_one_hurries(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    with stop_on_signals() as stop:
        os.kill(os.getpid(), sig)  # the handler runs in this (the main) thread before kill returns
        assert stop.requested.is_set() and stop.reason == sig.name and not stop.hurry.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.hurry.is_set() and stop.reason == sig.name  # the first signal names the stop
    assert signal.getsignal(sig) is before  # the previous handlers are back


def test_exit_codes_are_128_plus_the_signal() -> None:
    assert [exit_code_for(n) for n in ("SIGHUP", "SIGINT", "SIGTERM")] == [129, 130, 143]
