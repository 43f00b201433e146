"""Events: readers that turn bytes into events with a location (they know nothing of rules)."""

from sigmakit.events.model import Event

__all__ = ["Event"]
