import { Tensor } from '@parcnet/tensor';

/**
 * The save functions take PyTorch's order, tensors first and the path last (`torch.save(obj, f)`,
 * safetensors' `save_file(tensors, filename)`). Calls in the old order (path first) would otherwise
 * fail deep inside the serialiser, so they are caught here with the right order in the message.
 */
export function checkSaveArguments(op: string, tensors: unknown, path: unknown, signature: string): void {
  if (typeof tensors === 'string') {
    throw new TypeError(`${op}: the first argument is the string "${tensors}"; the order is ${signature} (tensors first, as in PyTorch)`);
  }
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) {
    throw new TypeError(`${op}: expected a record of name → Tensor as the first argument, got ${describe(tensors)}; the order is ${signature}`);
  }
  for (const [name, value] of Object.entries(tensors)) {
    if (!(value instanceof Tensor)) {
      throw new TypeError(`${op}: "${name}" is ${describe(value)}, not a Tensor; the order is ${signature}`);
    }
  }
  if (typeof path !== 'string') {
    throw new TypeError(`${op}: expected a file path (string) as the second argument, got ${describe(path)}; the order is ${signature}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no constructor'})`;
  return `${typeof value} ${String(value)}`;
}
