"""Type stubs of the ``bsfit`` package."""

from typing import Any, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._bsfit import FitError as FitError
from ._interpolate import BSpline as BSpline
from ._interpolate import RegularGridInterpolator as RegularGridInterpolator
from ._interpolate import make_interp_spline as make_interp_spline

__all__ = [
    "BSpline",
    "FitError",
    "Fitter",
    "MAX_DIM",
    "RegularGridInterpolator",
    "TensorSpline",
    "make_interp_spline",
    "make_ndbspl",
    "prefilter",
    "release_cached_memory",
    "set_cache_limit",
    "spline_filter",
    "__version__",
]

__version__: str
MAX_DIM: int

_Points = Sequence[ArrayLike]
_BoundaryName = Literal["periodic", "zero", "mirror"]
_EndSpec = Union[None, str, Sequence[Tuple[int, ArrayLike]]]
_AxisBc = Union[str, Tuple[_EndSpec, _EndSpec]]
_BcType = Union[None, _AxisBc, Sequence[Optional[_AxisBc]]]
_PolicyName = Literal["polynomial", "clamp", "nan", "periodic", "raise", "error", "extrapolate"]
_Extrapolate = Union[bool, str, Sequence[Union[bool, str]]]
_Orders = Sequence[int]
_Result = NDArray[Any]

class TensorSpline:
    def __init__(
        self,
        points: _Points,
        values: ArrayLike,
        bc_type: _BcType = None,
        *,
        extrapolate: _Extrapolate = True,
        k: Union[int, Sequence[int]] = 3,
    ) -> None: ...
    @classmethod
    def from_parts(
        cls,
        t: Sequence[ArrayLike],
        c: ArrayLike,
        *,
        extrapolate: _Extrapolate = True,
        periodic: Optional[Sequence[bool]] = None,
        k: Union[int, Sequence[int]] = 3,
    ) -> TensorSpline: ...
    @property
    def k(self) -> Union[int, Tuple[int, ...]]: ...
    @property
    def degrees(self) -> Tuple[int, ...]: ...
    @property
    def extrapolate(self) -> Union[bool, str, Tuple[Union[bool, str], ...]]: ...
    @extrapolate.setter
    def extrapolate(self, value: _Extrapolate) -> None: ...
    @property
    def t(self) -> Tuple[NDArray[np.float64], ...]: ...
    @property
    def c(self) -> _Result: ...
    @property
    def ndim(self) -> int: ...
    @property
    def periodic(self) -> Tuple[bool, ...]: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def value_shape(self) -> Tuple[int, ...]: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def domain(self) -> Tuple[Tuple[float, float], ...]: ...
    def __call__(
        self,
        xi: ArrayLike,
        nu: Optional[_Orders] = None,
        extrapolate: Optional[_Extrapolate] = None,
    ) -> _Result: ...
    def partials(
        self,
        xi: ArrayLike,
        orders: Sequence[_Orders],
        extrapolate: Optional[_Extrapolate] = None,
    ) -> _Result: ...
    def grad(self, xi: ArrayLike, extrapolate: Optional[_Extrapolate] = None) -> _Result: ...
    def hessian(self, xi: ArrayLike, extrapolate: Optional[_Extrapolate] = None) -> _Result: ...
    def eval_grid(
        self,
        axes: Sequence[ArrayLike],
        nu: Optional[_Orders] = None,
        extrapolate: Optional[_Extrapolate] = None,
    ) -> _Result: ...
    def to_scipy(self) -> Any: ...
    def __reduce__(self) -> Tuple[Any, ...]: ...
    def __eq__(self, other: object) -> bool: ...

def make_ndbspl(
    points: _Points,
    values: ArrayLike,
    k: Union[int, Sequence[int]] = 3,
    *,
    solver: Any = None,
    **solver_args: Any,
) -> TensorSpline: ...

class Fitter:
    def __init__(
        self, points: _Points, bc_type: _BcType = None, *, k: Union[int, Sequence[int]] = 3
    ) -> None: ...
    @property
    def points(self) -> Tuple[NDArray[np.float64], ...]: ...
    @property
    def ndim(self) -> int: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def coef_shape(self) -> Tuple[int, ...]: ...
    @property
    def t(self) -> Tuple[NDArray[np.float64], ...]: ...
    def spline_from(self, c: ArrayLike, *, extrapolate: _Extrapolate = True) -> TensorSpline: ...
    @overload
    def fit(self, values: ArrayLike, out: None = None) -> TensorSpline: ...
    @overload
    def fit(self, values: ArrayLike, out: _Result) -> _Result: ...
    def data_weights(
        self, x: ArrayLike, nu: Optional[Sequence[int]] = None
    ) -> Tuple[NDArray[np.float64], ...]: ...
    def data_vjp(
        self,
        xi: ArrayLike,
        g: ArrayLike,
        nu: Optional[Sequence[int]] = None,
        return_ends: bool = False,
    ) -> Any: ...

def prefilter(
    input: ArrayLike,
    boundary: Union[_BoundaryName, Sequence[_BoundaryName]] = "mirror",
    dtype: Optional[DTypeLike] = None,
) -> NDArray[np.floating[Any]]: ...
def spline_filter(
    input: ArrayLike,
    order: int = 3,
    output: Union[DTypeLike, NDArray[np.floating[Any]]] = np.float64,
    mode: Literal["mirror", "grid-wrap"] = "mirror",
) -> NDArray[np.floating[Any]]: ...
def release_cached_memory() -> None: ...
def set_cache_limit(nbytes: int) -> int: ...
