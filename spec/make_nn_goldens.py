#!/usr/bin/env python3
"""Makes spec/fixtures/nn-goldens.json: PyTorch's losses, optimiser steps, schedules and norm layers.

Run with Debian's PyTorch: /usr/bin/python3 spec/make_nn_goldens.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
out = {"torch": torch.__version__}


def flat(t):
    return t.detach().reshape(-1).tolist()


def pack(t):
    return {"shape": list(t.shape), "data": flat(t)}


# Losses with their input gradients, float64.
losses = []
def loss_case(name, fn, inputs, targets, options):
    xs = {k: v.double().clone().requires_grad_(True) for k, v in inputs.items()}
    value = fn(**xs, **targets)
    value.sum().backward() if value.dim() else value.backward()
    losses.append({"name": name, "options": options,
                   "inputs": {k: pack(v) for k, v in xs.items()},
                   "targets": {k: pack(v) for k, v in targets.items()},
                   "value": pack(value), "grads": {k: pack(v.grad) for k, v in xs.items()}})

logits = torch.randn(6, 5)
labels = torch.tensor([0, 4, 2, 2, 1, 3])
ignored = torch.tensor([0, -100, 2, 2, -100, 3])
weight = torch.rand(5) + 0.5
loss_case("cross entropy", lambda x, t: F.cross_entropy(x, t), {"x": logits}, {"t": labels}, {})
loss_case("cross entropy smoothing 0.1", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), {"x": logits}, {"t": labels}, {"labelSmoothing": 0.1})
loss_case("cross entropy ignore and weights and smoothing", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2),
          {"x": logits}, {"t": ignored, "w": weight.double()}, {"labelSmoothing": 0.2, "weighted": True})
loss_case("cross entropy sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"), {"x": logits}, {"t": ignored}, {"reduction": "sum"})
seg = torch.randn(2, 4, 3, 3)
seg_t = torch.randint(0, 4, (2, 3, 3)); seg_t[0, 1, 1] = 255; seg_t[1, 0, 2] = 255
loss_case("cross entropy segmentation ignore 255", lambda x, t: F.cross_entropy(x, t, ignore_index=255), {"x": seg}, {"t": seg_t}, {"ignoreIndex": 255})
loss_case("nll", lambda x, t: F.nll_loss(x, t), {"x": F.log_softmax(logits, 1)}, {"t": labels}, {})
a, b = torch.randn(3, 4), torch.randn(3, 4) * 2
loss_case("mse", lambda x, t: F.mse_loss(x, t), {"x": a}, {"t": b.double()}, {})
loss_case("smooth l1 beta 0.5", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), {"x": a}, {"t": b.double()}, {"beta": 0.5})
bce_t = (torch.rand(3, 4) > 0.5).double()
loss_case("bce with logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t), {"x": a * 3}, {"t": bce_t}, {})
loss_case("bce with logits pos weight", lambda x, t, p: F.binary_cross_entropy_with_logits(x, t, pos_weight=p),
          {"x": a * 3}, {"t": bce_t, "p": torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)}, {"posWeight": True})
out["losses"] = losses

# Optimisers: five steps on a fixed quadratic-ish loss, float64.
optims = []
def optim_case(name, make, options):
    torch.manual_seed(1)
    p = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randn(4, 3, dtype=torch.float64)
    start = p.detach().clone()
    opt = make([p])
    trajectory = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((p - target) ** 2 * torch.arange(1, 13, dtype=torch.float64).reshape(4, 3)).sum() + (p ** 3).sum() * 0.1
        loss.backward()
        opt.step()
        trajectory.append(flat(p))
    optims.append({"name": name, "options": options, "start": flat(start), "target": flat(target), "trajectory": trajectory})

optim_case("sgd", lambda ps: torch.optim.SGD(ps, lr=0.01), {"kind": "SGD", "lr": 0.01})
optim_case("sgd momentum wd", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=0.1, dampening=0.1),
           {"kind": "SGD", "lr": 0.01, "momentum": 0.9, "weightDecay": 0.1, "dampening": 0.1})
optim_case("sgd nesterov", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True), {"kind": "SGD", "lr": 0.01, "momentum": 0.9, "nesterov": True})
optim_case("adam wd", lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1), {"kind": "Adam", "lr": 0.05, "betas": [0.8, 0.99], "weightDecay": 0.1})
optim_case("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.025), {"kind": "AdamW", "lr": 0.05, "weightDecay": 0.025})
out["optimizers"] = optims

# OneCycleLR and StepLR learning rates.
p = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20)
rates = []
for _ in range(20):
    rates.append(opt.param_groups[0]["lr"])
    opt.step(); sched.step()
out["oneCycle"] = {"maxLr": 0.1, "totalSteps": 20, "lrs": rates}

# BatchNorm2d training step and LayerNorm (last dim and channels-first), float64.
bn = torch.nn.BatchNorm2d(3).double()
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5])); bn.bias.copy_(torch.tensor([0.0, -1.0, 0.3]))
x = torch.randn(4, 3, 2, 5, dtype=torch.float64, requires_grad=True)
y = bn(x)
g = torch.randn_like(y)
(y * g).sum().backward()
out["batchNorm"] = {"x": pack(x), "y": pack(y), "gy": pack(g), "gx": pack(x.grad), "gWeight": flat(bn.weight.grad), "gBias": flat(bn.bias.grad),
                    "runningMean": flat(bn.running_mean), "runningVar": flat(bn.running_var), "weight": flat(bn.weight), "bias": flat(bn.bias)}
bn.eval()
out["batchNorm"]["yEval"] = flat(bn(x.detach()))
ln = torch.nn.LayerNorm(5).double()
xl = torch.randn(2, 3, 5, dtype=torch.float64)
out["layerNorm"] = {"x": pack(xl), "y": flat(ln(xl))}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn-goldens.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("wrote", path)
