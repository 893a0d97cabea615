import { FormatError } from '@parcnet/tensor';

/** One detection in COCO's results format. */
export interface CocoDetection {
  /** Id of the image in the ground truth. */
  image_id: number;
  /** COCO category id (not the model's class index). */
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: [number, number, number, number];
  /** Confidence; detections are ranked by it. */
  score: number;
}

/**
 * The twelve numbers COCOeval.summarize prints for boxes, less the per-size recalls; each is in
 * [0, 1], or −1 when there is nothing to measure.
 */
export interface CocoMetrics {
  /** AP averaged over IoU 0.50:0.05:0.95, all areas, 100 detections per image (`stats[0]`). */
  AP: number;
  /** AP at IoU 0.50, all areas, 100 detections (`stats[1]`). */
  AP50: number;
  /** AP at IoU 0.75, all areas, 100 detections (`stats[2]`). */
  AP75: number;
  /** AP of small objects, area in [0, 32²] (`stats[3]`). */
  APs: number;
  /** AP of medium objects, area in [32², 96²] (`stats[4]`). */
  APm: number;
  /** AP of large objects, area ≥ 96² (`stats[5]`). */
  APl: number;
  /** Recall with 1 detection per image, averaged over IoU 0.50:0.95 and the categories, all areas (`stats[6]`). */
  AR1: number;
  /** Recall with 10 detections per image (`stats[7]`). */
  AR10: number;
  /** Recall with 100 detections per image (`stats[8]`). */
  AR100: number;
}

/** numpy.linspace(start, stop, num), value for value (pycocotools builds its thresholds with it). */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
const RECALL_THRESHOLDS = linspace(0, 1, 101);
const MAX_DETS = [1, 10, 100];
const AREA_RANGES: [number, number][] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];

interface Box { id: number; bbox: number[]; area: number; crowd: boolean; ignore: boolean; score: number }

