"""`Injected[T]`: a handler parameter that app.py provides by its name (`db`, `clock`, ...).

Handlers say what they use (`db: Injected[Database]`) instead of reaching into the
app's state. The value is the lifespan's own object, so it is not validated.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias, TypeVar

from litestar.di import Dependency
from litestar.params import SkipValidationMarker

T = TypeVar("T")

Injected: TypeAlias = Annotated[T, Dependency(kind="named"), SkipValidationMarker()]
