#!/usr/bin/env python3
"""PyTorch CPU reference for `egtea bench model`: 3D-ResNeXt-101 (the independent transcription
in ../shared/reference, or EGTEA_REFERENCE_DIR), 19 classes, forward + backward of one
10x224x224 clip at batch 1 in training mode, cross-entropy. Prints one JSON document with the
median milliseconds and the process's peak RSS."""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get('EGTEA_REFERENCE_DIR', os.path.join(here, '..', '..', '..', 'shared', 'reference')))
from resnext3d_ref import ResNeXt3D  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=os.cpu_count())
ap.add_argument('--reps', type=int, default=2)
ap.add_argument('--frames', type=int, default=10)
ap.add_argument('--size', type=int, default=224)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = ResNeXt3D(layers=(3, 4, 23, 3), n_classes=19).train()
x = torch.randn(1, 3, a.frames, a.size, a.size)
y = torch.tensor([3])


def step():
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


step()  # warm-up: two steps, as the egtea side takes
step()
times = []
for _ in range(a.reps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'ms': statistics.median(times),
                  'peakRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
