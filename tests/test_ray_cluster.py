"""Faults at cluster scale (issue 13): an ASHA search on a Ray test cluster
of three nodes (``ray.cluster_utils.Cluster``, several raylets on this
machine) loses one node mid-run. The trials on that node fail with the
reason, no result booked before is lost, and the run finishes on the
remaining nodes."""
import os
import time

import pytest
from scipy import stats

import d2lhpo

pytestmark = pytest.mark.xdist_group('ray')  # one Ray at a time


class KillNodeAfter(d2lhpo.SchedulerWrapper):
    """After `count` results, removes the node that hosts the actor of the
    trial that reported last, and remembers the results booked so far."""
    def __init__(self, scheduler, count, cluster, nodes, tuner_box):
        super().__init__(scheduler)
        self.count, self.cluster, self.nodes = count, cluster, nodes
        self.tuner_box, self.killed, self.booked = tuner_box, None, None

    def on_trial_result(self, trial, result):
        self.count -= 1
        if self.count == 0:  # the objective noted the node it runs on
            tuner = self.tuner_box[0]
            folder = tuner.backend.checkpoint_dir
            with open(os.path.join(folder, f'{trial.config["x"]!r}.node')) as f:
                node_id = f.read()
            self.killed = next(n for n in self.nodes if n.node_id == node_id)
            self.booked = [dict(r) for r in tuner.results]
            self.cluster.remove_node(self.killed)
        return super().on_trial_result(trial, result)


def test_an_asha_search_survives_the_loss_of_a_node(tmp_path):
    ray = pytest.importorskip('ray')
    from ray.cluster_utils import Cluster
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={'num_cpus': 0})
    nodes = [cluster.add_node(num_cpus=2) for _ in range(3)]
    cluster.wait_for_nodes()

    def curve(x, checkpoint):
        import os
        import time

        import ray
        with open(os.path.join(os.path.dirname(checkpoint), f'{x!r}.node'),
                  'w') as f:
            f.write(ray.get_runtime_context().get_node_id())
        done = 0
        if os.path.exists(checkpoint):
            with open(checkpoint) as f:
                done = int(f.read())
        for epoch in range(done + 1, 10):
            time.sleep(0.1)
            with open(checkpoint, 'w') as f:
                f.write(str(epoch))
            yield x + 1 / epoch

    try:
        backend = d2lhpo.RayBackend(curve, num_workers=3,
                                    address=cluster.address,
                                    checkpoint_dir=str(tmp_path))
        box = []
        scheduler = KillNodeAfter(d2lhpo.ASHAScheduler(
            d2lhpo.RandomSearcher({'x': stats.uniform(0, 1)}, seed=0),
            eta=3, r_min=1, r_max=9), 12, cluster, nodes, box)
        tuner = d2lhpo.AsyncTuner(scheduler, backend)
        box.append(tuner)
        tic = time.time()
        tuner.run(number_of_trials=15)
        backend.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert scheduler.killed is not None and time.time() - tic < 300
    died = [r for r in tuner.records if r.status == 'failed']
    assert died and all('died' in r.message for r in died)
    assert not any(r.status == 'running' for r in tuner.records)
    assert len(tuner.records) == 15
    # no result booked before the loss is lost; every curve is whole
    assert tuner.results[:len(scheduler.booked)] == scheduler.booked
    table = tuner.results_table()
    for trial_id, rows in table.groupby('trial_id'):
        x = tuner.records[trial_id].config['x']
        assert rows.epoch.tolist() == list(range(1, len(rows) + 1))
        assert all(abs(e - (x + 1 / k)) < 1e-12
                   for e, k in zip(rows.error, rows.epoch))
    # trials started after the loss ran on the remaining nodes
    after = [r for r in tuner.records if r.start_time > min(
        d.end_time for d in died)]
    assert after and all(r.status != 'failed' for r in after)
