import { FormatError } from '@parcnet/tensor';
import { IGNORE_INDEX } from './masks.js';

/** A confusion matrix [classes × classes] (rows: truth, columns: prediction) accumulated over images. */
export class ConfusionMatrix {
  /** Pixel counts, row-major: `counts[truth * numClasses + prediction]`. */
  readonly counts: Float64Array;

  /** An empty matrix for classes 0 … numClasses − 1. */
  constructor(
    /** Number of classes, background included. */
    readonly numClasses: number,
  ) {
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Adds one image: `truth` may hold IGNORE_INDEX (skipped); predictions must be class indices. */
  add(truth: ArrayLike<number>, prediction: ArrayLike<number>): void {
    if (truth.length !== prediction.length) throw new FormatError(`ConfusionMatrix.add: ${truth.length} labels and ${prediction.length} predictions`);
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i];
      if (t === IGNORE_INDEX) continue;
      const p = prediction[i];
      if (t < 0 || t >= this.numClasses || p < 0 || p >= this.numClasses) throw new FormatError(`ConfusionMatrix.add: label ${t} or prediction ${p} outside [0, ${this.numClasses})`);
      this.counts[t * this.numClasses + p]++;
    }
  }

  /**
   * mIoU and mAcc average over the classes present in the truth (mmseg's rule: classes never seen
   * are left out); aAcc is pixel accuracy over all counted pixels.
   */
  metrics(): {
    /** Mean IoU, TP / (TP + FP + FN), over the classes present in the truth, in [0, 1]; 0 when none is. */
    mIoU: number;
    /** Mean per-class accuracy, TP / (TP + FN), over the classes present in the truth, in [0, 1]; 0 when none is. */
    mAcc: number;
    /** Pixel accuracy: correct pixels / counted pixels, in [0, 1]. */
    aAcc: number;
    /** IoU per class; NaN for classes absent from the truth. */
    iou: number[];
  } {
    const k = this.numClasses;
    const iou: number[] = [];
    const acc: number[] = [];
    let correct = 0;
    let total = 0;
    for (let c = 0; c < k; c++) {
      let row = 0;
      let column = 0;
      for (let j = 0; j < k; j++) {
        row += this.counts[c * k + j];
        column += this.counts[j * k + c];
      }
      const hit = this.counts[c * k + c];
      correct += hit;
      total += row;
      iou.push(row > 0 ? hit / (row + column - hit) : Number.NaN);
      if (row > 0) acc.push(hit / row);
    }
    const present = iou.filter((v) => !Number.isNaN(v));
    const mean = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
    return { mIoU: mean(present), mAcc: mean(acc), aAcc: total > 0 ? correct / total : 0, iou };
  }
}
