// ParC-Net-XS (CIFAR stem, batch 16, 32×32, eval forward) in Chromium against the same in Node, in
// one run: the demo page is built and served, and the page and Node take turns (interleaved rounds,
// never at the same time) running the same benchForward from examples/browser/src/demo.ts. The
// cross-origin isolated page runs 2 threads (Node too); the page served without isolation runs 1
// (so does Node for that line). Also reports the page's load time (navigation → kernels ready).
// Run: npx tsx benchmarks/browser.bench.ts [rounds]
import type { Page } from 'playwright-core';
import { setNumThreads } from 'parcnet';
import { benchForward } from '../examples/browser/src/demo';
import { buildDemo, launchChromium, openDemo, serve } from '../examples/browser/harness';

const batch = 16;
const rounds = Number(process.argv[2] ?? 5);
const forwardsPerRound = 5;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

type Result = ReturnType<typeof benchForward>;
const inPage = (page: Page): Promise<Result> =>
  page.evaluate(([b, n]) => (window as unknown as { parcnetDemo: { benchForward: typeof benchForward } }).parcnetDemo.benchForward(b, n), [batch, forwardsPerRound] as const);

const demo = await buildDemo();
const browser = await launchChromium();
try {
  for (const isolated of [true, false]) {
    const server = await serve(demo.dir, isolated);
    const opened = performance.now();
    const { page } = await openDemo(browser, server.url);
    const openMs = performance.now() - opened;
    const loadMs = await page.evaluate(() => (window as unknown as { parcnetDemo: { loadMilliseconds: number } }).parcnetDemo.loadMilliseconds);
    const browserRuns: Result[] = [];
    const nodeRuns: Result[] = [];
    for (let r = 0; r < rounds; r++) {
      browserRuns.push(await inPage(page));
      setNumThreads(browserRuns[0].threads);
      nodeRuns.push(benchForward(batch, forwardsPerRound));
    }
    const chromium = median(browserRuns.map((b) => b.imagesPerSecond));
    const node = median(nodeRuns.map((n) => n.imagesPerSecond));
    const threads = browserRuns[0].threads;
    console.log(`${isolated ? 'cross-origin isolated' : 'not isolated'} page: ready ${loadMs.toFixed(0)} ms after navigation (${openMs.toFixed(0)} ms until the demo settled, samples decoded)`);
    console.log(`  Chromium ${chromium.toFixed(1).padStart(6)} images/s   Node ${node.toFixed(1).padStart(6)} images/s   (${threads} thread${threads === 1 ? '' : 's'}, WASM ${browserRuns[0].wasm && nodeRuns[0].wasm ? 'on' : 'OFF'} in both)`);
    console.log(`  browser / Node: ${(chromium / node).toFixed(2)}×`);
    await page.close();
    await server.close();
  }
} finally {
  await browser.close();
  demo.remove();
}