/** IoU of a detection with a ground-truth box; against a crowd region it is intersection / detection area. */
function iou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[0] + d[2], g[0] + g[2]) - Math.max(d[0], g[0]);
  const h = Math.min(d[1] + d[3], g[1] + g[3]) - Math.max(d[1], g[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = crowd ? d[2] * d[3] : d[2] * d[3] + g[2] * g[3] - inter;
  return union > 0 ? inter / union : 0;
}

interface ImageResult {
  dtScores: number[];
  /** [threshold][detection]: matched (to a ground truth) or not. */
  dtMatched: boolean[][];
  dtIgnore: boolean[][];
  gtIgnore: boolean[];
}

/** COCOeval.evaluateImg for one image, category and area range, keeping the best maxDets[-1] detections. */
function evaluateImage(gts: Box[], dts: Box[], range: [number, number], maxDet: number): ImageResult | null {
  if (gts.length === 0 && dts.length === 0) return null;
  const outside = (area: number): boolean => area < range[0] || area > range[1];
  // Ground truths to ignore (crowds, or outside the area range) go last, in a stable order.
  const gt = gts.map((g) => ({ ...g, ignored: g.ignore || outside(g.area) })).sort((a, b) => Number(a.ignored) - Number(b.ignored));
  const dt = [...dts].sort((a, b) => b.score - a.score).slice(0, maxDet);
  const ious = dt.map((d) => gt.map((g) => iou(d.bbox, g.bbox, g.crowd)));
  const dtMatched = IOU_THRESHOLDS.map(() => dt.map(() => false));
  const dtIgnore = IOU_THRESHOLDS.map(() => dt.map(() => false));
  IOU_THRESHOLDS.forEach((threshold, t) => {
    const gtMatched = gt.map(() => false);
    dt.forEach((_, di) => {
      let best = Math.min(threshold, 1 - 1e-10);
      let m = -1;
      for (let gi = 0; gi < gt.length; gi++) {
        // A ground truth matches once, except a crowd region, which absorbs any number of detections.
        if (gtMatched[gi] && !gt[gi].crowd) continue;
        // Once matched to a real ground truth, do not move on to the ignored ones (they sort last).
        if (m > -1 && !gt[m].ignored && gt[gi].ignored) break;
        if (ious[di][gi] < best) continue;
        best = ious[di][gi];
        m = gi;
      }
      if (m === -1) return;
      dtIgnore[t][di] = gt[m].ignored;
      dtMatched[t][di] = true;
      gtMatched[m] = true;
    });
    // Unmatched detections outside the area range are ignored as well.
    dt.forEach((d, di) => {
      if (!dtMatched[t][di] && outside(d.area)) dtIgnore[t][di] = true;
    });
  });
  return { dtScores: dt.map((d) => d.score), dtMatched, dtIgnore, gtIgnore: gt.map((g) => g.ignored) };
}

/**
 * The ground truth as pycocotools' COCO and COCOeval read it for box evaluation. Required: the
 * `images`, `annotations` and `categories` lists; an image's `id`; a category's `id`; an
 * annotation's `id`, `image_id`, `category_id` and `bbox`. Everything else is optional: an image's
 * `file_name`, `width` and `height` (COCOeval reads them only to rasterise masks for 'segm'), a
 * category's `name`, an annotation's `segmentation` (read only for 'segm'), `iscrowd` and `area`.
 */
export interface CocoGroundTruth {
  /** The images evaluated; only `id` is read. */
  images: {
    /** Image id, referred to by annotations' and detections' `image_id`. */
    id: number;
  }[];
  /** The categories evaluated; only `id` is read. */
  categories: {
    /** Category id, referred to by annotations' and detections' `category_id`. */
    id: number;
  }[];
  /** The objects. */
  annotations: {
    /** Annotation id. */
    id: number;
    /** Id of an image in `images`. */
    image_id: number;
    /** Id of a category in `categories`. */
    category_id: number;
    /** [x, y, width, height] in pixels. */
    bbox: [number, number, number, number];
    /** 1 for a crowd region; absent = 0. */
    iscrowd?: 0 | 1;
    /** Area in square pixels, which decides small / medium / large; absent = the box's width · height. */
    area?: number;
  }[];
}

/** Checks the ground truth and fills in the optional fields; errors name the image or annotation. */
function readGroundTruth(json: unknown): { imageIds: number[]; categoryIds: number[]; boxes: (Box & { imageId: number; categoryId: number })[] } {
  const where = 'cocoEval ground truth';
  const root = json as Partial<Record<'images' | 'annotations' | 'categories', unknown>> | null;
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!root || !Array.isArray(root[key])) throw new FormatError(`${where}: missing the "${key}" list`);
  }
  const { images, annotations, categories } = root as Record<'images' | 'annotations' | 'categories', Record<string, unknown>[]>;
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  for (const image of images) if (!isNumber(image?.id)) throw new FormatError(`${where}: image ${JSON.stringify(image)} has no numeric "id"`);
  for (const category of categories) if (!isNumber(category?.id)) throw new FormatError(`${where}: category ${JSON.stringify(category)} has no numeric "id"`);
  const imageIds = [...new Set(images.map((i) => i.id as number))].sort((a, b) => a - b);
  const categoryIds = [...new Set(categories.map((c) => c.id as number))].sort((a, b) => a - b);
  const knownImages = new Set(imageIds);
  const knownCategories = new Set(categoryIds);
  const boxes = annotations.map((a) => {
    const at = `${where}: annotation ${JSON.stringify(a?.id)}`;
    for (const key of ['id', 'image_id', 'category_id'] as const) if (!isNumber(a?.[key])) throw new FormatError(`${at} has no numeric "${key}"`);
    const imageId = a.image_id as number;
    const categoryId = a.category_id as number;
    // pycocotools would silently skip these; a reference to nothing is a broken file, so say so.
    if (!knownImages.has(imageId)) throw new FormatError(`${at} refers to image ${imageId}, which is not in "images"`);
    if (!knownCategories.has(categoryId)) throw new FormatError(`${at} has category ${categoryId}, which is not in "categories"`);
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isNumber)) throw new FormatError(`${at} has bbox ${JSON.stringify(bbox)}, expected [x, y, width, height]`);
    // COCOeval._prepare sets ignore = ('iscrowd' in gt and gt['iscrowd']), so an absent iscrowd is
    // not a crowd; its computeIoU then reads gt['iscrowd'] (a KeyError there), where we take 0.
    // An annotation's own `ignore` field is overwritten by that line, so it is not read here either.
    const iscrowd = a.iscrowd ?? 0;
    if (iscrowd !== 0 && iscrowd !== 1) throw new FormatError(`${at} has iscrowd ${JSON.stringify(iscrowd)}, expected 0 or 1`);
    // COCOeval.evaluateImg reads g['area'] for the area ranges (a KeyError in pycocotools when it
    // is absent); for a box without one we take width · height, what COCO.loadRes computes for a
    // box result. (COCO's own `area` is the mask's, usually smaller than the box's.)
    const area = a.area ?? bbox[2] * bbox[3];
    if (!isNumber(area)) throw new FormatError(`${at} has area ${JSON.stringify(a.area)}, expected a number`);
    const crowd = iscrowd === 1;
    return { id: a.id as number, imageId, categoryId, bbox: bbox as number[], area, crowd, ignore: crowd, score: 0 };
  });
  return { imageIds, categoryIds, boxes };
}

/**
 * COCOeval for boxes ('bbox'), with pycocotools' semantics: IoU thresholds .50:.05:.95, 101-point
 * interpolated precision, area ranges all/small/medium/large (by the annotation's `area`), crowd
 * regions matched by intersection over the detection's area and then ignored, up to 1/10/100
 * detections per image. Every image and category of the ground truth is evaluated; a metric with
 * nothing to measure is −1, as pycocotools reports it. The ground truth is read as pycocotools
 * reads it ({@link CocoGroundTruth}: images need only an `id`, annotations no `segmentation`), with
 * `iscrowd` absent taken as 0 and `area` absent as the box's area.
 */
