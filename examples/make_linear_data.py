#!/usr/bin/env python3
"""Writes CSV files for examples/linear_regression.py: y = 3·x1 − 2·x2 + 0.5·x3 + 1 + noise.

    python3 examples/make_linear_data.py <folder> [rows] [files]
"""
import os
import random
import sys

TRUE_WEIGHTS = [3.0, -2.0, 0.5]
TRUE_BIAS = 1.0


def main(folder, rows=4000, files=4):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(7)
    for part in range(files):
        with open(os.path.join(folder, "part-%d.csv" % part), "w") as f:
            for _ in range(rows // files):
                x = [rng.uniform(-1, 1) for _ in TRUE_WEIGHTS]
                y = sum(w * v for w, v in zip(TRUE_WEIGHTS, x)) + TRUE_BIAS + rng.gauss(0, 0.05)
                f.write(",".join("%.6f" % v for v in x + [y]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
