import { Resvg } from '@resvg/resvg-js';
import { encodePng, type RgbImage } from '@parcnet/data';

/**
 * Pictures of predictions: the image as a PNG inside an SVG, with boxes and labels (or a legend)
 * drawn as SVG and rendered by resvg with the system fonts, so labels need no font code of ours.
 */

/** A colour per class index, spread around the hue circle (golden angle), fixed for a class. */
export function classColor(index: number): [number, number, number] {
  const hue = (index * 137.508) % 360;
  const f = (n: number): number => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

const css = (c: [number, number, number]): string => `rgb(${c[0]},${c[1]},${c[2]})`;
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function render(image: RgbImage, overlay: string, extraHeight = 0): Uint8Array {
  const png = Buffer.from(encodePng(image)).toString('base64');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height + extraHeight}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<image href="data:image/png;base64,${png}" width="${image.width}" height="${image.height}"/>${overlay}</svg>`;
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/** The image with one box and "label score" tag per detection (boxes in pixels, corner form). */
export function drawDetections(image: RgbImage, detections: { box: [number, number, number, number]; label: number; score: number }[], classes: readonly string[]): Uint8Array {
  const font = Math.max(11, Math.round(Math.min(image.width, image.height) / 36));
  const parts = detections.map((d) => {
    const [x0, y0, x1, y1] = d.box;
    const color = css(classColor(d.label));
    const text = `${escape(classes[d.label] ?? String(d.label))} ${d.score.toFixed(2)}`;
    const tagWidth = text.length * font * 0.6 + 6;
    const tagY = y0 >= font + 4 ? y0 - font - 4 : y0;
    return (
      `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="${color}" stroke-width="${Math.max(2, font / 6)}"/>` +
      `<rect x="${x0}" y="${tagY}" width="${tagWidth}" height="${font + 4}" fill="${color}"/>` +
      `<text x="${x0 + 3}" y="${tagY + font}" font-size="${font}" font-family="DejaVu Sans, sans-serif" fill="white">${text}</text>`
    );
  });
  return render(image, parts.join(''));
}

/**
 * The image with each pixel's class coloured over it (background and ignored pixels left clear,
 * 55 % opacity elsewhere) and a legend of the classes present under it.
 */
export function drawSegmentation(image: RgbImage, classMap: Uint8Array | Int32Array, classes: readonly string[]): Uint8Array {
  const plane = image.height * image.width;
  const data = Uint8Array.from(image.data);
  const present = new Map<number, number>();
  for (let p = 0; p < plane; p++) {
    const c = classMap[p];
    if (c === 0 || c >= classes.length) continue;
    present.set(c, (present.get(c) ?? 0) + 1);
    const color = classColor(c);
    for (let k = 0; k < 3; k++) data[k * plane + p] = Math.round(0.45 * data[k * plane + p] + 0.55 * color[k]);
  }
  const font = 13;
  const ranked = [...present.entries()].sort((a, b) => b[1] - a[1]);
  const perRow = Math.max(1, Math.floor(image.width / 150));
  const rows = Math.ceil(ranked.length / perRow);
  const legend = ranked.map(([c, count], i) => {
    const x = 6 + (i % perRow) * 150;
    const y = image.height + 6 + Math.floor(i / perRow) * (font + 8);
    const share = ((100 * count) / plane).toFixed(0);
    return `<rect x="${x}" y="${y}" width="${font}" height="${font}" fill="${css(classColor(c))}"/>` +
      `<text x="${x + font + 4}" y="${y + font - 2}" font-size="${font}" font-family="DejaVu Sans, sans-serif" fill="black">${escape(classes[c])} ${share}%</text>`;
  });
  return render({ ...image, data }, legend.join(''), rows > 0 ? rows * (font + 8) + 8 : 0);
}
