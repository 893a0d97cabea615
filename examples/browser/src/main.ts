// The demo page: wires demo.ts to the DOM. Everything the page shows is also kept on
// `window.parcnetDemo`, which the browser test and benchmark read.
import { data, getNumThreads, listKernels, startThreads, WASM, wasmHeapStats } from 'parcnet';
import {
  benchForward, classify, defaultLearningRate, fineTune, modelFromWeights,
  type Classification, type FineTuneScope, type FineTuneStep, type LabelledImage, type LoadedModel,
} from './demo';

// The page's modules (parcnet among them, with its WASM kernels and threads) are loaded by now.
const loadMilliseconds = performance.now();

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: no #${id}`);
  return element as T;
};

interface DemoState {
  loadMilliseconds: number;
  /** Threads the kernels run on now (the page's select; every core at load when cross-origin isolated). */
  threads: number;
  /** The most threads the page can run: the kernel workers started at load, plus the page's own. */
  maxThreads: number;
  isolated: boolean;
  /** Kernels with a WASM implementation registered ahead of the reference. */
  wasmKernels: string[];
  weights: { source: string; model: string; classes: string[]; parameters: number } | null;
  lastClassification: Classification | null;
  /** The last fine-tuning: what it trained, on how many threads and images, and each point of its curve. */
  fineTune: { scope: FineTuneScope; threads: number; images: number; lr: number; points: FineTuneStep[] } | null;
  /** The last fine-tuning's losses (its points' losses, as they come). */
  losses: number[];
  /** The wasm heap's figures after the last action (high-water `heapBytes`, `peakLiveBytes`, …). */
  heap: ReturnType<typeof wasmHeapStats>;
  /** Set while something runs; the test waits for it to clear. */
  busy: boolean;
  error: string | null;
  benchForward: typeof benchForward;
  /** A parameter's values by its state-dict name (the test compares them across fine-tuning), or null without weights or such a name. */
  parameter: (name: string) => number[] | null;
}

const state: DemoState = {
  loadMilliseconds,
  threads: getNumThreads(),
  maxThreads: getNumThreads(),
  isolated: globalThis.crossOriginIsolated === true,
  wasmKernels: Object.entries(listKernels()).filter(([, backends]) => backends[0] === WASM).map(([name]) => name),
  weights: null,
  lastClassification: null,
  fineTune: null,
  losses: [],
  heap: wasmHeapStats(),
  busy: false,
  error: null,
  benchForward,
  parameter: (name) => {
    const found = loaded?.model.namedParameters().find(([key]) => key === name);
    return found ? Array.from(found[1].toTypedArray()) : null;
  },
};
(window as unknown as { parcnetDemo: DemoState }).parcnetDemo = state;

let loaded: LoadedModel | null = null;
let current: { name: string; image: data.RgbImage } | null = null;
const training: LabelledImage[] = [];

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

const status = $('status');
status.textContent = `Ready in ${Math.round(loadMilliseconds)} ms · WASM SIMD kernels (${state.wasmKernels.length} ops) on ${plural(state.threads, 'thread')}`
  + (state.isolated ? ' (cross-origin isolated)' : ' (not cross-origin isolated: one thread)');
status.dataset.state = 'ready';

// Kernel threads: the workers for every core started when parcnet loaded, so any count up to that
// is a setNumThreads away; startThreads also waits for them, should a worker still be starting.
const threadSelect = $<HTMLSelectElement>('threads');
threadSelect.replaceChildren(...Array.from({ length: state.maxThreads }, (_, i) => new Option(String(i + 1), String(i + 1), false, i + 1 === state.threads)));
threadSelect.disabled = state.maxThreads === 1;
threadSelect.addEventListener('change', () => void run(async () => {
  await startThreads(Number(threadSelect.value));
  state.threads = getNumThreads();
}));

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
    state.heap = wasmHeapStats();
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
  $('classify-time').textContent = `${current.name}: forward in ${result.milliseconds.toFixed(1)} ms on ${plural(state.threads, 'thread')}; ${wasmCalls} of ${allCalls} kernel calls in WASM`;
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

const MiB = 2 ** 20;
const formatMiB = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

// Each scope has its own sensible learning rate; picking a scope puts it in the field.
const scopeSelect = $<HTMLSelectElement>('train-scope');
scopeSelect.addEventListener('change', () => {
  $<HTMLInputElement>('lr').value = String(defaultLearningRate[scopeSelect.value as FineTuneScope]);
});

$('train').addEventListener('click', () => void run(async () => {
  if (!loaded) throw new Error('Load weights first');
  const steps = Number($<HTMLInputElement>('steps').value);
  const lr = Number($<HTMLInputElement>('lr').value);
  const scope = scopeSelect.value as FineTuneScope;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Steps must be a positive integer, got ${$<HTMLInputElement>('steps').value}`);
  if (!(lr > 0)) throw new Error(`The learning rate must be positive, got ${$<HTMLInputElement>('lr').value}`);
  const what = scope === 'network' ? 'the whole network' : 'the classifier head';
  const record = { scope, threads: state.threads, images: training.length, lr, points: [] as FineTuneStep[] };
  state.fineTune = record;
  state.losses = [];
  const started = performance.now();
  await fineTune(loaded, training, { steps, lr, scope }, async (point) => {
    record.points.push(point);
    state.losses.push(point.loss);
    drawCurve(state.losses, steps);
    $('train-log').textContent = `step ${point.step}/${steps}: loss ${point.loss.toFixed(4)} on ${plural(training.length, 'image')}, ${what}`;
    $('train-memory').textContent = `wasm heap ${formatMiB(point.heapBytes)} (high-water), ${formatMiB(point.peakLiveBytes)} live at the step's peak`;
    // Yield so the curve is painted as it grows.
    await new Promise((resolve) => requestAnimationFrame(resolve));
  });
  const seconds = (performance.now() - started) / 1000;
  const peak = Math.max(...record.points.map((p) => p.peakLiveBytes));
  $('train-log').textContent = `loss ${state.losses[0].toFixed(4)} → ${state.losses.at(-1)!.toFixed(4)} in ${plural(steps, 'step')} of ${what} `
    + `on ${plural(training.length, 'image')} (${seconds.toFixed(1)} s on ${plural(record.threads, 'thread')})`;
  $('train-memory').textContent = `wasm heap ${formatMiB(record.points.at(-1)!.heapBytes)} (high-water since the page loaded), `
    + `${formatMiB(peak)} live at a step's peak, given back when the step ends`;
  if (current) classifyCurrent();
}));

void run(async () => {
  await loadSamples();
  const weights = new URLSearchParams(location.search).get('weights');
  if (weights) useWeights(await fetchBytes(weights), weights);
});
