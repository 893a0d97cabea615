// A model of your own in parcnet, in five steps:
//   1. a new op with a hand-written backward (autograd.Function), checked against finite differences;
//   2. a layer of your own around the ParC operator (an nn.Module), checked the same way;
//   3. a small network built from them, trained on the CIFAR-10 sample shipped in examples/cifar10
//      with DataLoader + AdamW + a warm-up/cosine learning-rate schedule;
//   4. its test accuracy;
//   5. its weights saved as safetensors and loaded into a fresh model, which must answer the same.
//
// Run: npx tsx examples/custom-model.ts [epochs]      (or EPOCHS=5; default 3, about 30 s on 2 cores)
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  argmax, autograd, data, eq, gradcheck, gt, hardswish, io, lt, manualSeed, nn, noGrad, parc, randn, relu6, where, zeros,
  type Tensor,
} from 'parcnet';

const epochs = Number(process.argv[2] ?? process.env.EPOCHS ?? 3);
const started = performance.now();
manualSeed(0); // layers initialise from the default generator: the same seed, the same run

// ─── 1. A new op: hard-swish with its derivative written by hand ────────────────────────────────
//
// hardswish(x) = x · relu6(x + 3) / 6. Written with tensor ops it would already be differentiable,
// but autograd would record four nodes (add, relu6, mul, div) and keep their intermediate tensors
// until backward. As a Function it is one node that keeps only x, and its derivative is the
// closed form below. (parcnet has a built-in `hardswish`; we rewrite it so that we can compare.)
class HardSwish extends autograd.Function {
  // forward runs with recording off: nothing inside it goes on the tape.
  static forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.mul(relu6(x.add(3))).div(6);
  }

  // gradOutput is ∂loss/∂output; return ∂loss/∂x, one gradient per forward input (here one).
  //   d/dx hardswish(x) = 0 below −3, 1 above 3, and (2x + 3) / 6 in between.
  static backward(ctx: autograd.FunctionCtx, gradOutput: Tensor): Tensor {
    const [x] = ctx.savedTensors;
    const slope = where(lt(x, -3), 0, where(gt(x, 3), 1, x.mul(2).add(3).div(6)));
    return gradOutput.mul(slope);
  }
}
const hardSwish = (x: Tensor): Tensor => HardSwish.apply(x);

// A hand-written derivative is easy to get wrong, so check it: gradcheck compares the Jacobian that
// backward gives with central differences, in float64 (float32 differences are too coarse).
// Values spread over [−6, 6] cover all three pieces of the derivative.
const probe = randn([4, 25], { dtype: 'float64', seed: 1 }).mul(3).detach().requiresGrad_();
const opChecked = gradcheck(hardSwish, [probe]);
const sameAsBuiltIn = noGrad(() => hardSwish(probe).sub(hardswish(probe)).abs().max().item()) < 1e-12;
console.log(`gradcheck HardSwish (autograd.Function): ${opChecked}, equal to the built-in hardswish: ${sameAsBuiltIn}`);

// ─── 2. A layer of our own: global mixing with the ParC operator ────────────────────────────────
//
// parc.parcConv is ParC-Net's position-aware circular convolution: along one axis, every output
// sees the whole row (or column), with a kernel resampled from a learned "meta kernel" of length K
// to the map's size, plus a learned positional encoding. One ParC along H then one along W give a
// global receptive field in a single layer, which a 3×3 conv needs many layers to reach.
class ParcMixer extends nn.Module {
  readonly norm: nn.BatchNorm2d;
  readonly metaKernelH: Tensor;
  readonly metaKernelW: Tensor;
  readonly metaPE: Tensor;
  readonly bias: Tensor;

  constructor(channels: number, metaKernelSize: number) {
    super();
    const k = metaKernelSize;
    // `this.parameter` and `this.child` register what the optimiser trains and the state dict
    // saves, under these names (like attribute names in PyTorch).
    this.norm = this.child('norm', new nn.BatchNorm2d(channels));
    this.metaKernelH = this.parameter('meta_kernel_H', nn.kaimingUniform_(zeros([channels, 1, k, 1])));
    this.metaKernelW = this.parameter('meta_kernel_W', nn.kaimingUniform_(zeros([channels, 1, 1, k])));
    this.metaPE = this.parameter('meta_pe_H', nn.normal_(zeros([1, channels, k, 1]), 0, 0.02));
    this.bias = this.parameter('bias', zeros([channels]));
  }

  // x: [B, C, H, W] → [B, C, H, W]. A residual, so the layer starts close to the identity.
  forward(x: Tensor): Tensor {
    const alongH = parc.parcConv(this.norm.forward(x), this.metaKernelH, { axis: 'H', metaPE: this.metaPE });
    const alongW = parc.parcConv(alongH, this.metaKernelW, { axis: 'W', bias: this.bias });
    return x.add(hardSwish(alongW));
  }
}

// Check the layer end to end (BatchNorm, both ParCs, HardSwish) on a small float64 copy. Its
// parameters are passed as gradcheck inputs too, so their gradients are checked as well; a
// non-square map makes each axis resample its kernel to its own length.
const layer = new ParcMixer(3, 5).to('float64');
const layerInput = randn([2, 3, 6, 5], { dtype: 'float64', seed: 2 }).requiresGrad_();
const layerChecked = gradcheck((x) => layer.forward(x), [layerInput, ...layer.parameters()]);
console.log(`gradcheck ParcMixer (BatchNorm → parcConv H → parcConv W → HardSwish, residual): ${layerChecked}`);

