import { readFileBytes, writeFileAtomic } from '#files';
import { checkSaveArguments } from './save-arguments.js';
import { bfloatToFloat, halfToFloat } from './half.js';
import { FormatError, Tensor, type DType } from '@parcnet/tensor';

/**
 * safetensors (https://github.com/huggingface/safetensors): 8 bytes little-endian header length N,
 * N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}, then the
 * raw little-endian data; offsets count from the end of the header.
 */

/** A parsed safetensors file: its tensors by key and its metadata. */
export interface SafetensorsFile {
  /** The tensors by key: F32, F64 and I32 as stored, F16/BF16 widened to float32, other integers and BOOL as int32. */
  tensors: Record<string, Tensor>;
  /** The header's `__metadata__` strings; {} when the file has none. */
  metadata: Record<string, string>;
}

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

const ELEMENT_SIZE: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Reads a file path or bytes. float16/bfloat16 widen to float32; int64 narrows to int32 when every value fits. */
export async function loadSafetensors(source: string | Uint8Array): Promise<SafetensorsFile> {
  const name = typeof source === 'string' ? source : '<bytes>';
  const bytes = typeof source === 'string' ? await readFileBytes(source) : source;
  return parseSafetensors(bytes, name);
}

/** Parses safetensors bytes as {@link loadSafetensors} does; `name` labels the FormatError a malformed file gets. */
export function parseSafetensors(bytes: Uint8Array, name = '<bytes>'): SafetensorsFile {
  if (bytes.length < 8) throw new FormatError(`${name}: not a safetensors file (${bytes.length} bytes, need at least 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) {
    throw new FormatError(`${name}: header length ${headerLength} exceeds the file (${bytes.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(`${name}: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new FormatError(`${name}: the header is not a JSON object`);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [key, raw] of Object.entries(header)) {
    if (key === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const entry = raw as HeaderEntry;
    const size = ELEMENT_SIZE[entry?.dtype];
    if (!size) throw new FormatError(`${name}: tensor ${key} has unknown dtype ${JSON.stringify(entry?.dtype)}`);
    if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new FormatError(`${name}: tensor ${key} has an invalid shape ${JSON.stringify(entry.shape)}`);
    }
    const [begin, end] = entry.data_offsets ?? [];
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataLength || end - begin !== count * size) {
      throw new FormatError(
        `${name}: tensor ${key} (${entry.dtype} ${JSON.stringify(entry.shape)}) has data_offsets ${JSON.stringify(entry.data_offsets)} that do not fit ${count * size} bytes inside ${dataLength}`,
      );
    }
    tensors[key] = decode(name, key, entry.dtype, entry.shape, bytes.subarray(dataStart + begin, dataStart + end));
  }
  return { tensors, metadata };
}

function decode(file: string, key: string, dtype: string, shape: number[], raw: Uint8Array): Tensor {
  const copy = raw.slice(); // aligned, owned
  const count = shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(copy.buffer);
  switch (dtype) {
    case 'F32':
      return new Tensor(new Float32Array(copy.buffer, 0, count), shape);
    case 'F64':
      return new Tensor(new Float64Array(copy.buffer, 0, count), shape);
    case 'I32':
      return new Tensor(new Int32Array(copy.buffer, 0, count), shape);
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw new FormatError(`${file}: int64 tensor ${key} holds ${v}, beyond int32`);
        out[i] = Number(v);
      }
      return new Tensor(out, shape);
    }
    case 'F16':
    case 'BF16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dtype === 'F16' ? halfToFloat(dv.getUint16(i * 2, true)) : bfloatToFloat(dv.getUint16(i * 2, true));
      return new Tensor(out, shape);
    }
    default: {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dtype === 'I8' ? dv.getInt8(i) : dtype === 'I16' ? dv.getInt16(i * 2, true) : dv.getUint8(i);
      return new Tensor(out, shape);
    }
  }
}


const DTYPE_NAME: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32' };

/** Options of {@link saveSafetensors} and {@link serializeSafetensors}. */
export interface SaveOptions {
  /** Strings stored as the header's `__metadata__`. Default none. */
  metadata?: Record<string, string>;
  /** Store these int32 tensors as I64 (PyTorch's num_batches_tracked), by key. */
  int64Keys?: (key: string) => boolean;
}

/** Encodes tensors (keys sorted, as the reference writer does) into safetensors bytes. */
export function serializeSafetensors(tensors: Record<string, Tensor>, options: SaveOptions = {}): Uint8Array {
  const keys = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const key of keys) {
    const t = tensors[key];
    const wide = t.dtype === 'int32' && (options.int64Keys?.(key) ?? false);
    let data: Uint8Array;
    if (wide) {
      const values = t.toTypedArray();
      const buffer = new ArrayBuffer(values.length * 8);
      const dv = new DataView(buffer);
      values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
      data = new Uint8Array(buffer);
    } else {
      const values = t.toTypedArray();
      data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    }
    header[key] = { dtype: wide ? 'I64' : DTYPE_NAME[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + data.length] };
    chunks.push(data);
    offset += data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // the data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Writes `tensors` to `path` as safetensors, in the order of safetensors' `save_file(tensors, filename)`.
 * Atomic: a temporary file next to `path`, then a rename, so no half-written file remains.
 */
export async function saveSafetensors(tensors: Record<string, Tensor>, path: string, options: SaveOptions = {}): Promise<void> {
  checkSaveArguments('saveSafetensors', tensors, path, 'saveSafetensors(tensors, path, options?)');
  const bytes = serializeSafetensors(tensors, options);
  await writeFileAtomic(path, bytes);
}
