import torch, numpy as np
from torch import nn
from workbench.core.recipe import TrainRecipe
from workbench.core.train import train
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
X = torch.randn(300, 4, generator=g)
y = (X[:, 0] + 0.5 * X[:, 1] > 0).float()
torch.manual_seed(0)
model = nn.Linear(4, 1)
r = train(model, "binary", 2, X, y, X[:60], y[:60], TrainRecipe(device="cpu", epochs=20), seed=0)
f=r.lr_finder
l=np.array(f["losses"]); lr=np.array(f["lrs"])
i=l.argmin(); print("min at", lr[i], "valley", f["pick"], len(l))
print(np.round(l[::5],3)); print(np.round(lr[::5],5))