// ─── 3. The network, and training ───────────────────────────────────────────────────────────────
//
// Two strided 3×3 convs bring 32×32 images to 8×8 (local features), the ParC layer mixes across
// the whole map, then global average pooling and a linear classifier.
class TinyParcNet extends nn.Module {
  readonly conv1 = this.child('conv1', new nn.Conv2d(3, 24, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn1 = this.child('bn1', new nn.BatchNorm2d(24));
  readonly conv2 = this.child('conv2', new nn.Conv2d(24, 48, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn2 = this.child('bn2', new nn.BatchNorm2d(48));
  readonly mixer = this.child('mixer', new ParcMixer(48, 8));
  readonly pool = this.child('pool', new nn.AdaptiveAvgPool2d(1));
  readonly classifier = this.child('classifier', new nn.Linear(48, 10));

  // images: [B, 3, 32, 32] → logits: [B, 10]
  forward(images: Tensor): Tensor {
    const x = hardSwish(this.bn1.forward(this.conv1.forward(images))); // [B, 24, 16, 16]
    const y = hardSwish(this.bn2.forward(this.conv2.forward(x))); //      [B, 48, 8, 8]
    return this.classifier.forward(this.pool.forward(this.mixer.forward(y)).flatten(1));
  }
}

// The sample is 2,000 training and 500 test images in class folders (examples/cifar10/sample);
// loadCifar10 decodes them once and caches the pixels in ~/.cache/parcnet.
const sample = fileURLToPath(new URL('./cifar10/sample', import.meta.url));
const trainSet = await data.loadCifar10({ split: 'train', data: sample });
const testSet = await data.loadCifar10({ split: 'test', data: sample });
// Per-channel mean and std of CIFAR-10, so the inputs are roughly zero-mean, unit-variance.
const normalize: data.TransformSpec = { name: 'normalize', mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
// Training batches are shuffled and augmented (random crops of the padded image, mirror images);
// the loader makes them in a worker thread while the model trains on the previous one.
const trainLoader = new data.DataLoader(trainSet, {
  batchSize: 32,
  shuffle: true,
  dropLast: true,
  seed: 0,
  transforms: [{ name: 'randomCrop', size: 32, padding: 4 }, { name: 'horizontalFlip' }, { name: 'toFloat' }, normalize],
});
const testLoader = new data.DataLoader(testSet, { batchSize: 250, transforms: [{ name: 'toFloat' }, normalize] });

const model = new TinyParcNet();
// AdamW: Adam with weight decay applied to the weights directly rather than through the gradient.
const optimizer = new nn.AdamW(model.parameters(), { lr: 6e-3, weightDecay: 0.05 });
// A short linear warm-up (Adam's early steps are noisy), then a cosine decay to the end of training.
const stepsPerEpoch = trainLoader.batchesPerEpoch;
const schedule = nn.warmupCosine({
  maxLr: 6e-3, minLr: 1e-4, warmupIterations: 20, warmupInitLr: 1e-4,
  maxEpochs: epochs, per: 'iteration', iterationsPerEpoch: stepsPerEpoch,
});

let step = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  model.train(); // BatchNorm uses batch statistics and updates its running ones
  const epochStart = performance.now();
  let lossSum = 0;
  for await (const batch of trainLoader.epoch(epoch)) {
    optimizer.setLr(schedule.lrAt(step, epoch));
    const loss = nn.crossEntropy(model.forward(batch.images), batch.labels);
    optimizer.zeroGrad();
    loss.backward(); // runs HardSwish.backward and parcConv's backward with everything else
    optimizer.step();
    lossSum += loss.item();
    step++;
  }
  const seconds = (performance.now() - epochStart) / 1000;
  console.log(`epoch ${epoch + 1}/${epochs}: loss ${(lossSum / stepsPerEpoch).toFixed(4)}, lr ${schedule.lrAt(step - 1, epoch).toExponential(2)} (${seconds.toFixed(1)} s)`);
}

// ─── 4. Test accuracy ───────────────────────────────────────────────────────────────────────────
//
// eval() switches BatchNorm to its running statistics; noGrad records no tape, since no backward follows.
model.eval();
let correct = 0;
const testBatches: Tensor[] = [];
for await (const batch of testLoader.epoch(0)) {
  testBatches.push(batch.images);
  correct += noGrad(() => eq(argmax(model.forward(batch.images), 1), batch.labels).sum().item());
}
await Promise.all([trainLoader.close(), testLoader.close()]); // stop the loaders' worker threads
console.log(`test accuracy: ${((100 * correct) / testSet.length).toFixed(1)}% of ${testSet.length} images (chance: 10%)`);

// ─── 5. Save, reload into a fresh model, compare ────────────────────────────────────────────────
//
// stateDict() names every parameter and buffer by its path (conv1.weight, mixer.meta_kernel_H,
// bn1.running_mean…), as PyTorch does; safetensors stores them so that PyTorch can read them too.
const outDir = fileURLToPath(new URL('../runs/custom-model/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const weightsPath = `${outDir}weights.safetensors`;
const state = model.stateDict();
await io.saveSafetensors(state, weightsPath);

manualSeed(123); // different initial weights, so that an equal answer proves the load
const fresh = new TinyParcNet();
fresh.loadStateDict((await io.loadSafetensors(weightsPath)).tensors);
fresh.eval();
const reloadMatches = noGrad(() =>
  testBatches.every((images) => {
    const [a, b] = [model.forward(images).toTypedArray(), fresh.forward(images).toTypedArray()];
    return a.every((v, i) => v === b[i]);
  }),
);
console.log(`saved ${Object.keys(state).length} tensors to ${weightsPath}; reloaded model's outputs equal: ${reloadMatches}`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
