"""Type stubs of ``bsfit.ndimage``."""

from typing import Any, Literal, Optional, Union

from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["map_coordinates", "spline_filter", "spline_filter1d"]

_Mode = Literal[
    "mirror", "reflect", "grid-mirror", "wrap", "grid-wrap", "nearest", "constant", "grid-constant"
]
_Output = Union[NDArray[Any], DTypeLike]

def spline_filter1d(
    input: ArrayLike,
    order: int = 3,
    axis: int = -1,
    output: _Output = ...,
    mode: _Mode = "mirror",
) -> NDArray[Any]: ...
def spline_filter(
    input: ArrayLike,
    order: int = 3,
    output: _Output = ...,
    mode: _Mode = "mirror",
) -> NDArray[Any]: ...
def map_coordinates(
    input: ArrayLike,
    coordinates: ArrayLike,
    output: Optional[_Output] = None,
    order: int = 3,
    mode: _Mode = "constant",
    cval: Union[float, complex] = 0.0,
    prefilter: bool = True,
) -> NDArray[Any]: ...
