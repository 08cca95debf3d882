"""Type stubs of the native module ``bsfit._bsfit`` (use the ``bsfit`` package instead)."""

from typing import Any, Optional, Sequence, Tuple, Union, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "_Spline",
    "_Fitter",
    "prefilter_f64",
    "prefilter_f32",
    "release_cached_memory",
    "set_cache_limit",
    "_ndimage_mode",
    "_ndimage_spline_filter1d",
    "_ndimage_spline_filter",
    "_ndimage_map_coordinates",
    "_interp_curve",
    "fitter_data_weights",
    "fitter_data_vjp",
    "_GpuSpline",
    "_GpuFitter",
    "_GpuArray",
    "_gpu_built",
    "_gpu_device_name",
    "_gpu_supports_f64",
    "_gpu_synchronize",
    "FitError",
    "MAX_DIM",
    "__version__",
]

__version__: str
MAX_DIM: int

class FitError(ValueError): ...

_Ends = Optional[Tuple[Optional[NDArray[np.float64]], Optional[NDArray[np.float64]]]]
_Policy = Optional[Union[str, Sequence[str]]]

@final
class _Spline:
    @staticmethod
    def fit(
        axes: Sequence[NDArray[np.float64]],
        values: NDArray[np.float64],
        bc: Optional[Sequence[Tuple[str, str]]] = None,
        ends: _Ends = None,
        k: Optional[Sequence[int]] = None,
    ) -> _Spline: ...
    @staticmethod
    def from_parts(
        knots: Sequence[NDArray[np.float64]],
        coefs: NDArray[np.float64],
        periodic: Optional[Sequence[bool]] = None,
        k: Optional[Sequence[int]] = None,
    ) -> _Spline: ...
    @property
    def ndim(self) -> int: ...
    @property
    def periodic(self) -> list[bool]: ...
    @property
    def degrees(self) -> list[int]: ...
    @property
    def shape(self) -> list[int]: ...
    @property
    def value_shape(self) -> list[int]: ...
    def knots(self, axis: int) -> NDArray[np.float64]: ...
    def coefficients(self) -> NDArray[np.float64]: ...
    def evaluate(
        self,
        at: Union[NDArray[np.float64], Sequence[NDArray[np.float64]]],
        orders: Sequence[Sequence[int]],
        policy: _Policy = None,
    ) -> NDArray[np.float64]: ...
    def equals(self, other: _Spline) -> bool: ...

@final
class _Fitter:
    def __new__(
        cls,
        axes: Sequence[NDArray[np.float64]],
        bc: Optional[Sequence[Tuple[str, str]]] = None,
        k: Optional[Sequence[int]] = None,
    ) -> _Fitter: ...
    @property
    def ndim(self) -> int: ...
    @property
    def shape(self) -> list[int]: ...
    @property
    def coef_shape(self) -> list[int]: ...
    def knots(self, axis: int) -> NDArray[np.float64]: ...
    def spline_from(self, coefs: NDArray[np.float64]) -> _Spline: ...
    def fit(self, values: NDArray[np.float64], ends: _Ends = None) -> _Spline: ...
    def fit_into(
        self, values: NDArray[np.float64], out: NDArray[np.float64], ends: _Ends = None
    ) -> None: ...

def prefilter_f64(input: NDArray[np.float64], boundary: Sequence[str]) -> NDArray[np.float64]: ...
def prefilter_f32(input: NDArray[np.float32], boundary: Sequence[str]) -> NDArray[np.float32]: ...
def release_cached_memory() -> None: ...
def set_cache_limit(nbytes: int) -> int: ...

# scipy.ndimage's spline functions (bsfit.ndimage wraps them).
def _ndimage_mode(mode: Any) -> str: ...
def _ndimage_spline_filter1d(
    input: NDArray[Any], order: int, axis: int, mode: Any, out: Optional[NDArray[np.float64]] = None
) -> NDArray[np.float64]: ...
def _ndimage_spline_filter(
    input: NDArray[Any], order: int, mode: Any, out: Optional[NDArray[np.float64]] = None
) -> NDArray[np.float64]: ...
def _ndimage_map_coordinates(
    input: NDArray[Any],
    coordinates: NDArray[np.float64],
    order: int,
    mode: Any,
    cval: float,
    prefilter: bool,
    out: Optional[NDArray[np.float64]] = None,
) -> NDArray[np.float64]: ...
def fitter_data_weights(
    fitter: _Fitter, x: Sequence[float], nu: Optional[Sequence[int]] = None
) -> Tuple[list[NDArray[np.float64]], Tuple[float, float]]: ...
def fitter_data_vjp(
    fitter: _Fitter,
    points: NDArray[np.float64],
    g: NDArray[np.float64],
    nu: Optional[Sequence[int]] = None,
    ends: bool = False,
) -> Tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[int]]: ...
def _interp_curve(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    k: int,
    t: Optional[NDArray[np.float64]],
    ends: str,
    left: Sequence[int],
    right: Sequence[int],
    left_values: NDArray[np.float64],
    right_values: NDArray[np.float64],
) -> Tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def _gpu_built() -> bool: ...
def _gpu_device_name() -> str: ...
def _gpu_supports_f64() -> bool: ...
def _gpu_synchronize() -> None: ...
@final
class _GpuSpline:
    @staticmethod
    def upload(spline: _Spline, dtype: str) -> _GpuSpline: ...
    @property
    def ndim(self) -> int: ...
    @property
    def value_shape(self) -> list[int]: ...
    @property
    def dtype(self) -> str: ...
    def evaluate(
        self,
        at: Union[NDArray[np.float64], Sequence[NDArray[np.float64]]],
        orders: Sequence[Sequence[int]],
        policy: _Policy = None,
    ) -> NDArray[np.float64]: ...
    def evaluate_device(
        self,
        points: _GpuArray,
        orders: Sequence[Sequence[int]],
        policy: _Policy = None,
    ) -> _GpuArray: ...
@final
class _GpuFitter:
    def __new__(cls, fitter: _Fitter, vshape: Sequence[int], dtype: str) -> _GpuFitter: ...
    def fit(self, values: NDArray[np.float64], ends: _Ends = None) -> _GpuSpline: ...
    def fit_device(self, values: _GpuArray) -> _GpuSpline: ...
@final
class _GpuArray:
    def __new__(cls, data: NDArray[np.float64], dtype: str) -> _GpuArray: ...
    def __len__(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    def to_numpy(self) -> NDArray[np.float64]: ...
    def write(self, data: NDArray[np.float64]) -> None: ...
