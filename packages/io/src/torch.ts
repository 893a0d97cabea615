import { zipSync } from 'fflate';
import { readFileBytes, writeFileAtomic } from '#files';
import { halfToFloat } from './half.js';
import { readZip } from './zip.js';
import { checkSaveArguments } from './save-arguments.js';
import { Parser } from 'pickleparser';
import { contiguousStrides, FormatError, Tensor, formatShape, type DType } from '@parcnet/tensor';

/**
 * PyTorch checkpoints written by `torch.save` (the zip format of PyTorch ≥ 1.6): `<archive>/data.pkl`
 * is a pickle whose tensors point, through persistent ids, at raw little-endian storages
 * `<archive>/data/<key>`. The pickle is read by pickleparser with a name resolver that allows only
 * the globals a state dict needs (OrderedDict, the tensor and parameter rebuild functions and the
 * storage types); any other global is refused by name, so no pickled code ever runs.
 */

interface StorageType { storage: string; bytes: number; read: (view: DataView, count: number) => { data: Float32Array | Float64Array | Int32Array; dtype: DType } }


const STORAGE_TYPES: Record<string, StorageType> = {
  FloatStorage: { storage: 'float32', bytes: 4, read: (v, n) => ({ dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => v.getFloat32(4 * i, true)) }) },
  DoubleStorage: { storage: 'float64', bytes: 8, read: (v, n) => ({ dtype: 'float64', data: Float64Array.from({ length: n }, (_, i) => v.getFloat64(8 * i, true)) }) },
  HalfStorage: { storage: 'float16', bytes: 2, read: (v, n) => ({ dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => halfToFloat(v.getUint16(2 * i, true))) }) },
  BFloat16Storage: {
    storage: 'bfloat16',
    bytes: 2,
    read: (v, n) => {
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = v.getUint16(2 * i, true) << 16;
      return { dtype: 'float32', data: new Float32Array(bits.buffer) };
    },
  },
  LongStorage: {
    storage: 'int64',
    bytes: 8,
    read: (v, n) => {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const value = v.getBigInt64(8 * i, true);
        if (value > 2147483647n || value < -2147483648n) throw new RangeError(`int64 value ${value} does not fit int32`);
        data[i] = Number(value);
      }
      return { dtype: 'int32', data };
    },
  },
  IntStorage: { storage: 'int32', bytes: 4, read: (v, n) => ({ dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => v.getInt32(4 * i, true)) }) },
  ShortStorage: { storage: 'int16', bytes: 2, read: (v, n) => ({ dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => v.getInt16(2 * i, true)) }) },
  CharStorage: { storage: 'int8', bytes: 1, read: (v, n) => ({ dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => v.getInt8(i)) }) },
  ByteStorage: { storage: 'uint8', bytes: 1, read: (v, n) => ({ dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => v.getUint8(i)) }) },
  BoolStorage: { storage: 'bool', bytes: 1, read: (v, n) => ({ dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => (v.getUint8(i) ? 1 : 0)) }) },
};

/** A storage type named by the pickle (torch.FloatStorage …), before its bytes are read. */
class StorageTypeRef {
  constructor(readonly name: string, readonly type: StorageType) {}
}

/** A storage read from the archive; tensors that share it share its typed array. */
interface LoadedStorage { data: Float32Array | Float64Array | Int32Array; dtype: DType }

/** collections.OrderedDict: a Map whose pickled state (the `_metadata` of a state dict) is kept aside. */
class OrderedDictMap extends Map<unknown, unknown> {
  state: unknown = null;
  __setstate__(state: unknown): void {
    this.state = state;
  }
}

const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];

/**
 * Reads the state dict of a `torch.save` file, from a path or its bytes (see {@link parseTorch}).
 * float16/bfloat16 widen to float32; int64 and the smaller integer and bool storages become int32.
 */
export async function loadTorch(source: string | Uint8Array): Promise<Record<string, Tensor>> {
  const name = typeof source === 'string' ? source : '<bytes>';
  const bytes = typeof source === 'string' ? await readFileBytes(source) : source;
  return parseTorch(bytes, name);
}

/** The state dict in `bytes` (a plain state dict, or one under `state_dict`, `model_state_dict` or `model`). */
export function parseTorch(bytes: Uint8Array, name = '<bytes>'): Record<string, Tensor> {
  try {
    return parseTorchUnchecked(bytes, name);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    // Anything the zip or pickle readers throw on damaged input becomes one error naming the file.
    throw new FormatError(`${name}: not a readable torch.save file (${(e as Error).message})`);
  }
}

