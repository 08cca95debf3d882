"""scipy.ndimage's spline functions, computed by bsfit.

Drop-in replacements for ``scipy.ndimage.spline_filter1d``,
``scipy.ndimage.spline_filter`` and ``scipy.ndimage.map_coordinates``
(scipy 1.17.1's signatures and argument handling): inputs of any
dimension, spline orders 0 to 5, every boundary mode (``'mirror'``,
``'reflect'``, ``'grid-mirror'``, ``'wrap'``, ``'grid-wrap'``,
``'nearest'``, ``'constant'``, ``'grid-constant'``), output given as a
dtype or an array, complex input (real and imaginary parts filtered
separately, as scipy does). The work runs in the Rust library, in parallel,
with the GIL released; results agree with scipy's to rounding.

Errors are scipy's: ``RuntimeError`` for an unsupported order, mode or
output, ``numpy.exceptions.AxisError`` for a bad axis, ``TypeError`` for
complex coordinates, ``ValueError`` for a read-only output.

Examples
--------
>>> import numpy as np
>>> from bsfit import ndimage
>>> a = np.arange(12.).reshape((4, 3))
>>> ndimage.map_coordinates(a, [[0.5, 2], [0.5, 1]], order=1)
array([2., 7.])
>>> c = ndimage.spline_filter(a, order=3, mode='mirror')
>>> bool(np.allclose(ndimage.map_coordinates(c, [[1.0], [2.0]], prefilter=False, mode='mirror'), a[1, 2]))
True
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _bsfit

try:  # numpy >= 2
    from numpy.lib.array_utils import normalize_axis_index
except ImportError:  # pragma: no cover - numpy 1.26
    from numpy.core.multiarray import normalize_axis_index  # type: ignore[no-redef]

__all__ = ["map_coordinates", "spline_filter", "spline_filter1d"]

# Output dtypes scipy's C code writes (bool, integers, float32, float64).
_OUT_KINDS = "biuf"


def _get_output(output, input, shape=None, complex_output=False):
    """scipy.ndimage's ``_ni_support._get_output``: the output array."""
    if shape is None:
        shape = input.shape
    if output is None:
        if not complex_output:
            output = np.zeros(shape, dtype=input.dtype.name)
        else:
            complex_type = np.promote_types(input.dtype, np.complex64)
            output = np.zeros(shape, dtype=complex_type)
    elif isinstance(output, (type, np.dtype)):
        # Classes (like `np.float32`) and dtypes are interpreted as dtype
        if complex_output and np.dtype(output).kind != "c":
            warnings.warn("promoting specified output dtype to complex", stacklevel=3)
            output = np.promote_types(output, np.complex64)
        output = np.zeros(shape, dtype=output)
    elif isinstance(output, str):
        output = np.dtype(output)
        if complex_output and output.kind != "c":
            raise RuntimeError("output must have complex dtype")
        elif not issubclass(output.type, np.number):
            raise RuntimeError("output must have numeric dtype")
        output = np.zeros(shape, dtype=output)
    else:
        # output was supplied as an array
        output = np.asarray(output)
        if output.shape != shape:
            raise RuntimeError("output shape not correct")
        elif complex_output and output.dtype.kind != "c":
            raise RuntimeError("output must have complex dtype")
    return output


def _native_input(a):
    """``a`` as float64 or float32 in native byte order (no copy if it is one)."""
    if a.dtype in (np.float64, np.float32) and a.dtype.isnative:
        return a
    return np.asarray(a, dtype=np.float64)


def _writable(output):
    if not output.flags.writeable:
        raise ValueError("output array is read-only.")


def _direct(output, *inputs):
    """Whether the native code can write into ``output`` itself."""
    return (
        output.dtype == np.float64
        and output.dtype.isnative
        and not any(np.may_share_memory(output, a) for a in inputs)
    )


def _check_out_dtype(output, message):
    if output.dtype.kind not in _OUT_KINDS or output.dtype.itemsize > 8 or output.dtype == np.float16:
        raise RuntimeError(message)
    if output.dtype.kind == "b":
        raise NotImplementedError("bsfit.ndimage: boolean outputs are not supported (use scipy.ndimage)")


