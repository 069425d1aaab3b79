"""Scene-graph changes -> SceneGraphDelta messages and RViz markers (like Hydra's DsgSender).

The memory node only says when to send (its timer) and when the next message must carry
the whole graph (after load or reset); sequence numbers, the full-update flag, the frame
id and the publishers live here.
"""

from __future__ import annotations

import threading

from builtin_interfaces.msg import Time
from embodied_memory_msgs.msg import SceneGraphDelta
from rclpy.node import Node
from visualization_msgs.msg import MarkerArray

from memory_nodes.memory.robot_memory import GraphDelta, RobotMemory
from memory_nodes.memory.scene_graph import SceneGraph
from memory_nodes.ros import conversions as conv
from memory_nodes.ros.markers import scene_markers
from memory_nodes.ros.qos import DELTAS, LATCHED


class SceneGraphSender:
    """Publishes what changed in `memory`'s scene graph, every `period` seconds.

    The first message, and the first after `request_full_update`, holds every node and
    edge (`full_update`); later ones only the changed nodes, their outgoing edges and
    the removed ids. Nothing is published when nothing changed.

    Markers are built only while something subscribes to them (RViz, a recorder): for a
    home of 1,000 objects they are 2,000 messages, and building them every period under
    the memory's lock stalled every service of the node for hundreds of ms. A subscriber
    that comes later gets the current markers at the next period.
    """

    def __init__(self, node: Node, memory: RobotMemory, frame_id: str, deltas_topic: str,
                 markers_topic: str, period: float) -> None:
        self.node = node
        self.memory = memory
        self.frame_id = frame_id
        self.delta_pub = node.create_publisher(SceneGraphDelta, deltas_topic, DELTAS)
        self.marker_pub = node.create_publisher(MarkerArray, markers_topic, LATCHED)
        self._full_update_due = True
        self._markers_due = True
        #: Marker arrays built and published (none while nobody subscribes).
        self.markers_sent = 0
        # A slow send (a big full update) must not be overlapped by the next tick of a
        # multi-threaded executor: that tick is skipped, the next one catches up.
        self._lock = threading.Lock()
        node.create_timer(period, self.send)

    def request_full_update(self) -> None:
        """Make the next message carry the whole graph (after a load or a reset)."""
        self._full_update_due = True

    def send(self) -> None:
        """Publish the changes since the last send, unless a send is still running."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._send()
        finally:
            self._lock.release()

    def _send(self) -> None:
        memory = self.memory
        delta = memory.take_delta()
        full = self._full_update_due
        changed = delta is not None or full
        self._markers_due = self._markers_due or changed
        want_markers = self._markers_due and self.marker_pub.get_subscription_count() > 0
        if not changed and not want_markers:
            return
        stamp = self.node.get_clock().now().to_msg()
        with memory.lock:
            graph = memory.ltm.graph
            msg = self._delta_msg(graph, delta, full, stamp) if changed else None
            markers = scene_markers(graph, self.frame_id, stamp) if want_markers else None
        self._full_update_due = False
        try:
            if msg is not None:
                self.delta_pub.publish(msg)
            if markers is not None:
                self.marker_pub.publish(markers)
                self._markers_due = False
                self.markers_sent += 1
        except Exception:
            # A tick that raced the node's shutdown (SIGTERM while the executor thread was
            # in here) has nobody left to publish to; anything else is a real error.
            if self.node.context.ok():
                raise

    def _delta_msg(self, graph: SceneGraph, delta: GraphDelta | None,
                   full: bool, stamp: Time) -> SceneGraphDelta:
        msg = SceneGraphDelta(sequence=delta.sequence if delta else self.memory.sequence,
                              full_update=full)
        msg.header.stamp = stamp
        msg.header.frame_id = self.frame_id
        ids = list(graph.nodes) if full else (delta.changed if delta else [])
        for nid in ids:
            node = graph.nodes.get(nid)
            if node is not None:
                item = conv.node_to_memory_object(node, graph.support(nid))
                (msg.added_nodes if full else msg.updated_nodes).append(item)
        if full:
            msg.added_edges = [conv.edge_to_msg(s, t, d.get('kind', ''))
                               for s, t, d in graph.edges.edges(data=True)]
        elif delta:
            msg.removed_node_ids = list(delta.removed)
            changed = set(delta.changed)
            msg.added_edges = [conv.edge_to_msg(s, t, d.get('kind', ''))
                               for s, t, d in graph.edges.edges(data=True)
                               if s in changed]
        return msg
