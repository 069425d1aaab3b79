"""Under load: 16 clients ask one memory node (a real SQLite file) while it fuses frames.

The short version of the load benchmark (`memory_nodes.evaluation.reliability.load`):
a few hundred objects, 16 clients in 4 processes (each client its own DDS participant)
for a few seconds, fusion at 5 Hz. Latency is the benchmark's business; here every
request must be answered with SUCCESS and the node's log must stay clean.
"""

import pytest

pytestmark = [pytest.mark.ros]


def test_sixteen_clients_while_fusing_get_no_errors(tmp_path):
    from memory_nodes.evaluation.reliability.load import LoadConfig, measure, summarize
    from memory_nodes.evaluation.reliability.load_client import MIX

    cfg = LoadConfig(objects=300, clients=16, processes=4, seconds=4.0, rate_hz=10.0)
    result = measure(cfg, tmp_path, log=lambda *_: None)
    assert result.node_alive, (tmp_path / 'memory_node.log').read_text()[-3000:]
    assert result.log_faults == []
    assert result.errors == []
    # Every kind of request was made and answered, by every client process.
    assert set(result.latencies) == {kind for kind, _ in MIX}
    answered = sum(len(v) for v in result.latencies.values())
    assert answered >= 16 * cfg.seconds * cfg.rate_hz * 0.4
    assert len(list(tmp_path.glob('client_*.json'))) == 4
    # ... while the node fused what the camera sent.
    assert result.worker['processed'] >= cfg.seconds * cfg.fusion_hz * 0.6
    assert result.worker['failed'] == 0
    summary = summarize(result)
    assert summary['metrics']['concurrent_clients'] == 16
    assert summary['metrics']['concurrent_errors'] == 0
    assert summary['metrics']['concurrent_p99_ms'] > 0
    assert any(what.startswith('get_scene_graph p50') for what, _ in summary['rows'])
