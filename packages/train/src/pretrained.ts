import { FormatError, formatShape, type Tensor } from '@parcnet/tensor';
import type { Module } from '@parcnet/nn';
import { loadWeights } from './checkpoint.js';

/** What {@link loadPretrained} did, key by key (the model's keys, or the file's for `skipped`). */
export interface PretrainedReport {
  /** The model's structural keys that received a tensor from the file. */
  loaded: string[];
  /** The file's keys left out: outside the backbone (a classifier's `conv_1x1_exp` and `classifier`), or a classifier head of another number of classes. */
  skipped: string[];
  /** Keys of the part loaded (the backbone, or the whole classifier) the file lacks; they keep their initialisation. */
  missing: string[];
  /** One line for the run's output: the file and the three counts. */
  summary: string;
}

/**
 * The keys of a classifier's head: the entries of its last layer with parameters (ParC-Net's
 * `classifier.fc`, ResNet's `fc`), the layer whose shape follows the number of classes.
 */
function headKeys(model: Module): Set<string> {
  const layers = model.namedModules().filter(([, m]) => m.children().length === 0 && m.parameters().length > 0);
  const [name, head] = layers[layers.length - 1];
  return new Set(Object.keys(head.stateDict()).map((k) => `${name}.${k}`));
}

/**
 * The parameters a pretrained file initialises and `freeze_backbone_epochs` holds still: those of
 * the child `backbone` (a detector's or segmenter's `encoder`), or with `backbone` null every
 * parameter of a classifier but its head's (the last layer with parameters).
 */
export function backboneParameters(model: Module, backbone: string | null): Tensor[] {
  if (backbone !== null) {
    const found = model.namedModules().find(([name]) => name === backbone);
    if (!found) throw new FormatError(`backboneParameters: ${model.constructor.name} has no child "${backbone}"`);
    return found[1].parameters();
  }
  const head = headKeys(model);
  return model.namedParameters().filter(([k]) => !head.has(k)).map(([, t]) => t);
}

/**
 * Starts `model` from a pretrained weights file: a PyTorch `.pt` (the official
 * `checkpoint_ema_avg.pt` layout, possibly under `state_dict` or `model`), or a weights file or
 * training checkpoint of `parcnet train` (read by {@link loadWeights}).
 *
 * With `backbone` (the child holding a detector's or segmenter's ParC-Net, `encoder`), the file's
 * keys are taken as the backbone's: `layer_3.0.…` (a classifier's) or `encoder.layer_3.0.…` (a
 * detector's) loads into `encoder.layer_3.0.…`; keys the backbone does not have (the classifier's
 * `conv_1x1_exp` and `classifier`, another model's heads) are skipped. Without it (a classifier),
 * every key loads except a head whose shape differs (another number of classes), which is skipped.
 * The `residual.*` aliases of the official layout are accepted as loadStateDict accepts them.
 *
 * Any other shape mismatch, or a file of which nothing fits, is refused with a FormatError naming
 * the key and both shapes, before anything is written: the model is loaded whole or not at all.
 */
export async function loadPretrained(model: Module, file: string, options: {
  /** The child that takes the file's weights (`encoder`); null or absent = the whole model, a classifier. */
  backbone?: string | null;
} = {}): Promise<PretrainedReport> {
  const backbone = options.backbone ?? null;
  const { state } = await loadWeights(file);
  const prefix = backbone === null ? '' : `${backbone}.`;
  const structural = new Map(Object.entries(model.stateDict({ aliases: false })).filter(([k]) => k.startsWith(prefix)));
  const withAliases = Object.entries(model.stateDict()).filter(([k]) => k.startsWith(prefix));
  // An alias key (`encoder.residual.…`) shares its tensor with a structural one (`encoder.layer_5.0.…`).
  const byStorage = new Map<unknown, string>();
  for (const [k, t] of structural) byStorage.set(t.storage, k);
  const aliasTwin = new Map<string, string>();
  for (const [k, t] of withAliases) if (!structural.has(k)) aliasTwin.set(k, byStorage.get(t.storage)!);
  const head = backbone === null ? headKeys(model) : new Set<string>();

  const stripped = Object.keys(state).every((k) => k.startsWith('module.')); // DataParallel checkpoints
  const selected: Record<string, Tensor> = {};
  const skipped: string[] = [];
  const filled = new Set<string>();
  for (const [rawKey, value] of Object.entries(state)) {
    const key = stripped ? rawKey.slice('module.'.length) : rawKey;
    const target = key.startsWith(prefix) ? key : prefix + key;
    const twin = aliasTwin.get(target);
    const structuralKey = twin ?? target;
    const expected = structural.get(structuralKey);
    if (!expected) {
      skipped.push(key);
      continue;
    }
    if (formatShape(expected.shape) !== formatShape(value.shape)) {
      if (head.has(structuralKey)) {
        skipped.push(key);
        continue;
      }
      throw new FormatError(`${file}: pretrained ${key} has shape ${formatShape(value.shape)}, the model's ${target} has shape ${formatShape(expected.shape)}; nothing loaded`);
    }
    selected[target] = value;
    filled.add(structuralKey);
  }
  if (filled.size === 0) {
    const example = Object.keys(state).slice(0, 3).join(', ');
    throw new FormatError(`${file}: none of its ${Object.keys(state).length} tensors (${example}, …) fits ${model.constructor.name}${backbone ? `'s ${backbone}` : ''}; nothing loaded`);
  }
  model.loadStateDict(selected, { strict: false });
  const loaded = [...structural.keys()].filter((k) => filled.has(k));
  const missing = [...structural.keys()].filter((k) => !filled.has(k));
  const into = backbone === null ? '' : ` into ${backbone}`;
  const shown = (keys: string[]): string => {
    const layers = [...new Set(keys.map((k) => k.split('.').slice(0, -1).join('.') || k))];
    return keys.length === 0 ? '' : ` (${layers.slice(0, 3).join(', ')}${layers.length > 3 ? ', …' : ''})`;
  };
  const summary = `pretrained ${file}: ${loaded.length} tensors loaded${into}, ${skipped.length} skipped${shown(skipped)}, ${missing.length} missing${shown(missing)}`;
  return { loaded, skipped, missing, summary };
}

/**
 * Holds a model's backbone still for the first `epochs` epochs (`freeze_backbone_epochs`): its
 * parameters stop requiring gradients, so backward leaves them no gradient and the optimiser skips
 * them (no step, no weight decay, no moment). The state follows from the epoch alone, so a resumed
 * run sets it again from the checkpoint's epoch. BatchNorm running statistics still follow the data.
 * With `epochs` 0 nothing is touched.
 */
export function freezeForEpoch(parameters: readonly Tensor[], epoch: number, epochs: number): void {
  if (epochs === 0) return;
  const frozen = epoch < epochs;
  for (const p of parameters) p.requiresGrad = !frozen;
}
