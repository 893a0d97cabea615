#!/usr/bin/env python3
"""Makes spec/fixtures/core-goldens.json: PyTorch's answers where op semantics are subtle.

Run with Debian's PyTorch (apt-get install -y python3-torch): /usr/bin/python3 spec/make_core_goldens.py
Each case records its inputs, options, the forward output and the gradient of sum(output * seed)
with respect to every input, so the TypeScript tests can replay it without Python.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []


def pack(t):
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "data": t.detach().reshape(-1).tolist()}


def case(name, op, options, inputs, fn, dtype=torch.float64):
    tensors = {k: v.to(dtype).clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**tensors)
    seed = torch.randn(out.shape, dtype=dtype)
    (out * seed).sum().backward()
    cases.append({
        "name": name,
        "op": op,
        "options": options,
        "inputs": {k: pack(v) for k, v in tensors.items()},
        "output": pack(out),
        "seed": pack(seed),
        "grads": {k: pack(v.grad) for k, v in tensors.items()},
    })


r = torch.randn

# conv2d: groups, stride, dilation, padding, asymmetric kernels.
for (n, c, h, w, o, kh, kw, stride, pad, dil, groups) in [
    (2, 4, 7, 6, 6, 3, 3, 1, 1, 1, 1),
    (1, 6, 9, 8, 4, 3, 2, 2, 1, 1, 2),
    (2, 4, 8, 8, 4, 3, 3, 1, 2, 2, 4),
    (1, 3, 10, 9, 5, 3, 3, (2, 1), (0, 2), (1, 2), 1),
    (2, 8, 5, 5, 16, 1, 1, 1, 0, 1, 1),
    (1, 6, 7, 7, 12, 5, 5, 2, 2, 1, 6),
]:
    opts = {"stride": stride, "padding": pad, "dilation": dil, "groups": groups}
    for dtype in (torch.float64, torch.float32):
        case(f"conv2d {opts} {str(dtype)}", "conv2d", opts,
             {"x": r(n, c, h, w), "w": r(o, c // groups, kh, kw), "b": r(o)},
             lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups), dtype)

# interpolate: bilinear with and without align_corners, by size and by scale factor; nearest.
for (h, w, opts) in [
    (5, 7, {"size": [9, 4], "mode": "bilinear", "alignCorners": False}),
    (5, 7, {"size": [9, 4], "mode": "bilinear", "alignCorners": True}),
    (4, 6, {"scaleFactor": 2, "mode": "bilinear", "alignCorners": False}),
    (6, 6, {"scaleFactor": 0.5, "mode": "bilinear", "alignCorners": False}),
    (3, 5, {"size": [1, 1], "mode": "bilinear", "alignCorners": True}),
    (5, 7, {"size": [8, 3], "mode": "nearest"}),
    (4, 4, {"scaleFactor": 1.5, "mode": "nearest"}),
]:
    kwargs = {"mode": opts["mode"]}
    if "size" in opts:
        kwargs["size"] = opts["size"]
    else:
        kwargs["scale_factor"] = opts["scaleFactor"]
    if "alignCorners" in opts:
        kwargs["align_corners"] = opts["alignCorners"]
    case(f"interpolate {opts}", "interpolate", opts, {"x": r(2, 3, h, w)}, lambda x: F.interpolate(x, **kwargs))

# var: biased and unbiased, over several dims.
for axes, unbiased in [([1], True), ([0, 2], False), (None, True), ([-1], False)]:
    case(f"var axes={axes} unbiased={unbiased}", "var", {"axes": axes, "unbiased": unbiased}, {"x": r(3, 4, 5)},
         lambda x: torch.var(x, dim=axes, unbiased=unbiased) if axes is not None else torch.var(x, unbiased=unbiased))

# logsumexp, including large values that overflow a naive exp.
case("logsumexp dim 1", "logsumexp", {"axes": [1]}, {"x": r(3, 5) * 4}, lambda x: torch.logsumexp(x, dim=1))
case("logsumexp large", "logsumexp", {"axes": [0, 1]}, {"x": r(2, 3) * 10 + 800}, lambda x: torch.logsumexp(x, dim=(0, 1)))

# activations at and around their kinks.
kinks = torch.tensor([-4.0, -3.0, -2.9999, -1.0, -0.5, 0.0, 0.5, 1.0, 2.9999, 3.0, 4.0, 6.0, 7.0])
for name, fn in [("gelu", F.gelu), ("hardswish", F.hardswish), ("hardsigmoid", F.hardsigmoid),
                 ("relu", F.relu), ("relu6", F.relu6), ("silu", F.silu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)]:
    case(f"{name} at kinks", name, {}, {"x": kinks}, lambda x, fn=fn: fn(x))
    case(f"{name} random", name, {}, {"x": r(40) * 4}, lambda x, fn=fn: fn(x))
case("clamp at bounds", "clamp", {"min": -1, "max": 1}, {"x": torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])},
     lambda x: torch.clamp(x, -1, 1))
case("maximum ties", "maximum", {}, {"a": torch.tensor([1.0, 2.0, 3.0]), "b": torch.tensor([1.0, 3.0, 2.0])},
     lambda a, b: torch.maximum(a, b))
case("pow with zero base", "pow", {}, {"a": torch.tensor([0.0, 1.5, 2.0]), "b": torch.tensor([2.0, 0.5, 3.0])},
     lambda a, b: torch.pow(a, b))

# softmax family.
case("softmax dim 1", "softmax", {"axis": 1}, {"x": r(3, 4, 2)}, lambda x: F.softmax(x, dim=1))
case("logSoftmax dim -1", "logSoftmax", {"axis": -1}, {"x": r(3, 5)}, lambda x: F.log_softmax(x, dim=-1))

# pooling.
case("avgPool2d pad include", "avgPool2d", {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": True},
     {"x": r(2, 3, 7, 6)}, lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=True))
case("avgPool2d pad exclude", "avgPool2d", {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": False},
     {"x": r(2, 3, 7, 6)}, lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
case("maxPool2d", "maxPool2d", {"kernelSize": 3, "stride": 2, "padding": 1}, {"x": r(2, 3, 7, 6)},
     lambda x: F.max_pool2d(x, 3, 2, 1))
case("adaptiveAvgPool2d 3x2 from 7x5", "adaptiveAvgPool2d", {"outputSize": [3, 2]}, {"x": r(2, 3, 7, 5)},
     lambda x: F.adaptive_avg_pool2d(x, (3, 2)))

# padding modes.
for mode in ("constant", "circular", "reflect"):
    case(f"pad {mode}", "pad", {"pads": [2, 1, 1, 2], "mode": mode, "value": 0.5 if mode == "constant" else 0},
         {"x": r(2, 3, 4, 5)}, lambda x: F.pad(x, (2, 1, 1, 2), mode=mode, value=0.5) if mode == "constant" else F.pad(x, (2, 1, 1, 2), mode=mode))

cases.append({"name": "linspace 0..1 in 7", "op": "linspace", "options": {"start": 0, "end": 1, "steps": 7},
              "inputs": {}, "output": pack(torch.linspace(0, 1, 7, dtype=torch.float64)), "seed": None, "grads": {}})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "core-goldens.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {out}")
