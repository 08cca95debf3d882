"""Type stubs of ``bsfit.jax`` (needs the ``jax`` extra)."""

from typing import Any, Optional, Sequence

from numpy.typing import ArrayLike

__all__ = ["interpolate"]

def interpolate(
    points: Sequence[ArrayLike],
    values: Any,
    xi: Any,
    *,
    nu: Optional[Sequence[int]] = None,
    bc_type: Any = None,
) -> Any: ...
