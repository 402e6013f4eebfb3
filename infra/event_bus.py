"""The optional bus the outcome events go to (context ``eventBus``), and who may put them there.

Only the functions that emit may put events: the transcriber (a transcript stored, a permanent
failure recorded) and the DLQ consumer (a failure recorded after the retry), each with
``events:PutEvents`` on this one bus and ``EVENT_BUS_NAME`` set. The fetcher emits nothing.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig
from infra.environment import variable

CREATE = "create"


def outcome_event_bus(scope: Construct, config: StackConfig) -> events.IEventBus | None:
    """The bus ``eventBus`` names: created by the stack, imported by ARN or by name, or None."""
    name = config.event_bus
    if name is None:
        return None
    if name == CREATE:
        return events.EventBus(scope, "OutcomeEvents", event_bus_name=f"{config.stack_name}-events")
    if name.startswith("arn:"):
        return events.EventBus.from_event_bus_arn(scope, "OutcomeEvents", name)
    return events.EventBus.from_event_bus_name(scope, "OutcomeEvents", name)


def let_emit(bus: events.IEventBus, functions: tuple[lambda_.Function, ...]) -> None:
    """``events:PutEvents`` on ``bus`` and its ARN in ``EVENT_BUS_NAME``, for exactly ``functions``
    (the ARN, not the name: a bus in another account is reached by its ARN only)."""
    for fn in functions:
        bus.grant_put_events_to(fn)
        fn.add_environment(variable("event_bus_name"), bus.event_bus_arn)
