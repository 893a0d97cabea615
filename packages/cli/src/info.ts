import { FormatError, formatShape } from '@parcnet/tensor';
import { loadWeightsFile } from '@parcnet/io';
import type { Flags } from './flags.js';

/** Keys, shapes, dtypes and the parameter count of a safetensors or PyTorch (.pt) file. */
export async function infoCommand(flags: Flags, positionals: string[]): Promise<void> {
  const [file] = positionals;
  if (!file) throw new FormatError('info: give a file: parcnet info <file>');
  const { tensors, metadata } = await loadWeightsFile(file);
  const entries = Object.entries(tensors).map(([key, t]) => ({ key, shape: [...t.shape], dtype: t.dtype, size: t.size }));
  // Parameters = float tensors that are not BN statistics (the counting rule of spec §5), with the
  // official `residual.*` entries counted once: they are a second name for `layer_5.0.*` (spec §7).
  const isStatistic = (key: string): boolean => /(running_mean|running_var|num_batches_tracked)$/.test(key);
  const aliasTwin = (key: string): string | null => {
    const m = /^((?:encoder\.)?)residual\.(.*)$/.exec(key);
    return m ? `${m[1]}layer_5.0.${m[2]}` : null;
  };
  const aliases = entries.filter((e) => {
    const twin = aliasTwin(e.key);
    return twin !== null && tensors[twin] !== undefined && Buffer.from(tensors[twin].toTypedArray().buffer).equals(Buffer.from(tensors[e.key].toTypedArray().buffer));
  });
  const aliasKeys = new Set(aliases.map((e) => e.key));
  const parameters = entries.filter((e) => e.dtype !== 'int32' && !isStatistic(e.key) && !aliasKeys.has(e.key)).reduce((n, e) => n + e.size, 0);
  if (flags.json) {
    console.log(JSON.stringify({ file, tensors: entries, parameters, aliases: [...aliasKeys], metadata }));
    return;
  }
  const width = Math.max(...entries.map((e) => e.key.length), 3);
  for (const e of entries) console.log(`${e.key.padEnd(width)}  ${e.dtype.padEnd(7)}  ${formatShape(e.shape)}`);
  const aliasNote = aliases.length > 0 ? `, ${aliases.length} residual.* alias entries counted once` : '';
  console.log(`${entries.length} tensors, ${parameters.toLocaleString('en')} parameter values (BN statistics excluded${aliasNote})`);
}
