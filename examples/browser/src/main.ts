// The demo page: wires demo.ts to the DOM. Everything the page shows is also kept on
// `window.parcnetDemo`, which the browser test and benchmark read.
import { data, getNumThreads, listKernels, WASM } from 'parcnet';
import { benchForward, classify, fineTuneHead, modelFromWeights, type Classification, type LabelledImage, type LoadedModel } from './demo';

// The page's modules (parcnet among them, with its WASM kernels and threads) are loaded by now.
const loadMilliseconds = performance.now();

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: no #${id}`);
  return element as T;
};

interface DemoState {
  loadMilliseconds: number;
  threads: number;
  isolated: boolean;
  /** Kernels with a WASM implementation registered ahead of the reference. */
  wasmKernels: string[];
  weights: { source: string; model: string; classes: string[]; parameters: number } | null;
  lastClassification: Classification | null;
  losses: number[];
  /** Set while something runs; the test waits for it to clear. */
  busy: boolean;
  error: string | null;
  benchForward: typeof benchForward;
}

const state: DemoState = {
  loadMilliseconds,
  threads: getNumThreads(),
  isolated: globalThis.crossOriginIsolated === true,
  wasmKernels: Object.entries(listKernels()).filter(([, backends]) => backends[0] === WASM).map(([name]) => name),
  weights: null,
  lastClassification: null,
  losses: [],
  busy: false,
  error: null,
  benchForward,
};
(window as unknown as { parcnetDemo: DemoState }).parcnetDemo = state;

let loaded: LoadedModel | null = null;
let current: { name: string; image: data.RgbImage } | null = null;
const training: LabelledImage[] = [];

const status = $('status');
status.textContent = `Ready in ${Math.round(loadMilliseconds)} ms · WASM SIMD kernels (${state.wasmKernels.length} ops) on ${state.threads} thread${state.threads === 1 ? '' : 's'}`
  + (state.isolated ? ' (cross-origin isolated)' : ' (not cross-origin isolated: one thread)');
status.dataset.state = 'ready';

/** Runs a UI action with the busy flag set and any error shown on the page (and kept for the test). */
async function run(action: () => Promise<void> | void): Promise<void> {
  state.busy = true;
  state.error = null;
  document.body.dataset.busy = 'true';
  // Let the page paint "busy" before the synchronous work starts.
  await new Promise((resolve) => setTimeout(resolve, 0));
  try {
    await action();
  } catch (e) {
    state.error = (e as Error).message;
    status.textContent = state.error;
    status.dataset.state = 'error';
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
}

// 1. Weights.
function useWeights(bytes: Uint8Array, source: string): void {
  loaded = modelFromWeights(bytes, source);
  const { info, parameters } = loaded;
  state.weights = { source, model: info.model, classes: info.classes, parameters };
  $('weights-info').textContent = `${source}: ${info.model}${info.cifar_stem ? ' (CIFAR stem)' : ''}, ${(parameters / 1e6).toFixed(2)} M parameters, `
    + `${info.num_classes} classes, input ${info.input_size.join('×')}`;
  const select = $<HTMLSelectElement>('add-label');
  select.replaceChildren(...info.classes.map((c) => new Option(c, c)));
  select.disabled = false;
  $<HTMLButtonElement>('train').disabled = false;
  $<HTMLButtonElement>('add-image').disabled = current === null;
  if (current) classifyCurrent();
}

$<HTMLInputElement>('weights-file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) void run(async () => useWeights(new Uint8Array(await file.arrayBuffer()), file.name));
});

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

$('weights-url-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const url = $<HTMLInputElement>('weights-url').value.trim();
  if (url) void run(async () => useWeights(await fetchBytes(url), url));
});