function parseTorchUnchecked(bytes: Uint8Array, name: string): Record<string, Tensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new FormatError(`${name}: the legacy (pre-1.6, non-zip) torch.save format is not read; save it again with a current torch.save`);
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b || bytes[2] !== 0x03 || bytes[3] !== 0x04) {
    throw new FormatError(`${name}: not a torch.save file (no zip magic "PK\\x03\\x04")`);
  }
  const files = readZip(bytes, name);
  const pickleEntry = Object.keys(files).find((f) => f.endsWith('data.pkl') && f.split('/').length === 2);
  if (!pickleEntry) throw new FormatError(`${name}: the archive holds no <archive>/data.pkl`);
  const archive = pickleEntry.slice(0, -'data.pkl'.length);
  const byteorder = files[`${archive}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new FormatError(`${name}: big-endian storages are not read`);
  }

  const storages = new Map<string, LoadedStorage>();
  const persistentResolver = {
    resolve(pid: unknown): LoadedStorage {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageTypeRef)) {
        throw new FormatError(`${name}: unexpected persistent id ${describe(pid)} (expected a storage)`);
      }
      const [, typeRef, key, , numel] = pid as [string, StorageTypeRef, string, string, number];
      const cached = storages.get(key);
      if (cached) return cached;
      const raw = files[`${archive}data/${key}`];
      if (!raw) throw new FormatError(`${name}: storage ${key} (${typeRef.name}) is missing from the archive`);
      const count = Number(numel);
      if (raw.length < count * typeRef.type.bytes) {
        throw new FormatError(`${name}: storage ${key} holds ${raw.length} bytes, ${count} ${typeRef.type.storage} values need ${count * typeRef.type.bytes}`);
      }
      let loaded: LoadedStorage;
      try {
        loaded = typeRef.type.read(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), count);
      } catch (e) {
        throw new FormatError(`${name}: storage ${key}: ${(e as Error).message}`);
      }
      storages.set(key, loaded);
      return loaded;
    },
  };

  const rebuildTensor = (storage: LoadedStorage, offset: number, size: number[], stride: number[]): Tensor => {
    if (!storage?.data || !Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length) {
      throw new FormatError(`${name}: malformed tensor record (size ${describe(size)}, stride ${describe(stride)})`);
    }
    const shape = size.map(Number);
    const strides = stride.map(Number);
    const last = Number(offset) + shape.reduce((a, d, i) => a + (d > 0 ? (d - 1) * strides[i] : 0), 0);
    if (shape.some((d) => d === 0) ? false : last >= storage.data.length || Number(offset) < 0) {
      throw new FormatError(`${name}: tensor ${formatShape(shape)} with strides [${strides.join(', ')}] at offset ${offset} overruns its storage of ${storage.data.length}`);
    }
    return new Tensor(storage.data, shape, strides, Number(offset));
  };

  const allowed: Record<string, unknown> = {
    'collections.OrderedDict': () => new OrderedDictMap(),
    'torch._utils._rebuild_tensor_v2': (storage: LoadedStorage, offset: number, size: number[], stride: number[]) => rebuildTensor(storage, offset, size, stride),
    'torch._utils._rebuild_tensor': (storage: LoadedStorage, offset: number, size: number[], stride: number[]) => rebuildTensor(storage, offset, size, stride),
    'torch._utils._rebuild_parameter': (data: Tensor) => data,
  };
  for (const [storageName, type] of Object.entries(STORAGE_TYPES)) allowed[`torch.${storageName}`] = new StorageTypeRef(storageName, type);
  const nameResolver = {
    resolve(module: string, global: string): never {
      const key = `${module}.${global}`;
      if (!(key in allowed)) {
        throw new FormatError(`${name}: the pickle refers to the global ${key}, which a state dict does not need; refusing to load it (allowed: ${Object.keys(allowed).join(', ')})`);
      }
      return allowed[key] as never;
    },
  };
  const parser = new Parser({ nameResolver, persistentResolver, unpicklingTypeOfDictionary: 'Map' });
  const root: unknown = parser.parse(files[pickleEntry]);
  return stateDictOf(root, name);
}

function stateDictOf(root: unknown, name: string): Record<string, Tensor> {
  if (!(root instanceof Map)) throw new FormatError(`${name}: the pickle holds ${describe(root)}, not a dict`);
  let dict: Map<unknown, unknown> = root;
  const wrapper = WRAPPER_KEYS.find((k) => root.get(k) instanceof Map);
  if (wrapper && ![...root.values()].some((v) => v instanceof Tensor)) dict = root.get(wrapper) as Map<unknown, unknown>;
  const out: Record<string, Tensor> = {};
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw new FormatError(`${name}: a state dict key is ${describe(key)}, not a string`);
    if (!(value instanceof Tensor)) throw new FormatError(`${name}: entry ${key} is ${describe(value)}, not a tensor`);
    out[key] = value;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (value instanceof Tensor) return `a tensor ${formatShape(value.shape)}`;
  if (Array.isArray(value)) return `a tuple of ${value.length}`;
  if (value instanceof Map) return `a dict of ${value.size}`;
  return typeof value === 'object' ? `an object (${(value as object).constructor?.name ?? 'unknown'})` : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Writes a state dict that `torch.load` reads: the zip layout of `torch.save` (`archive/data.pkl`,
 * `archive/data/<n>`, `archive/version`, `archive/byteorder`) with a protocol-2 pickle of an
 * OrderedDict of `_rebuild_tensor_v2` records. float32 → FloatStorage, float64 → DoubleStorage,
 * int32 → LongStorage (PyTorch's integer type, as BatchNorm's num_batches_tracked). Written atomically.
 * The argument order is `torch.save(obj, f)`'s: the tensors, then the path.
 */
export async function saveTorch(tensors: Record<string, Tensor>, path: string): Promise<void> {
  checkSaveArguments('saveTorch', tensors, path, 'saveTorch(tensors, path)');
  await writeFileAtomic(path, serializeTorch(tensors));
}

/** The bytes {@link saveTorch} writes: `tensors` as a `torch.save` zip that `torch.load` reads (for a download, or a write of your own). */
export function serializeTorch(tensors: Record<string, Tensor>): Uint8Array {
  const pickle = new PickleWriter();
  const storages: Record<string, Uint8Array> = {};
  pickle.proto(2);
  pickle.global('collections', 'OrderedDict');
  pickle.op(EMPTY_TUPLE).op(REDUCE).op(MARK);
  Object.entries(tensors).forEach(([key, tensor], index) => {
    const storageKey = String(index);
    const values = tensor.toTypedArray();
    let storageName: string;
    if (tensor.dtype === 'float32') {
      storageName = 'FloatStorage';
      storages[storageKey] = new Uint8Array(Float32Array.from(values).buffer);
    } else if (tensor.dtype === 'float64') {
      storageName = 'DoubleStorage';
      storages[storageKey] = new Uint8Array(Float64Array.from(values).buffer);
    } else {
      storageName = 'LongStorage';
      storages[storageKey] = new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
    }
    pickle.unicode(key);
    pickle.global('torch._utils', '_rebuild_tensor_v2');
    pickle.op(MARK);
    // The storage, by persistent id: ('storage', torch.<Type>Storage, key, 'cpu', numel).
    pickle.op(MARK).unicode('storage').global('torch', storageName).unicode(storageKey).unicode('cpu').int(values.length).op(TUPLE).op(BINPERSID);
    pickle.int(0);
    pickle.tuple(tensor.shape.map((d) => () => pickle.int(d)));
    const strides = contiguousStrides(tensor.shape);
    pickle.tuple(strides.map((s) => () => pickle.int(s)));
    pickle.op(NEWFALSE);
    pickle.global('collections', 'OrderedDict').op(EMPTY_TUPLE).op(REDUCE);
    pickle.op(TUPLE).op(REDUCE);
  });
  pickle.op(SETITEMS).op(STOP);
  const files: Record<string, Uint8Array> = {
    'archive/data.pkl': pickle.bytes(),
    'archive/byteorder': new TextEncoder().encode('little'),
  };
  for (const [key, data] of Object.entries(storages)) files[`archive/data/${key}`] = data;
  files['archive/version'] = new TextEncoder().encode('3\n');
  return zipSync(files, { level: 0 });
}


// The pickle opcodes the writer uses (protocol 2).
const MARK = 0x28;
const STOP = 0x2e;
const TUPLE = 0x74;
const EMPTY_TUPLE = 0x29;
const REDUCE = 0x52;
const SETITEMS = 0x75;
const BINPERSID = 0x51;
const NEWFALSE = 0x89;

class PickleWriter {
  private readonly chunks: number[] = [];

  op(code: number): this {
    this.chunks.push(code);
    return this;
  }

  proto(version: number): this {
    return this.op(0x80).op(version);
  }

  /** GLOBAL: 'c' module '\n' name '\n'. */
  global(module: string, name: string): this {
    this.op(0x63);
    for (const b of new TextEncoder().encode(`${module}\n${name}\n`)) this.chunks.push(b);
    return this;
  }

  /** BINUNICODE: 'X', uint32 length, UTF-8. */
  unicode(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    this.op(0x58).uint32(utf8.length);
    for (const b of utf8) this.chunks.push(b);
    return this;
  }

  /** BININT (signed 32-bit) or LONG1 for larger values. */
  int(value: number): this {
    if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
      this.op(0x4a);
      const v = value >>> 0;
      return this.op(v & 0xff).op((v >>> 8) & 0xff).op((v >>> 16) & 0xff).op(v >>> 24);
    }
    const bytes: number[] = [];
    let big = BigInt(value);
    for (let i = 0; i < 8; i++, big >>= 8n) bytes.push(Number(big & 0xffn));
    this.op(0x8a).op(8);
    for (const b of bytes) this.chunks.push(b);
    return this;
  }

  tuple(items: (() => void)[]): this {
    if (items.length === 0) return this.op(EMPTY_TUPLE);
    this.op(MARK);
    for (const item of items) item();
    return this.op(TUPLE);
  }

  private uint32(v: number): this {
    return this.op(v & 0xff).op((v >>> 8) & 0xff).op((v >>> 16) & 0xff).op(v >>> 24);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
