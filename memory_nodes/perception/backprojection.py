"""Depth + mask + camera geometry -> object points in `map`, cleaned with open3d.

A pixel (u, v) with depth d (metres along the optical axis) is K^-1 [u, v, 1] d in the
optical frame; `camera_to_map` takes it to `map`. Points outside the depth range or
non-finite are dropped; the cloud is voxel-downsampled, statistical outliers (mixed
pixels at object borders) removed, and capped.

Before back-projection the mask is eroded where depth jumps: a learned detector's mask
bleeds a pixel or two past the object's outline, and at an outline with the wall far
behind, those pixels land metres away. Mask pixels within `depth_edge_px` of a jump larger
than `depth_edge_jump` are dropped, unless that would leave too little of the mask (a
thin or tiny object is all edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BackprojectionConfig:
    """Depth range (m), voxel size (m), outlier filter and point cap per object."""

    min_depth: float = 0.15
    max_depth: float = 6.0
    voxel_size: float = 0.02
    outlier_neighbors: int = 12
    outlier_std_ratio: float = 2.0
    max_points: int = 1024
    min_points: int = 5
    pixel_stride: int = 1
    #: Mask erosion at depth discontinuities: pixels within this many pixels of a depth
    #: jump are dropped (0: off; None: what the detector asks for, its `mask_edge_px`:
    #: 2 for a learned detector whose masks bleed, 0 for exact masks, which erosion only
    #: cuts into) ...
    depth_edge_px: int | None = None
    #: ... where a jump is a depth range (m) larger than this within that neighbourhood.
    depth_edge_jump: float = 0.1
    #: Erosion is skipped when it would keep less than this share of the mask's pixels.
    depth_edge_min_kept: float = 0.25


def pixel_rays(height: int, width: int, intrinsics: np.ndarray) -> np.ndarray:
    """(H, W, 3) optical-frame rays with z = 1 for every pixel."""
    k_inv = np.linalg.inv(np.asarray(intrinsics, dtype=float))
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    pix = np.stack([u, v, np.ones_like(u)], axis=-1)
    return pix @ k_inv.T


def backproject(depth: np.ndarray, mask: np.ndarray, intrinsics: np.ndarray,
                camera_to_map: np.ndarray, cfg: BackprojectionConfig,
                rays: np.ndarray | None = None) -> np.ndarray:
    """Points (N, 3) in `map` of the masked pixels with valid depth."""
    if depth.shape != mask.shape:
        raise ValueError(f'depth {depth.shape} and mask {mask.shape} differ in size')
    step = max(1, cfg.pixel_stride)
    m = mask[::step, ::step]
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if not len(rows):
        return np.empty((0, 3))
    if rays is None:
        rays = pixel_rays(depth.shape[0], depth.shape[1], intrinsics)
    # Only the mask's bounding box: the same pixels in the same (row-major) order as the
    # whole image would give, at a fraction of the cost for a small object.
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    m = m[box]
    d = depth[::step, ::step][box]
    r = rays[::step, ::step][box]
    valid = m & np.isfinite(d) & (d >= cfg.min_depth) & (d <= cfg.max_depth)
    if cfg.depth_edge_px and valid.any():
        valid = _erode_at_depth_edges(depth[::step, ::step], valid, box, cfg)
    if not valid.any():
        return np.empty((0, 3))
    pts_cam = r[valid] * d[valid][:, None]
    pose = np.asarray(camera_to_map, dtype=float)
    return pts_cam @ pose[:3, :3].T + pose[:3, 3]


def _erode_at_depth_edges(depth: np.ndarray, valid: np.ndarray, box: tuple[slice, slice],
                          cfg: BackprojectionConfig) -> np.ndarray:
    """`valid` (the mask inside `box`) without its pixels near a depth discontinuity."""
    from scipy.ndimage import maximum_filter, minimum_filter

    px = int(cfg.depth_edge_px)
    r0, r1 = max(0, box[0].start - px), min(depth.shape[0], box[0].stop + px)
    c0, c1 = max(0, box[1].start - px), min(depth.shape[1], box[1].stop + px)
    d = depth[r0:r1, c0:c1]
    # Unknown depth (holes, out of range) is not an edge: fill it with the local value.
    d = np.where(np.isfinite(d) & (d > 0), d, np.nan)
    hi = maximum_filter(np.nan_to_num(d, nan=-np.inf), size=2 * px + 1, mode='nearest')
    lo = minimum_filter(np.nan_to_num(d, nan=np.inf), size=2 * px + 1, mode='nearest')
    edge = np.isfinite(hi) & np.isfinite(lo) & (hi - lo > cfg.depth_edge_jump)
    edge = edge[box[0].start - r0:box[0].stop - r0, box[1].start - c0:box[1].stop - c0]
    kept = valid & ~edge
    if kept.sum() < max(cfg.min_points, cfg.depth_edge_min_kept * valid.sum()):
        return valid
    return kept


def clean_cloud(points: np.ndarray, cfg: BackprojectionConfig) -> np.ndarray:
    """Voxel-downsample, remove statistical outliers, cap to `max_points` (open3d)."""
    import open3d as o3d

    if len(points) == 0:
        return points
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, float)))
    if cfg.voxel_size > 0:
        cloud = cloud.voxel_down_sample(cfg.voxel_size)
    if cfg.outlier_neighbors > 0 and len(cloud.points) > cfg.outlier_neighbors * 2:
        cloud, _ = cloud.remove_statistical_outlier(cfg.outlier_neighbors, cfg.outlier_std_ratio)
    out = np.asarray(cloud.points)
    if len(out) > cfg.max_points:
        out = out[np.linspace(0, len(out) - 1, cfg.max_points).astype(int)]
    return out
