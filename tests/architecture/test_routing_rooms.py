"""The routing package's rooms: one concept each, no method defined twice, none oversized."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import teamcrm.service.routing as routing_pkg
from teamcrm.service.routing import RoutingUseCases
from teamcrm.service.routing.router import Router
from teamcrm.service.routing.router_base import RouterBase
from teamcrm.service.routing.session import RoutingBase

ROOMS = Path(routing_pkg.__file__).parent


def _own_methods(cls: type) -> set[str]:
    return {
        name
        for name, value in vars(cls).items()
        if inspect.isfunction(value) or isinstance(value, property)
    }


@pytest.mark.parametrize(
    ("combined", "shared"),
    [(RoutingUseCases, RoutingBase), (Router, RouterBase)],
    ids=["use-cases", "router"],
)
def test_rooms_define_no_method_twice(combined: type, shared: type) -> None:
    """No room overrides another's or the shared base's methods: the bases' order cannot matter."""
    rooms = [cls for cls in combined.__mro__ if cls not in (object, shared, *shared.__mro__)]
    seen: dict[str, str] = dict.fromkeys(_own_methods(shared), shared.__name__)
    for room in rooms:
        for name in _own_methods(room):
            assert name not in seen, f"{room.__name__}.{name} also in {seen[name]}"
            seen[name] = room.__name__


def test_no_room_is_oversized() -> None:
    """Each module of the routing package stays under ~600 lines."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in ROOMS.glob("*.py")}
    assert len(sizes) >= 10
    assert max(sizes.values()) <= 600, sizes


def test_public_names_still_importable_from_the_package() -> None:
    """What ``teamcrm.service.routing`` exported as one module it still exports."""
    for name in routing_pkg.__all__:
        assert hasattr(routing_pkg, name), name