def _store(output, result, rounding):
    """Writes the float64 ``result`` into ``output`` as scipy's C code
    converts doubles: a plain C cast after the filter; after interpolation,
    integers round half away from zero (unsigned: negatives to 0) and are
    clamped to their range."""
    kind = output.dtype.kind
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "f":
            np.copyto(output, result, casting="unsafe")
        else:
            r = result
            if rounding:
                info = np.iinfo(output.dtype)
                if kind == "u":
                    r = np.where(r > 0, r + 0.5, 0.0)
                else:
                    r = np.where(r > 0, r + 0.5, r - 0.5)
                r = np.clip(r, float(info.min), float(info.max))
            np.copyto(output, r, casting="unsafe")


def _mode(mode):
    """The mode's name, checked by the library (scipy's RuntimeError otherwise)."""
    return _bsfit._ndimage_mode(mode)


def _filter1d_into(input, order, axis, output, mode):
    """The native 1-D filter of the real ``input`` into ``output`` (any real dtype)."""
    _check_out_dtype(output, f"array type {output.dtype.num} not supported")
    _writable(output)
    arr = _native_input(input)
    if _direct(output, input):
        _bsfit._ndimage_spline_filter1d(arr, order, axis, mode, output)
    else:
        _store(output, _bsfit._ndimage_spline_filter1d(arr, order, axis, mode), False)


def spline_filter1d(input, order=3, axis=-1, output=np.float64, mode="mirror"):
    """Calculate a 1-D spline filter along the given axis.

    ``scipy.ndimage.spline_filter1d``, computed by bsfit: the lines of the
    array along ``axis`` are replaced by the coefficients of the B-spline of
    ``order`` that interpolates them (orders 0 and 1: unchanged).

    Parameters
    ----------
    input : array_like
        The input array (any dimension; real or complex).
    order : int, optional
        The order of the spline, 0 to 5; default 3.
    axis : int, optional
        The axis along which the filter is applied; default the last.
    output : ndarray or dtype, optional
        The array in which to place the output, or the dtype of the
        returned array. Default ``numpy.float64``.
    mode : str, optional
        How the input is extended beyond its boundaries: ``'mirror'``
        (default), ``'reflect'``, ``'grid-mirror'``, ``'wrap'``,
        ``'grid-wrap'``, ``'nearest'``, ``'constant'`` or ``'grid-constant'``
        (as in scipy; the filter uses the mirror, reflect or periodic
        initialisation scipy pairs with each).

    Returns
    -------
    ndarray
        The filtered input (``output`` itself when it is an array).

    Raises
    ------
    RuntimeError
        For an order outside 0-5, an unknown mode or an output dtype that
        scipy does not write.
    numpy.exceptions.AxisError
        For an axis out of range.
    """
    if order < 0 or order > 5:
        raise RuntimeError("spline order not supported")
    input = np.asarray(input)
    complex_output = np.iscomplexobj(input)
    output = _get_output(output, input, complex_output=complex_output)
    if complex_output:
        spline_filter1d(input.real, order, axis, output.real, mode)
        spline_filter1d(input.imag, order, axis, output.imag, mode)
        return output
    if order in [0, 1]:
        output[...] = np.array(input)
    else:
        mode = _mode(mode)
        axis = normalize_axis_index(axis, input.ndim)
        _filter1d_into(input, order, axis, output, mode)
    return output


def spline_filter(input, order=3, output=np.float64, mode="mirror"):
    """Multidimensional spline filter.

    ``scipy.ndimage.spline_filter``, computed by bsfit: the B-spline
    coefficients of ``input`` along every axis (the 1-D filter along each
    axis in turn). With a float64 output all axes are filtered in one call
    (two passes over memory, in parallel); with another output dtype the
    intermediate results are stored in that dtype between axes, as scipy
    does.

    Parameters
    ----------
    input : array_like
        The input array (any dimension; real or complex).
    order : int, optional
        The order of the spline, 2 to 5; default 3.
    output : ndarray or dtype, optional
        The array in which to place the output, or the dtype of the
        returned array. Default ``numpy.float64``.
    mode : str, optional
        Boundary mode, as in :func:`spline_filter1d`; default ``'mirror'``.

    Returns
    -------
    ndarray
        Filtered array, the shape of ``input`` (``output`` itself when it
        is an array).

    Raises
    ------
    RuntimeError
        For an order outside 2-5, an unknown mode or an output dtype that
        scipy does not write.
    """
    if order < 2 or order > 5:
        raise RuntimeError("spline order not supported")
    input = np.asarray(input)
    complex_output = np.iscomplexobj(input)
    output = _get_output(output, input, complex_output=complex_output)
    if complex_output:
        spline_filter(input.real, order, output.real, mode)
        spline_filter(input.imag, order, output.imag, mode)
        return output
    if input.ndim > 0:
        if output.dtype == np.float64:
            mode = _mode(mode)
            _writable(output)
            arr = _native_input(input)
            if _direct(output, input):
                _bsfit._ndimage_spline_filter(arr, order, mode, output)
            else:
                _store(output, _bsfit._ndimage_spline_filter(arr, order, mode), False)
        else:
            for axis in range(input.ndim):
                spline_filter1d(input, order, axis, output=output, mode=mode)
                input = output
    else:
        output[...] = input[...]
    return output


