from typing import Any, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import TensorSpline

__all__ = [
    "DeviceArray",
    "GpuFitter",
    "GpuSpline",
    "available",
    "device_name",
    "supports_float64",
    "synchronize",
    "to_device",
]

_Extrapolate = Optional[Union[bool, str, Sequence[Union[bool, str]]]]

def available() -> bool: ...
def device_name() -> str: ...
def supports_float64() -> bool: ...
def synchronize() -> None: ...
def to_device(array: ArrayLike, dtype: DTypeLike = ...) -> DeviceArray: ...

class DeviceArray:
    def __init__(self, array: ArrayLike, dtype: DTypeLike = ...) -> None: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def ndim(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def device_dtype(self) -> np.dtype[Any]: ...
    def __len__(self) -> int: ...
    def to_numpy(self) -> NDArray[Any]: ...
    def __array__(
        self, dtype: Optional[DTypeLike] = None, copy: Optional[bool] = None
    ) -> NDArray[Any]: ...

class GpuSpline:
    def __init__(self, spline: TensorSpline, dtype: DTypeLike = ...) -> None: ...
    @property
    def ndim(self) -> int: ...
    @property
    def value_shape(self) -> Tuple[int, ...]: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def device_dtype(self) -> np.dtype[Any]: ...
    @overload
    def __call__(
        self,
        xi: Union[ArrayLike, DeviceArray],
        nu: Optional[Sequence[int]] = None,
        extrapolate: _Extrapolate = None,
        keep_on_device: Literal[False] = False,
    ) -> NDArray[Any]: ...
    @overload
    def __call__(
        self,
        xi: Union[ArrayLike, DeviceArray],
        nu: Optional[Sequence[int]] = None,
        extrapolate: _Extrapolate = None,
        *,
        keep_on_device: Literal[True],
    ) -> DeviceArray: ...
    @overload
    def __call__(
        self,
        xi: Union[ArrayLike, DeviceArray],
        nu: Optional[Sequence[int]],
        extrapolate: _Extrapolate,
        keep_on_device: bool,
    ) -> Union[NDArray[Any], DeviceArray]: ...
    def partials(
        self,
        xi: Union[ArrayLike, DeviceArray],
        orders: Sequence[Sequence[int]],
        extrapolate: _Extrapolate = None,
        keep_on_device: bool = False,
    ) -> Any: ...
    def grad(
        self,
        xi: Union[ArrayLike, DeviceArray],
        extrapolate: _Extrapolate = None,
        keep_on_device: bool = False,
    ) -> Any: ...
    def eval_grid(
        self,
        axes: Sequence[ArrayLike],
        nu: Optional[Sequence[int]] = None,
        extrapolate: _Extrapolate = None,
        keep_on_device: bool = False,
    ) -> Any: ...

class GpuFitter:
    def __init__(
        self, points: Sequence[ArrayLike], bc_type: Any = None, dtype: DTypeLike = ...
    ) -> None: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def ndim(self) -> int: ...
    def fit(self, values: Union[ArrayLike, DeviceArray]) -> GpuSpline: ...
