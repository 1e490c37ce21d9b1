#!/usr/bin/env python3
"""Python/PIL reference for `egtea bench loader`: the same work as egtea's training loader on
the same prepared frames: per clip, 10 segment-sampled frames, one random square crop (side =
short side x scale), resize to 224, rotation within +-10 degrees (same size, black corners),
horizontal flip with p = 0.5, ImageNet normalisation, float32 [T, H, W, C]. Runs in a single
process, and with a pool of one process per core. Prints one JSON document.

Input: a JSON list of [frame folder, frame count] on stdin."""
import json
import multiprocessing
import os
import random
import sys
import time

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
SIZE, SEGMENTS, ROTATION = 224, 10, 10.0


def load_clip(job):
    (folder, count), seed = job
    rng = random.Random(seed)
    bounds = [(count - 1) * i / SEGMENTS for i in range(SEGMENTS + 1)]
    frames = []
    for i in range(SEGMENTS):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        frames.append(rng.randrange(lo, hi) if hi > lo else lo)
    first = Image.open(os.path.join(folder, 'img_00001.jpg'))
    w, h = first.size
    side = min(w, h)
    left, top = rng.randrange(0, w - side + 1), rng.randrange(0, h - side + 1)
    angle = rng.uniform(-ROTATION, ROTATION)
    flip = rng.random() < 0.5
    out = np.empty((SEGMENTS, SIZE, SIZE, 3), dtype=np.float32)
    for t, f in enumerate(frames):
        img = Image.open(os.path.join(folder, 'img_%05d.jpg' % (f + 1))).convert('RGB')
        img = img.crop((left, top, left + side, top + side)).resize((SIZE, SIZE), Image.BILINEAR)
        img = img.rotate(angle, resample=Image.BILINEAR)
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        out[t] = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
    return float(out[0, 0, 0, 0])


def main():
    clips = json.load(sys.stdin)
    jobs = [(c, i) for i, c in enumerate(clips)]
    t0 = time.perf_counter()
    for job in jobs:
        load_clip(job)
    single = len(jobs) / (time.perf_counter() - t0)
    cores = os.cpu_count()
    with multiprocessing.Pool(cores) as pool:
        pool.map(load_clip, jobs[: cores])  # start the workers
        t0 = time.perf_counter()
        pool.map(load_clip, jobs, chunksize=2)
        pooled = len(jobs) / (time.perf_counter() - t0)
    print(json.dumps({'singleProcessClipsPerSecond': single, 'allCoresClipsPerSecond': pooled, 'processes': cores,
                      'clips': len(jobs)}))


if __name__ == '__main__':
    main()
