"""Type stubs of ``bsfit._interpolate`` (scipy's interpolate signatures; needs scipy)."""

from typing import Any, Optional, Sequence, Union

from numpy.typing import ArrayLike, NDArray

__all__ = ["BSpline", "RegularGridInterpolator", "make_interp_spline"]

# scipy ships no type information: its classes are Any here.
_ScipyBSpline: Any
_ScipyRGI: Any

class BSpline(_ScipyBSpline):
    def __call__(
        self, x: ArrayLike, nu: int = 0, extrapolate: Optional[Union[bool, str]] = None
    ) -> NDArray[Any]: ...

def make_interp_spline(
    x: ArrayLike,
    y: ArrayLike,
    k: int = 3,
    t: Optional[ArrayLike] = None,
    bc_type: Any = None,
    axis: int = 0,
    check_finite: bool = True,
) -> BSpline: ...

class RegularGridInterpolator(_ScipyRGI):
    def __call__(
        self, xi: ArrayLike, method: Optional[str] = None, *, nu: Optional[Sequence[int]] = None
    ) -> NDArray[Any]: ...