def map_coordinates(input, coordinates, output=None, order=3, mode="constant", cval=0.0,
                    prefilter=True):
    """Map the input array to new coordinates by interpolation.

    ``scipy.ndimage.map_coordinates``, computed by bsfit: the value of the
    B-spline of ``order`` through ``input`` at every point of
    ``coordinates``, with scipy's boundary modes, in parallel.

    Parameters
    ----------
    input : array_like
        The input array (any dimension >= 1; real or complex).
    coordinates : array_like
        Shape ``(input.ndim, *output_shape)``: the coordinates (in samples)
        at which ``input`` is evaluated.
    output : ndarray or dtype, optional
        The array in which to place the output, or the dtype of the
        returned array; default the input's dtype. Integer outputs are
        rounded to nearest (half away from zero) and clamped, as in scipy.
    order : int, optional
        The order of the spline interpolation, 0 to 5; default 3.
    mode : str, optional
        How the input is extended beyond its boundaries: ``'constant'``
        (default), ``'grid-constant'``, ``'nearest'``, ``'reflect'``,
        ``'grid-mirror'``, ``'mirror'``, ``'grid-wrap'`` or ``'wrap'``.
    cval : scalar, optional
        The value outside the input for ``'constant'`` and
        ``'grid-constant'``; default 0.0.
    prefilter : bool, optional
        Whether to prefilter the input with :func:`spline_filter` (with the
        padding scipy applies for ``'nearest'`` and ``'grid-constant'``)
        when ``order > 1``; default True. Without it, ``input`` holds the
        B-spline coefficients.

    Returns
    -------
    ndarray
        The values, shape ``coordinates.shape[1:]`` (``output`` itself when
        it is an array).

    Raises
    ------
    RuntimeError
        For an order outside 0-5, a 0-d input or coordinates, coordinates
        whose first axis is not ``input.ndim`` long, an unknown mode or an
        output dtype that scipy does not write.
    TypeError
        For complex coordinates.
    """
    if order < 0 or order > 5:
        raise RuntimeError("spline order not supported")
    input = np.asarray(input)
    coordinates = np.asarray(coordinates)
    if np.iscomplexobj(coordinates):
        raise TypeError("Complex type not supported")
    output_shape = coordinates.shape[1:]
    if input.ndim < 1 or len(output_shape) < 1:
        raise RuntimeError("input and output rank must be > 0")
    if coordinates.shape[0] != input.ndim:
        raise RuntimeError("invalid shape for coordinate array")
    complex_output = np.iscomplexobj(input)
    output = _get_output(output, input, shape=output_shape, complex_output=complex_output)
    if complex_output:
        kwargs = dict(order=order, mode=mode, prefilter=prefilter)
        map_coordinates(input.real, coordinates, output=output.real, cval=np.real(cval), **kwargs)
        map_coordinates(input.imag, coordinates, output=output.imag, cval=np.imag(cval), **kwargs)
        return output
    mode = _mode(mode)
    _writable(output)
    _check_out_dtype(output, "data type not supported")
    arr = _native_input(input)
    coords = np.asarray(coordinates, dtype=np.float64)
    prefilter = bool(prefilter)
    if _direct(output, input, coordinates):
        _bsfit._ndimage_map_coordinates(arr, coords, order, mode, cval, prefilter, output)
    else:
        result = _bsfit._ndimage_map_coordinates(arr, coords, order, mode, cval, prefilter)
        _store(output, result, True)
    return output
