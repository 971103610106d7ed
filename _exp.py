import sys, tempfile, torch, numpy as np
from pathlib import Path
sys.path.insert(0, "benchmarks")
torch.set_num_threads(1)
from defaults import cases, accuracy
from workbench.core import lr_finder
folder = Path(tempfile.mkdtemp())
cs = cases(folder, 0, False)
for rule in ("valley", "min10"):
    lr_finder.RULE = rule
    for name, (ckpt, recipe) in cs.items():
        if "digits" in name or (rule == "valley" and "diabetes" in name): continue
        acc, tr = accuracy(ckpt, recipe, {})
        print(rule, name, round(acc, 3), round(tr["lr"], 4), tr["epochs_run"], tr["epochs"], flush=True)
