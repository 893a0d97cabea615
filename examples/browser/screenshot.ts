// Makes docs/browser-demo.png: the demo page after loading a weights file, fine-tuning the whole
// network for a few steps and classifying an image.
//   npx tsx examples/browser/screenshot.ts <weights.safetensors> [image] [steps]
import { fileURLToPath } from 'node:url';
import { buildDemo, launchChromium, openDemo, serve, settled } from './harness';

const [weights, image = fileURLToPath(new URL('../cifar10/sample/test/cat/0002.jpg', import.meta.url)), steps = '20'] = process.argv.slice(2);
if (!weights) throw new Error('usage: npx tsx examples/browser/screenshot.ts <weights.safetensors> [image] [steps]');
const out = fileURLToPath(new URL('../../docs/browser-demo.png', import.meta.url));

const demo = await buildDemo();
const server = await serve(demo.dir, true);
const browser = await launchChromium();
try {
  const { page } = await openDemo(browser, server.url);
  await page.setViewportSize({ width: 960, height: 1100 });
  await page.setInputFiles('#weights-file', weights);
  await settled(page);
  await page.fill('#steps', steps);
  await page.click('#train');
  await page.waitForFunction((n) => (window as unknown as { parcnetDemo: { losses: number[] } }).parcnetDemo.losses.length === n + 1, Number(steps), { timeout: 300_000 });
  await settled(page);
  await page.setInputFiles('#image-file', image);
  await page.waitForFunction(() => (window as unknown as { parcnetDemo: { lastClassification: unknown } }).parcnetDemo.lastClassification !== null);
  await settled(page);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
  demo.remove();
}
