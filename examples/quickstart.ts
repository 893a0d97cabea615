// parcnet quick start: tensors, autograd, a tiny convnet trained a few steps, and gradcheck.
// Run: npx tsx examples/quickstart.ts
import {
  conv2d, gather, gradcheck, logSoftmax, matmul, mean, noGrad, randn, relu, tensor, zeros, type Tensor,
} from 'parcnet';

// 1. Tensors and autograd.
const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
const b = a.mul(a).sum();
b.backward();
console.log(`d(sum a²)/da = ${JSON.stringify(a.grad!.toArray())}`);

// 2. A tiny convnet: conv 3×3 stride 2 → ReLU → flatten → linear, on 8×8 images of two classes
//    (a bright square in the upper-left or in the lower-right corner).
const images = zeros([16, 1, 8, 8]);
const labels = new Int32Array(16);
for (let i = 0; i < 16; i++) {
  labels[i] = i % 2;
  const corner = labels[i] === 0 ? 0 : 4;
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) images.storage[i * 64 + (corner + y) * 8 + corner + x] = 1;
}
const target = tensor(labels, { shape: [16, 1] });

const convWeight = randn([4, 1, 3, 3], { seed: 1 }).mul(0.5).detach().requiresGrad_();
const linearWeight = randn([64, 2], { seed: 2 }).mul(0.1).detach().requiresGrad_();
const parameters = [convWeight, linearWeight];

function model(x: Tensor): Tensor {
  const features = relu(conv2d(x, convWeight, { padding: 1, stride: 2 })); // [N, 4, 4, 4]
  return matmul(features.flatten(1), linearWeight); //                       [N, 64] · [64, 2] → [N, 2]
}

// Cross-entropy from primitives (packages/nn will provide it): −mean log p(label).
function crossEntropy(logits: Tensor, classes: Tensor): Tensor {
  return mean(gather(logSoftmax(logits, 1), 1, classes)).neg();
}

const losses: number[] = [];
for (let step = 0; step < 30; step++) {
  const loss = crossEntropy(model(images), target);
  for (const p of parameters) p.grad = null;
  loss.backward();
  noGrad(() => {
    for (const p of parameters) p.storage.set(p.sub(p.grad!.mul(0.5)).toTypedArray());
  });
  losses.push(loss.item());
}
console.log(`loss: step 0 ${losses[0].toFixed(4)} → step ${losses.length - 1} ${losses[losses.length - 1].toFixed(4)}`);

// 3. gradcheck: the backward of any composition against float64 central differences.
const x = randn([2, 3, 5, 5], { dtype: 'float64', seed: 3 }).requiresGrad_();
const w = randn([4, 3, 3, 3], { dtype: 'float64', seed: 4 }).requiresGrad_();
console.log(`gradcheck conv2d → relu → mean: ${gradcheck((x, w) => relu(conv2d(x, w, { padding: 1 })).mean(), [x, w])}`);
