#!/usr/bin/python3
"""Times fp32 SGEMM through PyTorch (cuBLAS) on the GPU: the bar for the engine's matmul kernels.

TF32 is off, so this is true fp32 FMA throughput, the same arithmetic as the engine's kernels.
The shape is the engine's: out[N,OC] = inp[N,C] . weight[OC,C]^T, i.e. torch.nn.functional.linear.
  python3 bench/compare/cublas_sgemm.py --n 4096 --c 4096 --oc 4096
The last line of output is one JSON object: ms (median), gflops = 2*N*C*OC / time.
"""

import argparse
import json
import statistics

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--c", type=int, default=4096)
    ap.add_argument("--oc", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible to PyTorch")
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.rand(args.n, args.c, device="cuda", generator=g) * 2 - 1
    w = torch.rand(args.oc, args.c, device="cuda", generator=g) * 2 - 1
    for _ in range(args.warmup):
        F.linear(x, w)
    torch.cuda.synchronize()
    times = []
    for _ in range(args.repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        F.linear(x, w)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    ms = statistics.median(times)
    flops = 2.0 * args.n * args.c * args.oc
    print(json.dumps({
        "impl": "torch.nn.functional.linear (cuBLAS SGEMM, TF32 off)",
        "device": torch.cuda.get_device_name(),
        "torch_version": torch.__version__,
        "n": args.n, "c": args.c, "oc": args.oc,
        "ms": round(ms, 4),
        "ms_min": round(min(times), 4),
        "gflops": round(flops / (ms * 1e6), 1),
    }))


if __name__ == "__main__":
    main()
