"""ament_python package `embodied_memory`: the memory stack's Python code and data files."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'embodied_memory'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=['memory_nodes', 'memory_nodes.*', 'sim', 'sim.*']),
    package_data={'sim': ['tasks/*.json', 'tasks/*.yaml', 'assets/*']},
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.xml')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='Embodied Memory Maintainers',
    maintainer_email='maintainers@embodied-memory.dev',
    description='Long- and short-term memory, planning and simulation for household robots.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'embodied-memory = memory_nodes.commands.main:main',
            'memory_node = memory_nodes.ros.memory_node:main',
            'perception_node = memory_nodes.ros.perception_node:main',
            'planner_node = memory_nodes.ros.planner_node:main',
            'sim_bridge_node = memory_nodes.ros.sim_bridge_node:main',
            'recorder_node = memory_nodes.ros.recorder_node:main',
        ],
    },
)
