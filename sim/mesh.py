"""Box visuals as tiled triangle meshes, so TinyRenderer stays fast up close.

TinyRenderer rasterises every triangle over its whole screen bounding box; a wall or a
fridge door a metre from the camera drawn as a 12-triangle box costs ~20 ms per frame.
Splitting each face into tiles of at most `tile` metres, and leaving out faces nobody
sees (the bottom of things standing on the floor), keeps a 320x240 frame near 30 ms.
"""

from __future__ import annotations

import itertools

import pybullet as p

_CACHE: dict[tuple, int] = {}


def box_mesh(half: tuple[float, float, float], centre=(0.0, 0.0, 0.0), tile: float = 0.5,
             bottom: bool = False) -> tuple[list, list, list]:
    """(vertices, indices, normals) of a box's faces, each split into tiles <= `tile`."""
    verts, idx, norms = [], [], []
    cx, cy, cz = centre
    for axis, sign in itertools.product(range(3), (1.0, -1.0)):
        if axis == 2 and sign < 0 and not bottom:
            continue
        u, v = [a for a in range(3) if a != axis]
        if sign < 0:
            u, v = v, u  # keep outward winding
        nu = max(1, round(2 * half[u] / tile))
        nv = max(1, round(2 * half[v] / tile))
        normal = [0.0, 0.0, 0.0]
        normal[axis] = sign
        for i in range(nu):
            for j in range(nv):
                k = len(verts)
                for di, dj in ((0, 0), (1, 0), (1, 1), (0, 1)):
                    pt = [0.0, 0.0, 0.0]
                    pt[axis] = sign * half[axis]
                    pt[u] = -half[u] + 2 * half[u] * (i + di) / nu
                    pt[v] = -half[v] + 2 * half[v] * (j + dj) / nv
                    verts.append((pt[0] + cx, pt[1] + cy, pt[2] + cz))
                    norms.append(tuple(normal))
                idx += [k, k + 1, k + 2, k, k + 2, k + 3]
    return verts, idx, norms


def box_visual(cid: int, half, colour, centre=(0.0, 0.0, 0.0), tile: float = 0.5,
               bottom: bool = False) -> int:
    """A visual shape id for a tiled box (cached per client, size, colour and offset)."""
    key = (cid, tuple(round(h, 4) for h in half), tuple(colour),
           tuple(round(c, 4) for c in centre), tile, bottom)
    if key not in _CACHE:
        verts, idx, norms = box_mesh(half, centre, tile, bottom)
        _CACHE[key] = p.createVisualShape(p.GEOM_MESH, vertices=verts, indices=idx,
                                          normals=norms, rgbaColor=colour,
                                          physicsClientId=cid)
    return _CACHE[key]


def clear_cache(cid: int) -> None:
    """Forget shapes of a client that was reset or disconnected."""
    for key in [k for k in _CACHE if k[0] == cid]:
        del _CACHE[key]
