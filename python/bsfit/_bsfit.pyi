"""Type stubs of the native module ``bsfit._bsfit`` (use the ``bsfit`` package instead)."""

from typing import Optional, Sequence, Tuple, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "_Spline",
    "_Fitter",
    "prefilter_f64",
    "prefilter_f32",
    "release_cached_memory",
    "fitter_data_weights",
    "fitter_data_vjp",
    "FitError",
    "MAX_DIM",
    "__version__",
]

__version__: str
MAX_DIM: int

class FitError(ValueError): ...

@final
class _Spline:
    @staticmethod
    def fit(
        axes: Sequence[NDArray[np.float64]],
        values: NDArray[np.float64],
        bc: Optional[Sequence[Tuple[str, str]]] = None,
        ends: Optional[Tuple[Optional[NDArray[np.float64]], Optional[NDArray[np.float64]]]] = None,
    ) -> _Spline: ...
    @staticmethod
    def from_parts(
        knots: Sequence[NDArray[np.float64]],
        coefs: NDArray[np.float64],
        periodic: Optional[Sequence[bool]] = None,
    ) -> _Spline: ...
    @property
    def ndim(self) -> int: ...
    @property
    def periodic(self) -> list[bool]: ...
    @property
    def shape(self) -> list[int]: ...
    def knots(self, axis: int) -> NDArray[np.float64]: ...
    def coefficients(self) -> NDArray[np.float64]: ...
    def eval_many(
        self,
        points: NDArray[np.float64],
        nu: Optional[Sequence[int]] = None,
        extrapolate: bool = True,
    ) -> NDArray[np.float64]: ...
    def grad_many(self, points: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def hessian_many(self, points: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def equals(self, other: _Spline) -> bool: ...

@final
class _Fitter:
    def __new__(
        cls,
        axes: Sequence[NDArray[np.float64]],
        bc: Optional[Sequence[Tuple[str, str]]] = None,
        ends: Optional[Tuple[Optional[NDArray[np.float64]], Optional[NDArray[np.float64]]]] = None,
    ) -> _Fitter: ...
    @property
    def ndim(self) -> int: ...
    @property
    def shape(self) -> list[int]: ...
    @property
    def coef_shape(self) -> list[int]: ...
    def knots(self, axis: int) -> NDArray[np.float64]: ...
    def spline_from(self, coefs: NDArray[np.float64]) -> _Spline: ...
    def fit(self, values: NDArray[np.float64]) -> _Spline: ...
    def fit_into(self, values: NDArray[np.float64], out: NDArray[np.float64]) -> None: ...

def prefilter_f64(input: NDArray[np.float64], boundary: Sequence[str]) -> NDArray[np.float64]: ...
def prefilter_f32(input: NDArray[np.float32], boundary: Sequence[str]) -> NDArray[np.float32]: ...
def release_cached_memory() -> None: ...
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
