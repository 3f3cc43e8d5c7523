"""Data-parallel training: torch.distributed with the gloo backend, one process per rank (loopback only),
data sharded by DistributedSampler, gradients averaged by DistributedDataParallel."""
import json
import os
import socket

import numpy as np


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, net, data, epochs, lr, batch, seed, out):
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from .common import train
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        model = DistributedDataParallel(net)
        # the same seed on every rank: DistributedSampler needs one shared permutation to shard
        hist = train(model, data, torch.device("cpu"), epochs, lr, batch, np.random.default_rng(seed),
                     sampler_rank=(rank, world))
        torch.save(model.module.state_dict(), os.path.join(out, f"ddp_rank{rank}.pt"))
        if rank == 0:
            with open(os.path.join(out, "ddp_history.json"), "w") as fh:
                json.dump(hist, fh)
    finally:
        dist.destroy_process_group()


def train_ddp(net, data, epochs, lr, batch, seed, world, out):
    """Train `net` in `world` processes; returns (rank-0 history, whether all ranks ended identical).
    `net` is left holding the trained weights."""
    import torch
    import torch.multiprocessing as mp
    os.makedirs(out, exist_ok=True)
    mp.spawn(_worker, args=(world, _free_port(), net, data, epochs, lr, batch, seed, out), nprocs=world, join=True)
    states = [torch.load(os.path.join(out, f"ddp_rank{r}.pt"), weights_only=True) for r in range(world)]
    same = all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in states[0])
    net.load_state_dict(states[0])
    with open(os.path.join(out, "ddp_history.json")) as fh:
        hist = json.load(fh)
    return hist, bool(same)
