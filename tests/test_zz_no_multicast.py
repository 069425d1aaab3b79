"""Runs last (file order): no multicast left this machine while the ROS tests ran."""

from conftest import MULTICAST_AT_START, out_multicast_packets


def test_no_multicast_left_the_machine_during_the_tests():
    sent = out_multicast_packets() - MULTICAST_AT_START
    assert sent == 0, f'{sent} multicast packet(s) left the machine during the test run'
