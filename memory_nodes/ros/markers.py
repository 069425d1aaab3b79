"""RViz markers for the scene graph: boxes, labels, room outlines and relation lines."""

from __future__ import annotations

from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

COLORS = {
    'object': ColorRGBA(r=0.95, g=0.55, b=0.1, a=0.8),
    'furniture': ColorRGBA(r=0.3, g=0.5, b=0.9, a=0.35),
    'room': ColorRGBA(r=0.2, g=0.8, b=0.3, a=0.9),
    'relation': ColorRGBA(r=0.9, g=0.9, b=0.9, a=0.7),
    'text': ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
}


def _box(node, ns: str, mid: int, frame: str, stamp: Time) -> Marker:  # noqa: ANN001
    m = Marker(ns=ns, id=mid, type=Marker.CUBE, action=Marker.ADD)
    m.header.frame_id, m.header.stamp = frame, stamp
    m.pose.position = Point(x=float(node.position[0]), y=float(node.position[1]),
                            z=float(node.position[2]))
    m.pose.orientation.w = 1.0
    m.scale.x, m.scale.y, m.scale.z = (max(float(v), 0.02) for v in node.extent)
    m.color = COLORS[node.layer]
    m.lifetime = Duration()
    return m


def scene_markers(graph, frame: str, stamp: Time) -> MarkerArray:  # noqa: ANN001 - SceneGraph
    """One MarkerArray for the whole graph (DELETEALL first, so removed nodes vanish)."""
    out = MarkerArray()
    clear = Marker(action=Marker.DELETEALL)
    clear.header.frame_id, clear.header.stamp = frame, stamp
    out.markers.append(clear)
    relation = Marker(ns='relations', id=0, type=Marker.LINE_LIST, action=Marker.ADD)
    relation.header.frame_id, relation.header.stamp = frame, stamp
    relation.pose.orientation.w = 1.0
    relation.scale.x = 0.01
    relation.color = COLORS['relation']
    mid = 0
    for node in graph.nodes.values():
        if node.layer in ('object', 'furniture'):
            mid += 1
            out.markers.append(_box(node, node.layer, mid, frame, stamp))
            text = Marker(ns='labels', id=mid, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
            text.header.frame_id, text.header.stamp = frame, stamp
            text.pose.position = Point(x=float(node.position[0]), y=float(node.position[1]),
                                       z=float(node.position[2] + node.extent[2] / 2 + 0.08))
            text.pose.orientation.w = 1.0
            text.scale.z = 0.08
            text.color = COLORS['text']
            text.text = node.label
            out.markers.append(text)
            support = graph.support(node.id)
            parent = graph.nodes.get(support[0]) if support else None
            if parent is not None:
                relation.points += [
                    Point(x=float(node.position[0]), y=float(node.position[1]),
                          z=float(node.position[2])),
                    Point(x=float(parent.position[0]), y=float(parent.position[1]),
                          z=float(parent.position[2]))]
        elif node.layer == 'room' and float(node.extent[0]) > 0 and float(node.extent[1]) > 0:
            mid += 1
            outline = Marker(ns='rooms', id=mid, type=Marker.LINE_STRIP, action=Marker.ADD)
            outline.header.frame_id, outline.header.stamp = frame, stamp
            outline.pose.orientation.w = 1.0
            outline.scale.x = 0.03
            outline.color = COLORS['room']
            x0, y0 = node.position[0] - node.extent[0] / 2, node.position[1] - node.extent[1] / 2
            x1, y1 = node.position[0] + node.extent[0] / 2, node.position[1] + node.extent[1] / 2
            outline.points = [Point(x=float(x), y=float(y), z=0.02)
                              for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
            out.markers.append(outline)
    if relation.points:
        out.markers.append(relation)
    return out
