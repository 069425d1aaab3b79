"""A second process for the transport test: stores observations it hears, answers queries.

Subscribes `observations` (ObjectObservationArray), serves `query_objects` (QueryObjects)
answering with the stored observations whose label matches. Exits on SIGINT/SIGTERM.
"""

import rclpy
from embodied_memory_msgs.msg import MemoryObject, ObjectObservationArray
from embodied_memory_msgs.srv import QueryObjects
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy


class ObservationStore(Node):
    def __init__(self):
        super().__init__('observation_store')
        self.seen = []
        qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                         durability=QoSDurabilityPolicy.VOLATILE)
        self.create_subscription(ObjectObservationArray, 'observations', self.on_obs, qos)
        self.create_service(QueryObjects, 'query_objects', self.on_query)
        self.get_logger().info('ready')

    def on_obs(self, msg):
        self.seen.extend(msg.observations)

    def on_query(self, request, response):
        for obs in self.seen:
            if obs.label.lower() == request.label.lower():
                obj = MemoryObject(id=f'{obs.label}-{obs.track_id}', label=obs.label,
                                   observation_count=1, confidence=obs.score)
                obj.pose.position = obs.centroid
                obj.extent = obs.extent
                obj.states = list(obs.states)
                response.objects.append(obj)
        response.error_code = response.SUCCESS if response.objects else response.NOT_FOUND
        response.error_msg = '' if response.objects else f'no {request.label!r} seen'
        return response


def main():
    rclpy.init()
    node = ObservationStore()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
