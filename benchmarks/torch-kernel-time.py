"""Where PyTorch's time goes for the official ParC-Net-XS (CIFAR stem), by the categories of
kernel-time.ts, so that the two can be read side by side (issue 21).

usage: PARCNET_OFFICIAL=<folder> /usr/bin/python3 benchmarks/torch-kernel-time.py [batch=64] [train|eval] [steps=3] [threads=1]

The anchor scripts' official.py (../shared/anchors, or $PARCNET_ANCHORS) builds the model. One
warm-up step, then [steps] steps under torch.profiler; per step, the time of the top-level aten ops
(an op called inside another counts once, inside its caller), convolutions split by kind as
kernel-time.ts splits them, with each kind's multiply-adds and GFLOP/s.
"""
import os, sys, time
import torch
from torch.profiler import profile, ProfilerActivity

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get('PARCNET_ANCHORS', os.path.join(here, '..', '..', 'shared', 'anchors')))
import official

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
evaluate = len(sys.argv) > 2 and sys.argv[2] == 'eval'
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
model = official.classifier('xs', 10, **{'model.classification.classifier_dropout': 0.0})
model.conv_1.block.conv.stride = (1, 1)  # the CIFAR stem, as torch_speed.py
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.025)
x = torch.rand(batch, 3, 32, 32)
y = torch.randint(0, 10, (batch,))
if evaluate:
    model.eval()

# Each conv module's label (kind and kernel size) and multiply-adds, keyed by its weight and input shapes, from a forward hook.
conv_kind = {}
def remember(module, inputs, output):
    w = module.weight
    o, cg, kh, kw = w.shape
    kind = 'depthwise' if module.groups > 1 and cg == 1 else 'pointwise' if kh == 1 and kw == 1 else 'dense'
    macs = output.numel() * cg * kh * kw
    conv_kind[tuple(w.shape), tuple(inputs[0].shape)] = (f'{kind} {kh}×{kw}', macs)
hooks = [m.register_forward_hook(remember) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]

def step():
    if evaluate:
        with torch.no_grad():
            model(x)
    else:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

step()
for h in hooks:
    h.remove()
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    total = (time.perf_counter() - t0) / steps

events = prof.events()
# Top-level ops: those with no aten parent (the autograd engine's backward nodes are not aten ops).
def top_level(e):
    p = e.cpu_parent
    while p is not None:
        if p.name.startswith('aten::'):
            return False
        p = p.cpu_parent
    return e.name.startswith('aten::')

by = {}
def add(key, us, macs=0):
    ms, calls, m = by.get(key, (0.0, 0, 0))
    by[key] = (ms + us / 1000, calls + 1, m + macs)

def kind_of(xs, ws):
    """A conv's label and multiply-adds from its input and weight shapes: a module's, from the hook;
    otherwise (a functional conv, as the ParC convs') from the shapes, its output as large as its input."""
    found = conv_kind.get((tuple(ws), tuple(xs)))
    if found:
        return found
    o, cg, kh, kw = ws
    kind = 'depthwise' if cg == 1 and xs[1] == o and o > 1 else 'pointwise' if kh == 1 and kw == 1 else 'dense'
    return (f'{kind} {kh}×{kw}', xs[0] * o * xs[2] * xs[3] * cg * kh * kw)

for e in events:
    if not top_level(e):
        continue
    us = e.cpu_time_total
    if e.name in ('aten::convolution', 'aten::conv2d', 'aten::_convolution'):
        shapes = e.input_shapes
        xs, ws = shapes[0], shapes[1]
        label, macs = kind_of(xs, ws)
        add(f'forward {label}', us, macs)
    elif e.name == 'aten::convolution_backward':
        shapes = e.input_shapes
        xs, ws = shapes[1], shapes[2]  # after the output gradient
        label, macs = kind_of(xs, ws)
        add(f'backward {label}', us, 2 * macs)
    else:
        add(e.name, us)

print(f'PyTorch {torch.__version__}, {threads} thread(s), batch {batch}, {"eval" if evaluate else "train"}: '
      f'step {1000 * total:.0f} ms (profiled; per step, {steps} steps), in top-level ops {sum(v[0] for v in by.values()) / steps:.0f} ms')
for key, (ms, calls, macs) in sorted(by.items(), key=lambda kv: -kv[1][0])[:int(os.environ.get('TOP', '30'))]:
    rate = f'{2 * macs / (ms / 1000) / 1e9:6.1f} GFLOP/s' if macs else ''
    print(f'{key:40s} {ms / steps:8.1f} ms {calls / steps:6.0f} calls {rate}')
