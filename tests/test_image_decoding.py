"""Decoding a robot's images from message attributes (any object, not only rclpy's)."""

from __future__ import annotations

from types import SimpleNamespace as Msg

import numpy as np
import pytest

from memory_nodes.perception.image_decoding import (
    colour_from_msg,
    compressed_colour_from_msg,
    depth_from_msg,
    encode_jpeg,
)


def image(array, encoding, channels):
    h, w = array.shape[:2]
    return Msg(height=h, width=w, encoding=encoding, is_bigendian=0,
               step=w * channels * array.itemsize, data=array.tobytes())


def test_colour_encodings_all_come_out_rgb():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    rgba = np.concatenate([rgb, np.full((2, 3, 1), 255, np.uint8)], axis=2)
    assert np.array_equal(colour_from_msg(image(rgb, 'rgb8', 3)), rgb)
    assert np.array_equal(colour_from_msg(image(rgb[:, :, ::-1].copy(), 'bgr8', 3)), rgb)
    assert np.array_equal(colour_from_msg(image(rgba, 'rgba8', 4)), rgb)
    assert np.array_equal(colour_from_msg(image(rgba[:, :, [2, 1, 0, 3]].copy(), 'bgra8', 4)),
                          rgb)
    mono = colour_from_msg(image(rgb[:, :, 0].copy(), 'mono8', 1))
    assert mono.shape == (2, 3, 3) and np.array_equal(mono[:, :, 2], rgb[:, :, 0])


def test_depth_millimetres_and_metres():
    mm = np.array([[0, 1500], [65535, 250]], dtype=np.uint16)
    assert np.allclose(depth_from_msg(image(mm, '16UC1', 1)), [[0, 1.5], [65.535, 0.25]])
    m = np.array([[0.5, np.nan]], dtype=np.float32)
    out = depth_from_msg(image(m, '32FC1', 1))
    assert out[0, 0] == 0.5 and np.isnan(out[0, 1])
    with pytest.raises(ValueError, match='encoding'):
        depth_from_msg(image(mm.astype(np.uint8), 'mono8', 1))


def test_compressed_jpeg_png_and_corrupt():
    import cv2

    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[:, :16] = (200, 30, 30)
    rgb[:, 16:] = (20, 40, 220)
    jpeg = compressed_colour_from_msg(Msg(format='jpeg', data=encode_jpeg(rgb)))
    assert jpeg.shape == rgb.shape and np.abs(jpeg.astype(int) - rgb).mean() < 6
    ok, png = cv2.imencode('.png', rgb[:, :, ::-1])
    assert np.array_equal(compressed_colour_from_msg(Msg(format='png', data=png.tobytes())),
                          rgb)
    with pytest.raises(ValueError, match='does not decode'):
        compressed_colour_from_msg(Msg(format='jpeg', data=encode_jpeg(rgb)[:20] + b'xx' * 9))
    with pytest.raises(ValueError, match='only JPEG and PNG'):
        compressed_colour_from_msg(Msg(format='theora', data=b'abc'))
