"""A local stand-in for SCB's PxWebApi 2.0 and Kolada v3, for integration tests."""

from .common import Fault
from .server import FakeApi, serve

__all__ = ["FakeApi", "Fault", "serve"]
