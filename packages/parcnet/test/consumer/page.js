// The browser entry of parcnet, bundled by Vite from the installed packages: one ParC-Net-XS
// training step (forward, backward, AdamW) and an evaluation forward; the result goes in #out.
import { getNumThreads, models, nn, randint, randn, wasmBuild } from 'parcnet';

const out = document.getElementById('out');
try {
  const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
  const optimizer = new nn.AdamW(model.parameters(), { lr: 1e-3 });
  const loss = nn.crossEntropy(model.train().forward(randn([4, 3, 32, 32], { seed: 1 })), randint(0, 10, [4], { seed: 2 }));
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  const logits = model.eval().forward(randn([1, 3, 32, 32], { seed: 0 }));
  out.textContent = JSON.stringify({ loss: loss.item(), threads: getNumThreads(), relaxedSimd: wasmBuild().relaxedSimd, logits: logits.shape });
} catch (e) {
  out.textContent = JSON.stringify({ error: String(e) });
}
