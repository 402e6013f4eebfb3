"""The optional outcome-event bus (context ``eventBus``): created or imported, and PutEvents on it granted
to exactly the functions that emit (the transcriber and the DLQ consumer), with EVENT_BUS_NAME set."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, StackConfig
from tests.infra.helpers import FUNCTION_NAMES, env, getatt_arn, grants

ANALYTICS_BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/analytics"
EMITTERS = ("Transcriber", "DlqConsumer")


def test_without_event_bus_no_function_may_put_events_and_none_is_told_a_bus(default):
    assert default.config.event_bus is None
    assert default.of_type("AWS::Events::EventBus") == {}
    for key in FUNCTION_NAMES:
        assert grants(default, f"{key}Role", "events") == {}, key
        assert "EVENT_BUS_NAME" not in env(default, key), key
    assert "EventBusArn" not in default.data.get("Outputs", {})


def test_an_existing_bus_by_arn_is_granted_to_the_emitters_only(custom):
    for key in EMITTERS:
        assert grants(custom, f"{key}Role", "events") == {"events:PutEvents": [ANALYTICS_BUS]}, key
        assert env(custom, key)["EVENT_BUS_NAME"] == ANALYTICS_BUS, key
    assert grants(custom, "FetcherRole", "events") == {}
    assert "EVENT_BUS_NAME" not in env(custom, "Fetcher")
    assert custom.of_type("AWS::Events::EventBus") == {}  # imported, not created


def test_a_created_bus_is_named_for_the_stack_and_granted_by_its_arn(network):
    bus = network.props("EventBus")
    assert bus["Name"] == "VidscribeNetwork-events"
    arn = getatt_arn(network.ids["EventBus"])
    for key in EMITTERS:
        assert grants(network, f"{key}Role", "events") == {"events:PutEvents": [arn]}, key
        assert env(network, key)["EVENT_BUS_NAME"] == arn, key
    assert grants(network, "FetcherRole", "events") == {}
    assert network.data["Outputs"]["EventBusArn"]["Value"] == arn


@pytest.mark.parametrize("value", ["arn:aws:sqs:eu-west-1:123456789012:not-a-bus", "a bus with spaces", "x" * 257])
def test_an_event_bus_that_is_no_bus_stops_the_synth_naming_the_key(value):
    with pytest.raises(ConfigError, match="eventBus"):
        StackConfig.from_context({"eventBus": value}.get)
