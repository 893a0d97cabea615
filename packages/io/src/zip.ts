import { inflateSync } from 'fflate';
import { FormatError } from '@parcnet/tensor';

/**
 * Reads the entries of a zip archive (stored or deflated) with every offset and length checked
 * against the buffer. Written here rather than using fflate's unzipSync because that one loops for
 * minutes on some damaged central directories (found by the fuzz test); fflate still inflates.
 */
export function readZip(bytes: Uint8Array, name: string): Record<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new FormatError(`${name}: corrupt or truncated zip archive (${what})`);
  };
  const u16 = (at: number): number => (at + 2 <= bytes.length ? view.getUint16(at, true) : fail(`read past the end at ${at}`));
  const u32 = (at: number): number => (at + 4 <= bytes.length ? view.getUint32(at, true) : fail(`read past the end at ${at}`));

  // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535 bytes at the end.
  let end = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 65535; at--) {
    if (view.getUint32(at, true) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end < 0) fail('no end-of-central-directory record');
  const count = u16(end + 10);
  const directorySize = u32(end + 12);
  const directoryOffset = u32(end + 16);
  if (count === 0xffff || directoryOffset === 0xffffffff) fail('zip64 archives are not read');
  if (directoryOffset + directorySize > end) fail(`central directory [${directoryOffset}, +${directorySize}) overlaps its end record at ${end}`);

  const files: Record<string, Uint8Array> = {};
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (u32(at) !== 0x02014b50) fail(`entry ${i} of the central directory has a bad signature`);
    const method = u16(at + 10);
    const compressedSize = u32(at + 20);
    const size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    const localOffset = u32(at + 42);
    if (at + 46 + nameLength > bytes.length) fail(`entry ${i}'s name runs past the end`);
    const entryName = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;

    if (u32(localOffset) !== 0x04034b50) fail(`${entryName}: bad local header signature`);
    const dataStart = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (dataStart + compressedSize > directoryOffset) fail(`${entryName}: data [${dataStart}, +${compressedSize}) runs into the central directory`);
    const data = bytes.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) {
      if (compressedSize !== size) fail(`${entryName}: stored entry with sizes ${compressedSize} and ${size}`);
      files[entryName] = data;
    } else if (method === 8) {
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(data, { out: new Uint8Array(size) });
      } catch (e) {
        return fail(`${entryName}: ${(e as Error).message}`);
      }
      if (inflated.length !== size) fail(`${entryName}: inflated to ${inflated.length} bytes, the directory says ${size}`);
      files[entryName] = inflated;
    } else {
      fail(`${entryName}: compression method ${method} (only stored and deflate are read)`);
    }
  }
  return files;
}
