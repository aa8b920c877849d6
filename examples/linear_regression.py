#!/usr/bin/env python3
"""A training script written against SageMaker's training-container contract, nothing else.

It fits y = w·x + b by mini-batch gradient descent on the CSV files of its `training` channel
(every column a feature, the last one the target; no header), so that it runs anywhere Python
does: standard library only, no download at run time.

What it relies on, as on SageMaker:
  SM_CHANNEL_TRAINING                     the folder of the channel's files
  /opt/ml/input/config/hyperparameters.json   epochs, learning_rate, batch_size, epoch_seconds
  /opt/ml/input/config/checkpointconfig.json  LocalPath: checkpoints written there, resumed from
  SM_MODEL_DIR                            where the model goes (uploaded as model.tar.gz)
  SM_OUTPUT_DATA_DIR                      other output (output.tar.gz)
  /opt/ml/output/failure                  why it failed, when it does
  SIGTERM                                 a spot interruption or a stop: checkpoint and model, then exit
It prints `epoch=<n> train_loss=<v> weight_error=<v>` lines for MetricDefinitions to pick up.
Outside a container, SAGEMAKER_BASE_DIR stands for /opt/ml, as the SageMaker training toolkit reads it.
"""
import csv
import json
import math
import os
import random
import signal
import sys
import time

BASE = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
CONFIG = os.path.join(BASE, "input", "config")


def read_json(name, default):
    try:
        with open(os.path.join(CONFIG, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def write_atomically(path, data):
    """Write, then rename: a checkpoint taken at any moment holds a whole file, old or new."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def save_model(model_dir, state):
    write_atomically(os.path.join(model_dir, "model.json"), {"weights": state["weights"], "bias": state["bias"], "epochs": state["epoch"], "resumed_from": state["resumed_from"]})


def load_rows(folder):
    rows = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if not name.endswith(".csv"):
                continue
            with open(os.path.join(root, name), newline="") as f:
                rows.extend([float(v) for v in row] for row in csv.reader(f) if row)
    return rows


def main():
    hyperparameters = read_json("hyperparameters.json", {})
    epochs = int(hyperparameters.get("epochs", "20"))
    learning_rate = float(hyperparameters.get("learning_rate", "0.05"))
    batch_size = int(hyperparameters.get("batch_size", "64"))
    epoch_seconds = float(hyperparameters.get("epoch_seconds", "0"))
    checkpoint_dir = read_json("checkpointconfig.json", {}).get("LocalPath", os.path.join(BASE, "checkpoints"))
    checkpoint_file = os.path.join(checkpoint_dir, "state.json")
    model_dir = os.environ.get("SM_MODEL_DIR", os.path.join(BASE, "model"))
    output_dir = os.environ.get("SM_OUTPUT_DATA_DIR", os.path.join(BASE, "output", "data"))
    channel = os.environ.get("SM_CHANNEL_TRAINING", os.path.join(BASE, "input", "data", "training"))
    hosts = json.loads(os.environ.get("SM_HOSTS", '["algo-1"]'))

    rows = load_rows(channel)
    if not rows:
        raise ValueError("the training channel has no CSV rows in %s" % channel)
    features = len(rows[0]) - 1
    print("training on %d rows of %d features from %s (host %s of %s)" % (len(rows), features, channel, os.environ.get("SM_CURRENT_HOST"), hosts), flush=True)

    state = {"epoch": 0, "weights": [0.0] * features, "bias": 0.0, "resumed_from": []}
    if os.path.exists(checkpoint_file):
        with open(checkpoint_file) as f:
            state = json.load(f)
        state["resumed_from"].append(state["epoch"])
        print("resuming from checkpoint at epoch %d" % state["epoch"], flush=True)

    stop = {"requested": False}

    def on_sigterm(signum, frame):
        stop["requested"] = True

    signal.signal(signal.SIGTERM, on_sigterm)
    shuffle = random.Random(42)
    while state["epoch"] < epochs:
        order = list(range(len(rows)))
        shuffle.seed(state["epoch"])
        shuffle.shuffle(order)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = [rows[i] for i in order[start : start + batch_size]]
            gradient_w = [0.0] * features
            gradient_b = 0.0
            for row in batch:
                error = sum(w * x for w, x in zip(state["weights"], row)) + state["bias"] - row[-1]
                total += error * error
                for j in range(features):
                    gradient_w[j] += error * row[j]
                gradient_b += error
            n = len(batch)
            state["weights"] = [w - learning_rate * g / n for w, g in zip(state["weights"], gradient_w)]
            state["bias"] -= learning_rate * gradient_b / n
        state["epoch"] += 1
        loss = total / len(rows)
        print("epoch=%d train_loss=%.6f" % (state["epoch"], loss), flush=True)
        write_atomically(checkpoint_file, state)
        # Stand-in for a heavier model: time for an interruption to land mid-training.
        deadline = time.time() + epoch_seconds
        while time.time() < deadline and not stop["requested"]:
            time.sleep(0.05)
        if stop["requested"]:
            # A stop or MaxRuntime: SageMaker still uploads the model folder, so the model so far goes there too.
            save_model(model_dir, state)
            print("SIGTERM at epoch %d: checkpoint and model saved, exiting" % state["epoch"], flush=True)
            return 0
        if not math.isfinite(loss):
            raise ValueError("the loss diverged at epoch %d; lower learning_rate (%s)" % (state["epoch"], learning_rate))

    save_model(model_dir, state)
    write_atomically(os.path.join(output_dir, "training_summary.json"), {"rows": len(rows), "final_loss": loss})
    print("final train_loss=%.6f; model written to %s" % (loss, model_dir), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # SageMaker's FailureReason is what the algorithm writes here.
        failure = os.path.join(BASE, "output", "failure")
        os.makedirs(os.path.dirname(failure), exist_ok=True)
        with open(failure, "w") as f:
            f.write("%s: %s" % (type(error).__name__, error))
        print("training failed: %s" % error, file=sys.stderr, flush=True)
        sys.exit(1)
