import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code
NOTATION = open("/work/main/notebooks/NOTATION.md").read().strip()

PARAMS = '''import os
FAST = os.environ.get("HASHING_FAST", "0") == "1"   # CI and `make test` set it; readers get the full run
SEED = 0
DATASET = "digits" if FAST else "fashion-mnist"
EPOCHS = 15 if FAST else 12
BITS_SWEEP = [32] if FAST else [16, 32, 64]          # full mode reports 16 / 32 / 64 bits
MOSAIC_EPOCHS = 15 if FAST else 25
WIDGET_EPOCHS = 8
TSNE_SAMPLES, TSNE_ITER = (300, 250) if FAST else (1000, 1000)'''

IMPORTS = '''%config InlineBackend.figure_formats = ["png"]
import functools
import math
import hashing_utils as hu
import numpy as np
import torch
import matplotlib.pyplot as plt

hu.plots.setup()
hu.seed_everything(SEED)
DEVICE = hu.pick_device()'''

def write(cells, path):
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                             "language_info": {"name": "python"}})
    nbformat.write(nb, path)
