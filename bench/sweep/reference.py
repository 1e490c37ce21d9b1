"""PyTorch reference for `egtea bench sweep`: one Table-1 run (LeNet-5, CE, batch 100, SGD momentum
0.9, weight decay 5e-4, lr 1e-3, validation after every epoch, the best-validation and the final
model on the test split) on the same images egtea trains on (the one-frame clips `egtea images`
writes).

--mode memory (the main reference): what a PyTorch user writes for a 28 x 28 set. The JPEGs are
decoded once into one normalised tensor per split; each epoch's batches are `torch.randperm`
slices of it.
--mode jpeg: every image decoded from its JPEG through PIL in a DataLoader, every epoch.

Prints one JSON line: the process's wall time (start to end, with `import torch` and reading the
images), the training loop's time (epochs with their validation), and the accuracies."""

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402


def read_split(root, split_file):
    """(frame path, label, subject) of every line of an annotation file; label = verb id - 1."""
    items = []
    with open(os.path.join(root, "annotations", split_file)) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            clip = parts[0]
            session = "-".join(clip.split("-")[:3])
            items.append((os.path.join(root, "frames", session, clip, "img_00001.jpg"), int(parts[1]) - 1, clip.split("-")[0]))
    return items


def decode(path, mean, std):
    x = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return ((x - mean) / std).transpose(2, 0, 1)


class Frames(torch.utils.data.Dataset):
    """The JPEG variant: decodes an image every time it is asked for."""

    def __init__(self, items, mean, std):
        self.items, self.mean, self.std = items, mean, std

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label, _ = self.items[i]
        return torch.from_numpy(decode(path, self.mean, self.std).copy()), label


def in_memory(items, mean, std):
    """The whole split as one tensor [N, 3, H, W] and its labels."""
    x = torch.from_numpy(np.stack([decode(path, mean, std) for path, _, _ in items]))
    return x, torch.tensor([label for _, label, _ in items])


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


def macro_recall(predicted, labels, classes):
    recalls = [(predicted[labels == c] == c).float().mean().item() for c in range(classes) if (labels == c).any()]
    return sum(recalls) / len(recalls)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--mode", choices=["memory", "jpeg"], default="memory")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--mean", type=float, default=0.286)
    parser.add_argument("--std", type=float, default=0.353)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    items = read_split(args.data, "train_split1.txt")
    train_items = [i for i in items if i[2] != "V01"]
    validation_items = [i for i in items if i[2] == "V01"]
    test_items = read_split(args.data, "test_split1.txt")
    classes = 1 + max(i[1] for i in items + test_items)
    model = LeNet5(classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)

    if args.mode == "memory":
        train_x, train_y = in_memory(train_items, args.mean, args.std)
        validation_x, validation_y = in_memory(validation_items, args.mean, args.std)
        test_x, test_y = in_memory(test_items, args.mean, args.std)

        def train_batches():
            order = torch.randperm(len(train_y))
            for first in range(0, len(order), args.batch):
                index = order[first : first + args.batch]
                yield train_x[index], train_y[index]

        def predict(x):
            return torch.cat([model(x[first : first + args.batch]).argmax(1) for first in range(0, len(x), args.batch)])

        evaluation = {"validation": (validation_x, validation_y), "test": (test_x, test_y)}
    else:
        train_loader = torch.utils.data.DataLoader(Frames(train_items, args.mean, args.std), batch_size=args.batch, shuffle=True, num_workers=0)

        def train_batches():
            return iter(train_loader)

        def labelled(items):
            loader = torch.utils.data.DataLoader(Frames(items, args.mean, args.std), batch_size=args.batch, shuffle=False, num_workers=0)
            return loader, torch.tensor([label for _, label, _ in items])

        def predict(loader):
            return torch.cat([model(x).argmax(1) for x, _ in loader])

        evaluation = {"validation": labelled(validation_items), "test": labelled(test_items)}

    def evaluate(split):
        model.eval()
        source, labels = evaluation[split]
        with torch.no_grad():
            predicted = predict(source)
        model.train()
        return (predicted == labels).float().mean().item(), macro_recall(predicted, labels, classes)

    loop_started = time.perf_counter()
    best = (-1.0, None)
    accuracy = None
    for _ in range(args.epochs):
        model.train()
        for x, y in train_batches():
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        accuracy, recall = evaluate("validation")
        if recall > best[0]:
            best = (recall, copy.deepcopy(model.state_dict()))
    loop_seconds = time.perf_counter() - loop_started
    final_test = evaluate("test")[0]
    model.load_state_dict(best[1])
    best_test = evaluate("test")[0]
    print(json.dumps({
        "mode": args.mode,
        "seconds": time.perf_counter() - STARTED,
        "loopSeconds": loop_seconds,
        "epochs": args.epochs,
        "train": len(train_items),
        "validation": len(validation_items),
        "test": len(test_items),
        "validationAccuracy": accuracy,
        "testAccuracy": {"final": final_test, "best": best_test},
        "threads": args.threads,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
