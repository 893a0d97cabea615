import { FormatError } from '@parcnet/tensor';
import type { CocoInstances } from '@parcnet/data';

/** The value of pixels that count for nothing (crowd regions): the loss and the metrics skip them. */
export const IGNORE_INDEX = 255;

/**
 * Fills a polygon (x0, y0, x1, y1, …, pixel coordinates) into `mask` [height × width] with `value`:
 * a pixel is inside when its centre (x + 0.5, y + 0.5) is, by the even–odd rule. (pycocotools
 * rasterises through an upsampled outline instead, so boundary pixels can differ by one.)
 */
export function fillPolygon(mask: Uint8Array, height: number, width: number, polygon: readonly number[], value: number): void {
  const n = polygon.length / 2;
  if (n < 3) return;
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    const crossings: number[] = [];
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = polygon[2 * i + 1];
      const yj = polygon[2 * j + 1];
      if ((yi > cy) !== (yj > cy)) crossings.push(polygon[2 * i] + ((cy - yi) * (polygon[2 * j] - polygon[2 * i])) / (yj - yi));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
      const to = Math.min(width - 1, Math.floor(crossings[k + 1] - 0.5));
      for (let x = from; x <= to; x++) mask[y * width + x] = value;
    }
  }
}

/**
 * COCO run-length encoding → a binary mask [height × width]. Runs alternate 0s and 1s (starting
 * with 0s) in column-major order; `counts` is a list or COCO's compressed string (6-bit chunks,
 * each run after the second a difference from the run two before).
 */
export function decodeRle(rle: { counts: number[] | string; size: [number, number] }, where = 'RLE'): Uint8Array {
  const [height, width] = rle.size;
  const counts = typeof rle.counts === 'string' ? rleCountsFromString(rle.counts) : rle.counts;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== height * width) throw new FormatError(`${where}: the runs cover ${total} pixels, the mask has ${height}×${width}`);
  const mask = new Uint8Array(height * width);
  let position = 0;
  counts.forEach((run, k) => {
    if (k % 2 === 1) {
      for (let p = position; p < position + run; p++) {
        const x = Math.floor(p / height);
        const y = p % height;
        mask[y * width + x] = 1;
      }
    }
    position += run;
  });
  return mask;
}

function rleCountsFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * The semantic mask of one COCO image: 0 background, 1…K the categories in the order of the file's
 * `categories` list, IGNORE_INDEX over crowd regions. Later annotations paint over earlier ones;
 * crowds are painted last.
 */
export function semanticMask(instances: CocoInstances, imageId: number): {
  /** Class per pixel, height × width, row-major. */
  mask: Uint8Array;
  /** The image's height in pixels, from the annotation file. */
  height: number;
  /** The image's width in pixels, from the annotation file. */
  width: number;
} {
  const image = instances.images.find((i) => i.id === imageId);
  if (!image) throw new FormatError(`semanticMask: no image ${imageId}`);
  const { height, width } = image;
  const classOf = new Map(instances.categories.map((c, i) => [c.id, i + 1]));
  const mask = new Uint8Array(height * width);
  const annotations = instances.annotations.filter((a) => a.image_id === imageId).sort((a, b) => a.iscrowd - b.iscrowd);
  for (const a of annotations) {
    const value = a.iscrowd ? IGNORE_INDEX : classOf.get(a.category_id)!;
    const seg = a.segmentation;
    if (Array.isArray(seg)) {
      for (const polygon of seg) fillPolygon(mask, height, width, polygon, value);
    } else if (seg && typeof seg === 'object') {
      if (seg.size[0] !== height || seg.size[1] !== width) throw new FormatError(`semanticMask: annotation ${a.id} has an RLE of ${seg.size.join('×')} on a ${height}×${width} image`);
      const binary = decodeRle(seg, `annotation ${a.id}`);
      for (let p = 0; p < binary.length; p++) if (binary[p]) mask[p] = value;
    }
  }
  return { mask, height, width };
}
