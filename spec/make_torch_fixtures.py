"""Fixtures for @parcnet/io's torch.save reader: small .pt files written by PyTorch 1.13 and the
values they must load as (torch.json). Run with Debian's python3-torch:

    /usr/bin/python3 spec/make_torch_fixtures.py

Deterministic: the same PyTorch writes the same files.
"""
import collections
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'torch')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
expected = {}


def values(t):
    return t.to(torch.float64).flatten().tolist() if t.dtype in (torch.float16, torch.bfloat16) else t.flatten().tolist()


def record(name, state):
    expected[name] = {k: {'shape': list(v.shape), 'values': values(v.contiguous())} for k, v in state.items()}


# Every storage dtype a state dict may hold.
dtypes = collections.OrderedDict(
    f32=torch.randn(2, 3),
    f64=torch.randn(4, dtype=torch.float64),
    f16=torch.randn(5).half(),
    bf16=torch.randn(3, 2).bfloat16(),
    i64=torch.tensor([-3, 0, 2**31 - 1, -(2**31)], dtype=torch.int64),
    i32=torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
    u8=torch.tensor([0, 7, 255], dtype=torch.uint8),
    bool=torch.tensor([True, False, True]),
    scalar=torch.tensor(5, dtype=torch.int64),
)
torch.save(dtypes, os.path.join(OUT, 'dtypes.pt'))
record('dtypes.pt', dtypes)

# Non-contiguous views and two tensors sharing one storage.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
strided = collections.OrderedDict(
    transposed=base.t(),
    sliced=base[1:3, ::2],
    expanded=torch.tensor([1.0, 2.0]).unsqueeze(0).expand(3, 2),
    shared_a=base,
    shared_b=base[2],
)
torch.save(strided, os.path.join(OUT, 'strided.pt'))
record('strided.pt', strided)

# A state dict inside a training checkpoint dict, with DataParallel's `module.` prefix.
layer = torch.nn.Linear(3, 2)
wrapped_state = collections.OrderedDict(('module.' + k, v) for k, v in layer.state_dict().items())
torch.save({'epoch': 3, 'model_state_dict': wrapped_state, 'best': 0.5}, os.path.join(OUT, 'wrapped.pt'))
record('wrapped.pt', wrapped_state)


# A pickle that would run a shell command if unpickled by Python: the reader must refuse it.
class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


torch.save({'w': torch.ones(2), 'payload': Evil()}, os.path.join(OUT, 'evil.pt'))

# The pre-1.6 format, which the reader refuses with a clear message.
torch.save(collections.OrderedDict(w=torch.ones(2)), os.path.join(OUT, 'legacy.pt'), _use_new_zipfile_serialization=False)

with open(os.path.join(OUT, 'torch.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'files': expected}, f, indent=1)
print('wrote', sorted(os.listdir(OUT)))
