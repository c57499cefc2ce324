"""HTTP routes, thin: validation here, logic in the plain modules."""

from .push import PushController
from .system import healthz

ROUTES = [healthz, PushController]
