"""PyTorch reference for `egtea bench sweep`: one Table-1 run (LeNet-5, CE, batch 100, SGD
momentum 0.9, weight decay 5e-4, lr 1e-3) on the same images egtea trains on (the one-frame
clips `egtea images` writes), decoded from their JPEGs every epoch as egtea's loader does, with
validation after every epoch. Prints one JSON line: seconds and final validation accuracy."""

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def read_split(root, split_file):
    """(frame path, label) of every line of an annotation file; label = verb id - 1."""
    items = []
    with open(os.path.join(root, "annotations", split_file)) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            clip = parts[0]
            session = "-".join(clip.split("-")[:3])
            items.append((os.path.join(root, "frames", session, clip, "img_00001.jpg"), int(parts[1]) - 1, clip.startswith("V01")))
    return items


class Frames(torch.utils.data.Dataset):
    def __init__(self, items, mean, std):
        self.items, self.mean, self.std = items, mean, std

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label, _ = self.items[i]
        x = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        x = (x - self.mean) / self.std
        return torch.from_numpy(x.transpose(2, 0, 1).copy()), label


class LeNet5(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--mean", type=float, default=0.286)
    parser.add_argument("--std", type=float, default=0.353)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    items = read_split(args.data, "train_split1.txt")
    train = Frames([i for i in items if not i[2]], args.mean, args.std)
    validation = Frames([i for i in items if i[2]], args.mean, args.std)
    classes = 1 + max(i[1] for i in items)
    model = LeNet5(classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    train_loader = torch.utils.data.DataLoader(train, batch_size=100, shuffle=True, num_workers=0)
    validation_loader = torch.utils.data.DataLoader(validation, batch_size=100, shuffle=False, num_workers=0)
    started = time.perf_counter()
    accuracy = None
    for _ in range(args.epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in validation_loader:
                correct += (model(x).argmax(1) == y).sum().item()
                total += len(y)
        accuracy = correct / total
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "epochs": args.epochs, "train": len(train), "validation": len(validation), "validationAccuracy": accuracy, "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
