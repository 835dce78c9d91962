"""What every bench shares: waiting for the device, a matmul peak, naming the machine."""

import platform
import time

import torch


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so a timing covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_flops_per_second(device: torch.device, size: int = 1024, repeats: int = 10,
                            rounds: int = 5) -> float:
    """The best of `rounds` timings: a peak, so a round slowed by another process on a
    shared machine does not lower it (benchmarks/README.md#code-matmul-best-of-five)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(rounds):
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 * repeats / best


def machine(device: torch.device) -> dict[str, str]:
    """Where a bench ran: device, processor and threads, torch."""
    return {"device": str(device),
            "machine": f"{platform.processor() or platform.machine()}, "
                       f"{torch.get_num_threads()} torch threads",
            "torch": torch.__version__}
