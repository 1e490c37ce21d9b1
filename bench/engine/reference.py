#!/usr/bin/env python3
"""PyTorch CPU reference for `egtea bench engine`: the same two cases as the TypeScript side,
same shapes, same thread count. Prints one JSON document, or with --serve times runs of steps on
request, so the two sides can alternate in short turns.

  lenet:      LeNet-5 training step as a Table-1 run takes it: batch 100 of 3x28x28 (the
              one-frame clips are RGB), SGD momentum 0.9, weight decay 5e-4, cross-entropy
  bottleneck: one 3D-ResNeXt bottleneck (256 -> 128 grouped x32 -> 256, identity shortcut,
              BN in training mode), forward + backward on [1, 256, 5, 56, 56], the layer1
              activation of a 10x224x224 clip
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self, classes=10, channels=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Bottleneck(nn.Module):
    def __init__(self, cin=256, width=128, groups=32):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, 3, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, cin, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(cin)

    def forward(self, x):
        o = F.relu(self.bn1(self.conv1(x)))
        o = F.relu(self.bn2(self.conv2(o)))
        o = self.bn3(self.conv3(o))
        return F.relu(o + x)


def times_ms(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def make_cases():
    """The two timed steps, built once (and warmed up), as egtea's side builds its own."""
    net = LeNet5(channels=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(100, 3, 28, 28)
    y = torch.randint(0, 10, (100,))

    def lenet_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()

    block = Bottleneck().train()
    clip = torch.randn(1, 256, 5, 56, 56)

    def block_step():
        block.zero_grad(set_to_none=True)
        block(clip).sum().backward()

    times_ms(lenet_step, 5)
    times_ms(block_step, 2)
    return {'lenet': lenet_step, 'bottleneck': block_step}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--lenet-steps', type=int, default=30)
    ap.add_argument('--block-reps', type=int, default=5)
    ap.add_argument('--serve', action='store_true',
                    help='read "<case> <reps>" lines on stdin, answer each with one JSON line of step times')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cases = make_cases()
    header = {'torch': torch.__version__, 'threads': torch.get_num_threads()}
    if not a.serve:
        result = dict(header)
        result['lenet_ms'] = statistics.median(times_ms(cases['lenet'], a.lenet_steps))
        result['bottleneck_ms'] = statistics.median(times_ms(cases['bottleneck'], a.block_reps))
        print(json.dumps(result))
        return
    # Served: egtea alternates short runs of each side, so the machine's drift falls on both.
    print(json.dumps(header), flush=True)
    for line in sys.stdin:
        name, reps = line.split()
        print(json.dumps({'case': name, 'ms': times_ms(cases[name], int(reps))}), flush=True)


if __name__ == '__main__':
    main()
