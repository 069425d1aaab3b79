"""ROS Image and CompressedImage messages -> numpy, for any object with the message fields.

Works on rclpy messages and on messages decoded from a bag's embedded schema alike (only
the attributes are read). Colour comes out as (H, W, 3) uint8 RGB, depth as (H, W)
float32 metres (16UC1 millimetres per REP 118 are converted; 0 stays 0 = no reading),
everything else in its own dtype. Anything wrong raises `ValueError` naming what.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: encoding -> (dtype, channels)
IMAGE_DTYPES = {'rgb8': (np.uint8, 3), 'bgr8': (np.uint8, 3), 'rgba8': (np.uint8, 4),
                'bgra8': (np.uint8, 4), 'mono8': (np.uint8, 1), '8UC1': (np.uint8, 1),
                '32FC1': (np.float32, 1), '16UC1': (np.uint16, 1), 'mono16': (np.uint16, 1),
                '32SC1': (np.int32, 1)}
COLOUR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8')
DEPTH_ENCODINGS = ('32FC1', '16UC1')


def image_from_msg(msg: Any, expected: tuple[str, ...]) -> np.ndarray:
    """An Image message -> numpy; ValueError naming what is wrong (encoding, size, data).

    bgr8 comes out as RGB; 16UC1 comes out as float32 metres. Other encodings keep their
    channels (rgba8 stays 4 channels: `colour_from_msg` makes RGB of every colour one).
    """
    encoding = str(msg.encoding)
    if encoding not in expected or encoding not in IMAGE_DTYPES:
        raise ValueError(f'image encoding {encoding!r}, expected one of {expected}')
    dtype, channels = IMAGE_DTYPES[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ValueError('empty image (0 rows or columns)')
    itemsize = np.dtype(dtype).itemsize
    row = width * channels * itemsize
    data = msg.data
    size = len(data)
    if step < row or size < step * height:
        raise ValueError(f'image data of {size} bytes is too short for '
                         f'{height}x{width} {encoding} (step {step})')
    buf = data if isinstance(data, (bytes, bytearray, memoryview, np.ndarray)) else bytes(data)
    raw = np.frombuffer(buf, dtype=np.uint8, count=step * height).reshape(height, step)
    arr = raw[:, :row].copy().view(dtype)
    if msg.is_bigendian and itemsize > 1:
        arr = arr.byteswap()
    arr = arr.reshape(height, width, channels) if channels > 1 else \
        arr.reshape(height, width)
    if encoding in ('bgr8', 'bgra8'):
        arr = np.ascontiguousarray(arr[:, :, [2, 1, 0, 3][:channels]])
    if encoding == '16UC1':
        arr = arr.astype(np.float32) / 1000.0  # REP 118: millimetres
    return arr


def colour_from_msg(msg: Any) -> np.ndarray:
    """Any colour Image (rgb8, bgr8, rgba8, bgra8, mono8) -> (H, W, 3) uint8 RGB."""
    arr = image_from_msg(msg, COLOUR_ENCODINGS)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])


def depth_from_msg(msg: Any) -> np.ndarray:
    """Depth Image (32FC1 metres or 16UC1 millimetres) -> (H, W) float32 metres."""
    return image_from_msg(msg, DEPTH_ENCODINGS)


def compressed_colour_from_msg(msg: Any) -> np.ndarray:
    """A CompressedImage message (JPEG or PNG) -> (H, W, 3) uint8 RGB.

    ValueError for an unknown format, an empty payload or data that does not decode.
    """
    import cv2

    fmt = str(getattr(msg, 'format', '')).lower()
    if fmt and not any(k in fmt for k in ('jpeg', 'jpg', 'png', 'rgb8', 'bgr8')):
        raise ValueError(f'compressed image format {msg.format!r}: only JPEG and PNG decode')
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if data.size == 0:
        raise ValueError('compressed image has no data')
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ValueError(f'compressed image ({fmt or "no format"}, {data.size} bytes) does '
                         f'not decode: corrupt or truncated data')
    return np.ascontiguousarray(bgr[:, :, ::-1])


def intrinsics_from_msg(msg: Any) -> np.ndarray:
    """A CameraInfo message -> K (3x3); ValueError if K is not a usable pinhole."""
    k = np.asarray(msg.k, dtype=float).reshape(3, 3)
    if not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError(f'camera_info K is not a valid pinhole matrix: {k.ravel().tolist()}')
    return k


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG bytes (what a robot's compressed topic carries)."""
    import cv2

    ok, buf = cv2.imencode('.jpg', np.ascontiguousarray(rgb[:, :, ::-1]),
                           [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError('JPEG encoding failed')
    return buf.tobytes()
