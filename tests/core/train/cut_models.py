"""Models and data for the cut, probe and pruning tests, built in seconds with fixed seeds."""

import textwrap

import numpy as np
import torch

DEEP = textwrap.dedent('''
    from torch import nn

    class Deep(nn.Module):
        """Six Linear layers whose forward is a chain of named children."""
        def __init__(self):
            super().__init__()
            self.layer1, self.act1 = nn.Linear(10, 10), nn.ReLU()
            self.layer2, self.act2 = nn.Linear(10, 10), nn.ReLU()
            self.layer3, self.act3 = nn.Linear(10, 16), nn.ReLU()
            self.layer4, self.act4 = nn.Linear(16, 16), nn.ReLU()
            self.layer5, self.act5 = nn.Linear(16, 16), nn.ReLU()
            self.layer6 = nn.Linear(16, 1)

        def forward(self, x):
            for i in range(1, 6):
                x = getattr(self, f"act{i}")(getattr(self, f"layer{i}")(x))
            return self.layer6(x)

    class Residual(nn.Module):
        """forward adds a child's input to its output: no chain after 'b'."""
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c, self.head = nn.Linear(10, 8), nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 1)

        def forward(self, x):
            h = self.a(x)
            return self.head(self.c(self.b(h) + h))
''')


def overfitted_deep(folder):
    """(checkpoint, model source, data .npz): the classes follow x0 > 0 on held-out rows; the regression model was
    over-fitted to noise on 200 other rows with its first two layers the identity, and its third layer reads no
    x0 at all. Layer 2 keeps x0 (a linear probe separates it); everything after layer 3 has lost it."""
    source = folder / "deep.py"
    source.write_text(DEEP)
    from workbench.core.open.model_source import build

    torch.manual_seed(0)
    model = build(f"{source}:Deep")
    with torch.no_grad():
        for layer in (model.layer1, model.layer2):
            layer.weight.copy_(torch.eye(10))
            layer.bias.fill_(5.0)  # inputs stay positive through the ReLUs: layer 2 is x + 10
        model.layer1.requires_grad_(False)
        model.layer2.requires_grad_(False)
    rng = np.random.default_rng(0)
    X_fit = torch.as_tensor(rng.normal(size=(200, 10)), dtype=torch.float32)
    noise = torch.as_tensor(rng.normal(size=(200, 1)), dtype=torch.float32)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(300):  # memorise noise: the deep layers over-fit the 200 rows
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X_fit), noise).backward()
        opt.step()
        with torch.no_grad():
            model.layer3.weight[:, 0] = 0.0  # the layers after 2 never read x0
    ckpt = folder / "deep.pt"
    torch.save(model.state_dict(), ckpt)
    X = rng.normal(size=(600, 10)).astype(np.float32)
    y = (X[:, 0] + 0.1 * rng.normal(size=600)).astype(np.float32)
    data = folder / "deep.npz"
    np.savez(data, X=X, y=y)
    return ckpt, f"{source}:Deep", data
