"""The CloudFormation resource behind an L2 construct, typed (``node.default_child`` may be None)."""

from __future__ import annotations

from typing import TypeVar

from aws_cdk import CfnResource
from constructs import IConstruct

R = TypeVar("R", bound=CfnResource)


def l1(construct: IConstruct, kind: type[R] = CfnResource) -> R:  # type: ignore[assignment]
    """``construct``'s own CloudFormation resource, checked to be a ``kind``."""
    child = construct.node.default_child
    if not isinstance(child, kind):
        raise TypeError(f"{construct.node.path} has no {kind.__name__} of its own (found {type(child).__name__})")
    return child
