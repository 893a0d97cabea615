/** Options of {@link ssdAnchors}; every default is the official SSDLite one (spec §8). */
export interface AnchorOptions {
  /** Feature-map sizes per level, [height, width]; default the SSDLite sizes at 320×320. */
  featureSizes?: [number, number][];
  /** Aspect ratios per level; default [2, 3] for all but the last level, [2] there. */
  aspectRatios?: number[][];
  /** First point of the scales' linspace, relative to the image; default 0.1 (official `min_box_size`). */
  minBoxSize?: number;
  /** Last point of the scales' linspace; default 1.05 (official `max_box_size`). */
  maxBoxSize?: number;
}

/** ceil(size / os) per output stride, 1 for the global level (OS −1): 20, 10, 5, 3, 2, 1 at 320. */
export function ssdFeatureSizes(imageSize: number, outputStrides = [16, 32, 64, 128, 256, -1]): [number, number][] {
  return outputStrides.map((os) => {
    const s = os === -1 ? 1 : Math.ceil(imageSize / os);
    return [s, s];
  });
}

/**
 * SSD anchors (spec §8, the official SSDAnchorGenerator) for an `imageSize` × `imageSize` input:
 * [N, 4] as a flat Float32Array (N·4), levels in order, in normalised centre form (cx, cy, w, h),
 * clamped to [0, 1]. Level i uses min = scales[i], max = √(scales[i]·scales[i+1]) with
 * scales = linspace(0.1, 1.05, levels + 1); per cell (row-major): (min, min), (max, max), then for
 * each aspect ratio r: (min·√r, min/√r) and (min/√r, min·√r). 3232 anchors at 320.
 */
export function ssdAnchors(imageSize = 320, options: AnchorOptions = {}): Float32Array {
  const sizes = options.featureSizes ?? ssdFeatureSizes(imageSize);
  const ratios = options.aspectRatios ?? sizes.map((_, i) => (i === sizes.length - 1 ? [2] : [2, 3]));
  const minBox = options.minBoxSize ?? 0.1;
  const maxBox = options.maxBoxSize ?? 1.05;
  const levels = sizes.length;
  // numpy.linspace(min, max, levels + 1) in float64, as the official code computes them.
  const scales = Array.from({ length: levels + 1 }, (_, i) => (i === levels ? maxBox : minBox + (i * (maxBox - minBox)) / levels));
  const out: number[] = [];
  sizes.forEach(([h, w], level) => {
    const min = scales[level];
    const max = Math.sqrt(scales[level] * scales[level + 1]);
    const unique = [...new Set(ratios[level])];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const cx = (x + 0.5) / w;
        const cy = (y + 0.5) / h;
        out.push(cx, cy, min, min, cx, cy, max, max);
        for (const r of unique) {
          const s = Math.sqrt(r);
          out.push(cx, cy, min * s, min / s, cx, cy, min / s, min * s);
        }
      }
    }
  });
  return Float32Array.from(out, (v) => Math.min(1, Math.max(0, v)));
}
