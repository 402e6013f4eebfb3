"""Every fetch ends inside FETCH_TOTAL_TIMEOUT_SECONDS, whatever the server or the network does.

Socket timeouts bound the silence between two reads, never a whole exchange. Each case here is one
that never trips them: a response head sent one byte a second, ``100 Continue`` for ever, a name whose
twenty addresses each swallow the connection attempt, a resolver that does not answer. Each must end
at the deadline with a retryable FetchError that says so, within ``MARGIN`` of it (measured: the
overshoot was at most 2.4 ms idle and 10 ms with three busy processes on the two cores).
"""

from __future__ import annotations

import ipaddress
import threading
import time

import pytest

from tests.support.media_factory import make_video
from tests.support.media_server import BlackHoles, FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.adapters.media.deadline import Deadline
from vidscribe.adapters.media.transports.dialer import Dialer
from vidscribe.config import Settings
from vidscribe.errors import FetchError

TOTAL = 2.0
MARGIN = 0.25


def source(resolver=None, **env: str) -> StreamingMediaSource:
    # A read timeout far above the 1 s between the slow server's bytes: only the deadline can end it.
    settings = Settings.from_env({"ALLOW_PRIVATE_URLS": "true", "HTTP_READ_TIMEOUT": "10", **env})
    return StreamingMediaSource(settings, total_timeout_seconds=TOTAL, resolver=resolver)


@pytest.fixture(scope="module")
def server():
    with FaultyMediaServer() as srv:
        srv.add_bytes("clip.mp4", make_video(1.0))
        yield srv


def fetch_until_deadline(media: StreamingMediaSource, url: str) -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError, match=f"took longer than {TOTAL:g} s") as caught:
        media.fetch_audio(url)
    return caught.value, time.monotonic() - started


def test_a_response_head_sent_one_byte_a_second_ends_at_the_deadline(server):
    # Given a server that sends its status line and headers one byte a second, for ever
    server.slow_head("slow-head.mp4", interval=1.0)

    # When it is fetched, then the fetch ends at the deadline, as a retryable error
    error, elapsed = fetch_until_deadline(source(), server.url("slow-head.mp4"))
    assert TOTAL <= elapsed < TOTAL + MARGIN
    assert error.retryable and "to answer" in str(error)


def test_an_endless_stream_of_100_continue_ends_at_the_deadline(server):
    # Given a server that answers "100 Continue" a hundred times a second and never anything else
    server.endless_continue("continue.mp4", interval=0.01)

    error, elapsed = fetch_until_deadline(source(), server.url("continue.mp4"))
    assert TOTAL <= elapsed < TOTAL + MARGIN and error.retryable


def test_a_redirect_to_a_slow_head_keeps_the_one_deadline(server):
    # Given two quick redirect hops to the slow server: the hops spend the same deadline, none restarts it
    server.slow_head("slow-target.mp4", interval=1.0)
    server.redirect("hop-a", "hop-b")
    server.redirect("hop-b", "slow-target.mp4")

    _error, elapsed = fetch_until_deadline(source(), server.url("hop-a"))
    assert TOTAL <= elapsed < TOTAL + MARGIN


def test_a_name_with_many_black_holed_addresses_ends_at_the_deadline(server):
    # Given a name that resolves to twenty addresses where every connection attempt hangs, and a
    # connect timeout of 1 s (urllib3 alone tries each address for the whole timeout: 20 s)
    with BlackHoles(20) as holes:
        asked: list[str] = []

        def resolver(host: str, port: int):
            asked.append(host)
            return [ipaddress.ip_address(a) for a in holes.addresses]

        media = source(resolver, HTTP_CONNECT_TIMEOUT="1")

        # When a URL on that name is fetched
        error, elapsed = fetch_until_deadline(media, f"http://many.example.test:{holes.port}/clip.mp4")

    # Then it ends at the deadline, while connecting, after one lookup of the name
    assert TOTAL <= elapsed < TOTAL + MARGIN
    assert "connecting to many.example.test" in str(error) and asked == ["many.example.test"]


def test_a_resolver_that_does_not_answer_ends_at_the_deadline(server):
    # Given a resolver that takes 30 s to answer (a lookup cannot be interrupted)
    release = threading.Event()

    def slow_resolver(host: str, port: int):
        release.wait(30)
        return [ipaddress.ip_address("127.0.0.1")]

    try:
        error, elapsed = fetch_until_deadline(source(slow_resolver), f"http://slow-dns.example.test:{server.port}/clip.mp4")
    finally:
        release.set()  # the abandoned lookup's thread ends
    assert TOTAL <= elapsed < TOTAL + MARGIN
    assert "resolving 'slow-dns.example.test'" in str(error)


def test_the_deadline_leaves_working_fetches_alone(server):
    # The control: the same source fetches a well-behaved file through its resolver, and the watchdog
    # that ends late sockets never touched it.
    def resolver(host: str, port: int):
        return [ipaddress.ip_address("127.0.0.1")]

    audio = source(resolver).fetch_audio(f"http://media.example.test:{server.port}/clip.mp4")
    assert audio.duration == pytest.approx(1.0, abs=0.1)


def test_a_fetch_resolves_each_name_once_and_connects_to_what_it_checked():
    # DNS rebinding: a name that is public when the guard checks it and loopback a moment later. One
    # lookup per fetch: the guard's check and every connection use the same (checked) answer.
    answers = iter(["93.184.216.34", "127.0.0.1"])
    asked: list[str] = []

    def rebinding(host: str, port: int):
        asked.append(host)
        return [ipaddress.ip_address(next(answers))]

    dialer = Dialer(Deadline(5.0, "test"), allow_private=False, resolver=rebinding)
    first = dialer.lookup("rebind.example.test", 443)
    again = dialer.lookup("REBIND.example.test.", 443)  # the same name, spelled otherwise
    assert first == again == [ipaddress.ip_address("93.184.216.34")] and asked == ["rebind.example.test"]
