// Run by install.test.ts in a folder outside the repository where the packed packages were
// installed: plain node, no loader. Builds ParC-Net-XS, takes one training step on the WASM kernels
// with 2 threads, gradchecks the ParC op, saves the weights; prints one JSON line.
import { gradcheck, io, models, nn, parc, randint, randn, setNumThreads, getNumThreads, wasmBuild } from 'parcnet';

setNumThreads(2);
const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
const optimizer = new nn.AdamW(model.parameters(), { lr: 1e-3 });
const images = randn([8, 3, 32, 32], { seed: 1 });
const labels = randint(0, 10, [8], { seed: 2 });
const before = model.parameters()[0].toTypedArray().slice();
const loss = nn.crossEntropy(model.train().forward(images), labels);
optimizer.zeroGrad();
loss.backward();
optimizer.step();
const after = model.parameters()[0].toTypedArray();
const changed = before.some((v, i) => v !== after[i]);

const x = randn([2, 3, 5, 6], { dtype: 'float64', seed: 3 }).requiresGrad_();
const kernel = randn([3, 1, 1, 4], { dtype: 'float64', seed: 4 }).requiresGrad_();
const bias = randn([3], { dtype: 'float64', seed: 5 }).requiresGrad_();
const parcGradcheck = gradcheck((x, k, b) => parc.parcConv(x, k, { axis: 'W', bias: b }), [x, kernel, bias]);

await io.saveSafetensors(model.stateDict(), 'xs.safetensors');
console.log(JSON.stringify({ loss: loss.item(), changed, threads: getNumThreads(), build: wasmBuild(), parcGradcheck }));