// 2. Classification.
function draw(canvas: HTMLCanvasElement, image: data.RgbImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const plane = image.width * image.height;
  const rgba = new ImageData(image.width, image.height);
  for (let p = 0; p < plane; p++) {
    rgba.data[4 * p] = image.data[p];
    rgba.data[4 * p + 1] = image.data[plane + p];
    rgba.data[4 * p + 2] = image.data[2 * plane + p];
    rgba.data[4 * p + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
}

function classifyCurrent(): void {
  if (!loaded || !current) return;
  const result = classify(loaded, current.image);
  state.lastClassification = result;
  $('top5').replaceChildren(...result.top.map(({ label, probability }) => {
    const item = document.createElement('li');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, Math.round(probability * 160))}px`;
    item.append(bar, `${label} ${(100 * probability).toFixed(1)} %`);
    return item;
  }));
  const wasmCalls = Object.entries(result.kernels).filter(([k]) => k.endsWith(`:${WASM}`)).reduce((n, [, c]) => n + c, 0);
  const allCalls = Object.values(result.kernels).reduce((n, c) => n + c, 0);
  $('classify-time').textContent = `${current.name}: forward in ${result.milliseconds.toFixed(1)} ms on ${state.threads} thread${state.threads === 1 ? '' : 's'}; ${wasmCalls} of ${allCalls} kernel calls in WASM`;
}

function showImage(bytes: Uint8Array, name: string): void {
  const image = data.decodeImage(bytes, name);
  current = { name, image };
  draw($<HTMLCanvasElement>('preview'), image);
  $<HTMLButtonElement>('add-image').disabled = loaded === null;
  if (loaded) classifyCurrent();
  else $('classify-time').textContent = `${name}: load weights to classify it`;
}

$<HTMLInputElement>('image-file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) void run(async () => showImage(new Uint8Array(await file.arrayBuffer()), file.name));
});

const dropZone = $('drop-zone');
dropZone.addEventListener('dragover', (event) => {
  event.preventDefault();
  dropZone.classList.add('over');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropZone.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void run(async () => showImage(new Uint8Array(await file.arrayBuffer()), file.name));
});

// 3. Samples and fine-tuning. Two CIFAR-10 test images per class from the repository's sample,
// labelled by their folder; Vite turns each into a URL.
const sampleUrls = import.meta.glob('../../cifar10/sample/test/*/000[01].jpg', { query: '?url', import: 'default', eager: true }) as Record<string, string>;

async function loadSamples(): Promise<void> {
  const container = $('samples');
  for (const [path, url] of Object.entries(sampleUrls).sort()) {
    const label = path.split('/').at(-2)!;
    const name = `${label}/${path.split('/').at(-1)}`;
    const bytes = await fetchBytes(url);
    const image = data.decodeImage(bytes, name);
    training.push({ name, image, label });
    const tile = document.createElement('div');
    tile.className = 'sample';
    tile.title = `${name}: click to classify`;
    const canvas = document.createElement('canvas');
    draw(canvas, image);
    tile.append(canvas, label);
    tile.addEventListener('click', () => void run(() => showImage(bytes, name)));
    container.append(tile);
  }
}

$('add-image').addEventListener('click', () => {
  if (!current) return;
  const label = $<HTMLSelectElement>('add-label').value;
  training.push({ name: current.name, image: current.image, label });
  $('train-log').textContent = `${current.name} added as "${label}"; ${training.length} labelled images`;
});

function drawCurve(losses: readonly number[], steps: number): void {
  const svg = $('loss-curve');
  const [width, height, pad] = [400, 160, 28];
  const top = Math.max(...losses) * 1.05;
  const x = (i: number): number => pad + ((width - pad - 8) * i) / Math.max(1, steps);
  const y = (v: number): number => height - pad + 12 - ((height - pad) * v) / top;
  const points = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  svg.innerHTML = `<line x1="${pad}" y1="${y(0)}" x2="${width - 8}" y2="${y(0)}"/><line x1="${pad}" y1="8" x2="${pad}" y2="${y(0)}"/>`
    + `<text x="2" y="14">${top.toFixed(2)}</text><text x="2" y="${y(0)}">0</text><text x="${width - 60}" y="${height - 2}">step ${steps}</text>`
    + `<polyline points="${points}"/>`;
}

$('train').addEventListener('click', () => void run(async () => {
  if (!loaded) throw new Error('Load weights first');
  const steps = Number($<HTMLInputElement>('steps').value);
  const lr = Number($<HTMLInputElement>('lr').value);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Steps must be a positive integer, got ${$<HTMLInputElement>('steps').value}`);
  state.losses = [];
  const started = performance.now();
  await fineTuneHead(loaded, training, steps, async (step, loss) => {
    state.losses.push(loss);
    drawCurve(state.losses, steps);
    $('train-log').textContent = `step ${step}/${steps}: loss ${loss.toFixed(4)} on ${training.length} images`;
    // Yield so the curve is painted as it grows.
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }, lr);
  $('train-log').textContent = `loss ${state.losses[0].toFixed(4)} → ${state.losses.at(-1)!.toFixed(4)} in ${steps} steps on ${training.length} images (${((performance.now() - started) / 1000).toFixed(1)} s)`;
  if (current) classifyCurrent();
}));

void run(async () => {
  await loadSamples();
  const weights = new URLSearchParams(location.search).get('weights');
  if (weights) useWeights(await fetchBytes(weights), weights);
});
