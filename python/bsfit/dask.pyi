"""Type stubs of ``bsfit.dask`` (needs the ``dask`` extra)."""

from typing import Any, List, Optional, Sequence, Union

from numpy.typing import ArrayLike

from . import TensorSpline

__all__ = ["evaluate", "fit_many"]

def evaluate(
    spline: TensorSpline,
    xi: Any,
    nu: Optional[Sequence[int]] = None,
    extrapolate: Any = None,
) -> Any: ...
def fit_many(
    points: Sequence[ArrayLike],
    tables: Any,
    *,
    bc_type: Any = None,
) -> Union[Any, List[Any]]: ...
