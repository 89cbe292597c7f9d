"""PyTorch's own data parallelism (DistributedDataParallel over Gloo) as the peer of
benchmarks/distributed.ts: torchvision's r2plus1d_18 at full width (torchvision has
no narrower one, and no naive CNN), one optimiser step = forward, backward (DDP's
bucketed all-reduce), clipping and AdamW, on one in-memory batch per rank.

  python3 distributed_python.py WORLD FRAMES SIZE GLOBAL_BATCH STEPS THREADS [cpu|cuda]
prints {"step_seconds": [...]} from rank 0 (every step after the first). On CUDA each
rank takes GPU rank % count, over NCCL when every rank has its own GPU, else Gloo.
"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torchvision


def run(rank, world, frames, size, batch, steps, threads, port, device, queue):
    torch.set_num_threads(max(1, threads // world))
    cuda = device == "cuda"
    dev = torch.device("cuda", rank % torch.cuda.device_count()) if cuda else torch.device("cpu")
    if world > 1:
        os.environ["MASTER_ADDR"] = "127.0.0.1"
        os.environ["MASTER_PORT"] = str(port)
        backend = "nccl" if cuda and torch.cuda.device_count() >= world else "gloo"
        dist.init_process_group(backend, rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torchvision.models.video.r2plus1d_18(num_classes=2).to(dev)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if cuda else None)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch // world, 3, frames, size, size, device=dev)
    y = torch.randint(0, 2, (batch // world,), device=dev)
    times = []
    for _ in range(steps + 1):
        if cuda:
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        if cuda:
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - t0)
    if rank == 0:
        queue.put(times[1:])
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    world, frames, size, batch, steps, threads = (int(v) for v in sys.argv[1:7])
    device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
    port = 20000 + os.getpid() % 20000
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=run, args=(r, world, frames, size, batch, steps, threads, port, device, queue)) for r in range(world)]
    for p in procs:
        p.start()
    times = queue.get()
    for p in procs:
        p.join()
    print(json.dumps({"step_seconds": times}))
