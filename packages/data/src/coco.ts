import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '@parcnet/tensor';

/** An entry of an instances file's "images" list. */
export interface CocoImage {
  /** Image id, referred to by annotations' `image_id`. */
  id: number;
  /** File name inside the split's image folder, e.g. '000000391895.jpg'. */
  file_name: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}
/** An entry of an instances file's "categories" list. */
export interface CocoCategory {
  /** Category id, referred to by annotations' `category_id` (COCO's ids run 1…90 with gaps). */
  id: number;
  /** Category name, e.g. 'person'. */
  name: string;
  /** Parent group name, e.g. 'vehicle'. */
  supercategory?: string;
}
/** An entry of an instances file's "annotations" list: one object instance. */
export interface CocoAnnotation {
  /** Annotation id. */
  id: number;
  /** Id of the {@link CocoImage} the object is in. */
  image_id: number;
  /** Id of the object's {@link CocoCategory}. */
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: [number, number, number, number];
  /** Area of the object's mask in square pixels (COCO's small / medium / large split uses it). */
  area: number;
  /** 1 for a crowd region (an ignore region for COCO's metrics; detection training drops it, segmentation masks it as 255), else 0. */
  iscrowd: 0 | 1;
  /** Polygons [[x0, y0, x1, y1, …], …], or run-length encoding for crowds. */
  segmentation?: number[][] | {
    /** Run lengths, alternately background and object, column-major; a string when compressed. */
    counts: number[] | string;
    /** [height, width] of the mask in pixels. */
    size: [number, number];
  };
}
/** The parts of a COCO instances file (annotations/instances_*.json) that detection and segmentation use. */
export interface CocoInstances {
  /** The "images" list. */
  images: CocoImage[];
  /** The "annotations" list, each referring to an image and a category. */
  annotations: CocoAnnotation[];
  /** The "categories" list. */
  categories: CocoCategory[];
}

/** Boxes may overhang the image by rounding in the official files; more than this is an error. */
const BOX_SLACK = 1;

/** Reads and checks a COCO instances JSON file (see {@link parseCocoInstances}). */
export function loadCocoInstances(file: string): CocoInstances {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FormatError(`${file}: not readable JSON (${(e as Error).message})`);
  }
  return parseCocoInstances(json, file);
}

/** Checks a parsed instances object; errors name the file and the image or annotation id. */
export function parseCocoInstances(json: unknown, file = '<json>'): CocoInstances {
  const root = json as Partial<CocoInstances> | null;
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!root || !Array.isArray(root[key])) throw new FormatError(`${file}: missing the "${key}" list`);
  }
  const { images, annotations, categories } = root as CocoInstances;
  const imageById = new Map<number, CocoImage>();
  for (const image of images) {
    for (const key of ['id', 'width', 'height'] as const) {
      if (typeof image[key] !== 'number') throw new FormatError(`${file}: image ${JSON.stringify(image.id)} has no numeric "${key}"`);
    }
    if (typeof image.file_name !== 'string') throw new FormatError(`${file}: image ${image.id} has no "file_name"`);
    imageById.set(image.id, image);
  }
  const categoryIds = new Set<number>();
  for (const category of categories) {
    if (typeof category.id !== 'number' || typeof category.name !== 'string') throw new FormatError(`${file}: category ${JSON.stringify(category)} needs a numeric id and a name`);
    categoryIds.add(category.id);
  }
  for (const a of annotations) {
    const at = `${file}: annotation ${JSON.stringify(a.id)}`;
    for (const key of ['id', 'image_id', 'category_id'] as const) {
      if (typeof a[key] !== 'number') throw new FormatError(`${at} has no numeric "${key}"`);
    }
    const image = imageById.get(a.image_id);
    if (!image) throw new FormatError(`${at} refers to image ${a.image_id}, which is not in "images"`);
    if (!categoryIds.has(a.category_id)) throw new FormatError(`${at} has category ${a.category_id}, which is not in "categories"`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new FormatError(`${at} has bbox ${JSON.stringify(a.bbox)}, expected [x, y, width, height]`);
    }
    const [x, y, w, h] = a.bbox;
    if (w < 0 || h < 0 || x < -BOX_SLACK || y < -BOX_SLACK || x + w > image.width + BOX_SLACK || y + h > image.height + BOX_SLACK) {
      throw new FormatError(`${at}: bbox [${a.bbox.join(', ')}] lies outside image ${image.id} (${image.width}×${image.height})`);
    }
    if (a.iscrowd !== 0 && a.iscrowd !== 1) throw new FormatError(`${at} has iscrowd ${JSON.stringify(a.iscrowd)}, expected 0 or 1`);
  }
  return { images, annotations, categories };
}

/**
 * Where a split of a COCO-format folder lives: `<root>/annotations/instances_<split>.json` and
 * `<root>/<split>/`; root null = $PARCNET_DATA/coco-tiny. Errors start with `who` (the caller).
 */
export function cocoSplitFiles(root: string | null, split: string, who: string): {
  /** `<root>/annotations/instances_<split>.json`, checked to exist. */
  annotationFile: string;
  /** `<root>/<split>/`, the images (not checked). */
  imagesDir: string;
} {
  const folder = root ?? (process.env.PARCNET_DATA ? join(process.env.PARCNET_DATA, 'coco-tiny') : null);
  if (!folder) throw new FormatError(`${who}: no data folder; set dataset.data in the config or PARCNET_DATA to a folder holding coco-tiny/`);
  const annotationFile = join(folder, 'annotations', `instances_${split}.json`);
  if (!existsSync(annotationFile)) throw new FormatError(`${who}: ${annotationFile}: no such annotation file for split ${split}`);
  return { annotationFile, imagesDir: join(folder, split) };
}
