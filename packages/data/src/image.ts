import jpeg from 'jpeg-js';
import { convertIndexedToRgb, decode as decodePngBytes, encode as encodePngBytes } from 'fast-png';
import { FormatError } from '@parcnet/tensor';

/**
 * An 8-bit RGB image in planar CHW layout (all of R, then G, then B), the layout of the CIFAR
 * binary files and of the network input: [3, height, width].
 */
export interface RgbImage {
  /** 3 · height · width bytes, 0…255: the red plane, then green, then blue, each row-major. */
  data: Uint8Array;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

const JPEG_MAGIC = [0xff, 0xd8];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

/** Decodes PNG or JPEG bytes (chosen by magic number, not by name) to planar RGB. */
export function decodeImage(bytes: Uint8Array, file = '<bytes>'): RgbImage {
  const starts = (magic: number[]): boolean => magic.every((b, i) => bytes[i] === b);
  if (starts(JPEG_MAGIC)) {
    let decoded: { width: number; height: number; data: Uint8Array };
    const ycbcr = jpegNeedsColourConversion(bytes);
    try {
      decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512, colorTransform: ycbcr ? false : undefined });
    } catch (e) {
      throw new FormatError(`${file}: corrupt JPEG (${(e as Error).message})`);
    }
    if (ycbcr) convertYCbCrToRgb(decoded.data);
    return interleavedToPlanar(decoded.data, decoded.height, decoded.width, 3, file);
  }
  if (starts(PNG_MAGIC)) {
    let decoded: ReturnType<typeof decodePngBytes>;
    try {
      decoded = decodePngBytes(bytes);
    } catch (e) {
      throw new FormatError(`${file}: corrupt PNG (${(e as Error).message})`);
    }
    const plane = decoded.width * decoded.height;
    if (decoded.palette) {
      const rgb = convertIndexedToRgb(decoded);
      return interleavedToPlanar(rgb, decoded.height, decoded.width, rgb.length / plane, file);
    }
    // 16-bit samples keep their high byte; 1/2/4-bit grey is rare enough to refuse clearly.
    if (decoded.depth === 16) return interleavedToPlanar(Uint8Array.from(decoded.data, (v) => v >>> 8), decoded.height, decoded.width, decoded.channels, file);
    if (decoded.depth !== 8) throw new FormatError(`${file}: PNG with ${decoded.depth}-bit samples, only 8- and 16-bit are read`);
    return interleavedToPlanar(decoded.data as Uint8Array, decoded.height, decoded.width, decoded.channels, file);
  }
  throw new FormatError(`${file}: neither PNG nor JPEG (first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

/** HWC with 1 (grey), 2 (grey+alpha), 3 or 4 (RGBA) channels → planar RGB; alpha is dropped. */
function interleavedToPlanar(data: Uint8Array, height: number, width: number, channels: number, file: string): RgbImage {
  const plane = height * width;
  if (data.length < plane * channels) throw new FormatError(`${file}: decoded ${data.length} bytes for ${width}×${height}×${channels}`);
  const out = new Uint8Array(3 * plane);
  const colour = channels >= 3;
  for (let p = 0; p < plane; p++) {
    const s = p * channels;
    out[p] = data[s];
    out[plane + p] = colour ? data[s + 1] : data[s];
    out[2 * plane + p] = colour ? data[s + 2] : data[s];
  }
  return { data: out, height, width };
}

/** Planar RGB → PNG bytes (for predictions drawn on images and for plots). */
export function encodePng(image: RgbImage): Uint8Array {
  const plane = image.height * image.width;
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    rgb[3 * p] = image.data[p];
    rgb[3 * p + 1] = image.data[plane + p];
    rgb[3 * p + 2] = image.data[2 * plane + p];
  }
  return encodePngBytes({ width: image.width, height: image.height, data: rgb, channels: 3, depth: 8 });
}

/**
 * jpeg-js converts YCbCr to RGB by storing the float result into a Uint8Array, which truncates:
 * every channel comes out about half a level dark (measured on CIFAR-10: means 0.0013–0.0019
 * below those of libjpeg-decoded pixels). So for ordinary three-component JFIF files we take its
 * YCbCr output and convert here with rounding, as libjpeg does. Files with an Adobe marker keep
 * jpeg-js's own handling (their transform flag overrides the option).
 */
function jpegNeedsColourConversion(bytes: Uint8Array): boolean {
  let components = 0;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return false; // not at a marker: leave the file to the decoder
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (marker === 0xee && String.fromCharCode(...bytes.subarray(i + 4, i + 9)) === 'Adobe') return false;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) components = bytes[i + 9];
    if (marker === 0xda) break; // start of scan: every header marker has been seen
    i += 2 + length;
  }
  return components === 3;
}

function convertYCbCrToRgb(data: Uint8Array): void {
  for (let p = 0; p < data.length; p += 3) {
    const y = data[p];
    const cb = data[p + 1] - 128;
    const cr = data[p + 2] - 128;
    data[p] = clampByte(Math.round(y + 1.402 * cr));
    data[p + 1] = clampByte(Math.round(y - 0.344136 * cb - 0.714136 * cr));
    data[p + 2] = clampByte(Math.round(y + 1.772 * cb));
  }
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
