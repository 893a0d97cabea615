import { noGrad } from '@parcnet/autograd';
import { crossEntropy, smoothL1Loss } from '@parcnet/nn';
import { add, div, formatShape, indexSelect, logSoftmax, reshape, ShapeError, tensor, type Tensor } from '@parcnet/tensor';

/** The SSD loss and its two parts, as multiboxLoss returns them. */
export interface MultiboxLoss {
  /** (localization + classification) / P, P = positive anchors in the batch. */
  loss: Tensor;
  /** Smooth-L1 (β = 1) summed over the positives' 4 box numbers; a scalar, not divided by P. */
  localization: Tensor;
  /** Cross-entropy summed over the positives and the kept negatives; a scalar, not divided by P. */
  classification: Tensor;
  /** P, the positive anchors in the batch (no guard for 0, as in the official loss). */
  positives: number;
}

/**
 * The SSD multibox loss (spec §8): hard-negative mining keeps, per image, the negPosRatio × positives
 * background anchors with the highest background loss (−log softmax[0], ranked without gradients);
 * cross-entropy summed over positives and kept negatives; Smooth-L1 (β = 1) summed over the
 * positives' 4 box numbers; both divided by the number of positives in the batch.
 *   confidences [B, N, C], locations [B, N, 4], labels [B, N] (int32, 0 = background),
 *   targets [B, N, 4] (encoded boxes).
 */
export function multiboxLoss(confidences: Tensor, locations: Tensor, labels: Tensor, targets: Tensor, negPosRatio = 3): MultiboxLoss {
  const [batch, anchors, classes] = confidences.shape;
  const expect = (t: Tensor, shape: number[], name: string): void => {
    if (formatShape(t.shape) !== formatShape(shape)) throw new ShapeError(`multiboxLoss: ${name} must be ${formatShape(shape)} for confidences ${formatShape(confidences.shape)}, got ${formatShape(t.shape)}`);
  };
  expect(locations, [batch, anchors, 4], 'locations');
  expect(labels, [batch, anchors], 'labels');
  expect(targets, [batch, anchors, 4], 'targets');
  const label = labels.toTypedArray();
  const background = noGrad(() => logSoftmax(confidences, 2).contiguous().toTypedArray());
  const kept: number[] = [];
  const positive: number[] = [];
  for (let b = 0; b < batch; b++) {
    const negatives: { index: number; loss: number }[] = [];
    let positives = 0;
    for (let n = 0; n < anchors; n++) {
      const i = b * anchors + n;
      if (label[i] > 0) {
        positives++;
        positive.push(i);
        kept.push(i);
      } else {
        negatives.push({ index: i, loss: -background[i * classes] });
      }
    }
    negatives.sort((p, q) => q.loss - p.loss || p.index - q.index);
    for (const { index } of negatives.slice(0, negPosRatio * positives)) kept.push(index);
  }
  kept.sort((p, q) => p - q);
  const flatConfidences = reshape(confidences, [batch * anchors, classes]);
  const classification = crossEntropy(indexSelect(flatConfidences, 0, kept), tensor(kept.map((i) => label[i]), { dtype: 'int32' }), { reduction: 'sum' });
  const flatLocations = reshape(locations, [batch * anchors, 4]);
  const flatTargets = reshape(targets, [batch * anchors, 4]);
  const localization = smoothL1Loss(indexSelect(flatLocations, 0, positive), indexSelect(flatTargets, 0, positive), { beta: 1, reduction: 'sum' });
  return { loss: div(add(localization, classification), positive.length), localization, classification, positives: positive.length };
}