export function cocoEval(groundTruthJson: unknown, detections: readonly CocoDetection[]): CocoMetrics {
  const gt = readGroundTruth(groundTruthJson);
  const { imageIds, categoryIds } = gt;
  const key = (image: number, category: number): string => `${image}/${category}`;
  const gtBoxes = new Map<string, Box[]>();
  const dtBoxes = new Map<string, Box[]>();
  const push = (map: Map<string, Box[]>, k: string, box: Box): void => {
    const list = map.get(k);
    if (list) list.push(box);
    else map.set(k, [box]);
  };
  gt.boxes.forEach(({ imageId, categoryId, ...box }) => push(gtBoxes, key(imageId, categoryId), box));
  const knownImages = new Set(imageIds);
  detections.forEach((d, i) => {
    if (!knownImages.has(d.image_id)) throw new FormatError(`cocoEval: detection ${i} is for image ${d.image_id}, which the ground truth does not have`);
    if (!Array.isArray(d.bbox) || d.bbox.length !== 4 || typeof d.score !== 'number') throw new FormatError(`cocoEval: detection ${i} needs bbox [x, y, w, h] and a score`);
    push(dtBoxes, key(d.image_id, d.category_id), { id: i + 1, bbox: d.bbox, area: d.bbox[2] * d.bbox[3], crowd: false, ignore: false, score: d.score });
  });

  // precision[t][r][k][a][m] and recall[t][k][a][m], −1 where a category has no ground truth.
  const T = IOU_THRESHOLDS.length;
  const precision = new Map<string, number[]>(); // key t/k/a/m → 101 values
  const recall = new Map<string, number>();
  categoryIds.forEach((category, k) => {
    AREA_RANGES.forEach((range, a) => {
      const perImage = imageIds.map((image) => evaluateImage(gtBoxes.get(key(image, category)) ?? [], dtBoxes.get(key(image, category)) ?? [], range, MAX_DETS[MAX_DETS.length - 1]));
      MAX_DETS.forEach((maxDet, m) => {
        const results = perImage.filter((r): r is ImageResult => r !== null);
        const scores: number[] = [];
        const matched: boolean[][] = IOU_THRESHOLDS.map(() => []);
        const ignored: boolean[][] = IOU_THRESHOLDS.map(() => []);
        let positives = 0;
        for (const r of results) {
          const n = Math.min(maxDet, r.dtScores.length);
          scores.push(...r.dtScores.slice(0, n));
          for (let t = 0; t < T; t++) {
            matched[t].push(...r.dtMatched[t].slice(0, n));
            ignored[t].push(...r.dtIgnore[t].slice(0, n));
          }
          positives += r.gtIgnore.filter((g) => !g).length;
        }
        if (positives === 0) return;
        // All detections of the category, best score first (a stable sort, like numpy's mergesort).
        const order = scores.map((_, i) => i).sort((i, j) => scores[j] - scores[i]);
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          const rc: number[] = [];
          const pr: number[] = [];
          for (const i of order) {
            if (ignored[t][i]) continue;
            if (matched[t][i]) tp++;
            else fp++;
            rc.push(tp / positives);
            pr.push(tp / (tp + fp + Number.EPSILON));
          }
          recall.set(`${t}/${k}/${a}/${m}`, rc.length > 0 ? rc[rc.length - 1] : 0);
          for (let i = pr.length - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          const q = RECALL_THRESHOLDS.map((threshold) => {
            // The first recall ≥ threshold (numpy searchsorted, side 'left').
            let lo = 0;
            let hi = rc.length;
            while (lo < hi) {
              const mid = (lo + hi) >> 1;
              if (rc[mid] < threshold) lo = mid + 1;
              else hi = mid;
            }
            return lo < pr.length ? pr[lo] : 0;
          });
          precision.set(`${t}/${k}/${a}/${m}`, q);
        }
      });
    });
  });

  const average = (values: number[]): number => (values.length === 0 ? -1 : values.reduce((s, v) => s + v, 0) / values.length);
  const ap = (threshold: number | null, area: number, maxDet: number): number => {
    const m = MAX_DETS.indexOf(maxDet);
    const values: number[] = [];
    for (let t = 0; t < T; t++) {
      if (threshold !== null && Math.abs(IOU_THRESHOLDS[t] - threshold) > 1e-9) continue;
      categoryIds.forEach((_, k) => values.push(...(precision.get(`${t}/${k}/${area}/${m}`) ?? [])));
    }
    return average(values);
  };
  const ar = (area: number, maxDet: number): number => {
    const m = MAX_DETS.indexOf(maxDet);
    const values: number[] = [];
    for (let t = 0; t < T; t++) categoryIds.forEach((_, k) => {
      const v = recall.get(`${t}/${k}/${area}/${m}`);
      if (v !== undefined) values.push(v);
    });
    return average(values);
  };
  return {
    AP: ap(null, 0, 100),
    AP50: ap(0.5, 0, 100),
    AP75: ap(0.75, 0, 100),
    APs: ap(null, 1, 100),
    APm: ap(null, 2, 100),
    APl: ap(null, 3, 100),
    AR1: ar(0, 1),
    AR10: ar(0, 10),
    AR100: ar(0, 100),
  };
}
