"""The vendor registry: each provider module under `stocksdb.sources` declares
`VENDOR = Vendor(name, make, summary)`; `vendors()` finds them, so adding a vendor is adding a
module. `stocksdb fetch --vendor NAME` and the pipeline look providers up here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from stocksdb.config import Settings
from stocksdb.errors import InputError
from stocksdb.foundation.base import Provider


@dataclass(frozen=True)
class Vendor:
    """A provider as data: its name (the value of --vendor), how to build it from Settings
    (reading its URL, key and rate limit there), and one line for the docs."""

    name: str
    make: Callable[[Settings], Provider]
    summary: str


@cache
def vendors() -> dict[str, Vendor]:
    """Every vendor declared by a module under `stocksdb.sources`, by name (sorted)."""
    import stocksdb.sources as package

    found: dict[str, Vendor] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        vendor = getattr(module, "VENDOR", None)
        if isinstance(vendor, Vendor) and found.setdefault(vendor.name, vendor) is not vendor:
            raise ValueError(f"vendor {vendor.name} is declared twice")
    return dict(sorted(found.items()))


def get_provider(name: str, settings: Settings) -> Provider:
    """The provider called `name`, built from `settings`.

    Raises:
        InputError: no such vendor (the message lists the vendors).
        MissingCredentialError: the vendor needs a key that is not configured.
    """
    vendor = vendors().get(name)
    if vendor is None:
        raise InputError(f"vendor {name!r} is unknown; expected one of "
                         f"{', '.join(vendors())}")
    return vendor.make(settings)
