import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wasmBuild } from '../src/index';
import { kernelImports } from '../src/platform';

// All four builds of the kernels, each instantiated on its own memory and asked for one GEMM through
// the packed operands: the plain builds (mul + add) are not the ones Node runs when it has relaxed
// SIMD, so they are checked here directly.
const builds = ['kernels.wasm', 'kernels-relaxed.wasm', 'kernels-single.wasm', 'kernels-single-relaxed.wasm'];

interface GemmExports {
  packRows(a: number, aRow: number, aCol: number, m: number, k: number, dst: number): void;
  packPanels(b: number, k: number, n: number, dst: number): void;
  gemm(m: number, n: number, k: number, aPanels: number, bPanels: number, c: number, accumulate: number, scale: number, shift: number, act: number, panelStart: number, panelEnd: number): void;
}

describe('the four kernel builds', () => {
  it('Node runs the relaxed-SIMD build with shared memory', () => {
    expect(wasmBuild()).toMatchObject({ shared: true, relaxedSimd: true });
    expect(wasmBuild().path.endsWith('kernels-relaxed.wasm')).toBe(true);
  });

  for (const file of builds) {
    it(`${file}: a 13 × 11 by 11 × 9 GEMM (row and column tails) equals the float64 product`, () => {
      const shared = !file.includes('single');
      const memory = new WebAssembly.Memory({ initial: 32, maximum: 64, shared });
      const bytes = readFileSync(fileURLToPath(new URL(`../build/${file}`, import.meta.url)));
      const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), kernelImports(memory)).exports as unknown as GemmExports;
      const [m, k, n] = [13, 11, 9];
      const base = 4 * 65536;
      const [a, b, aPanels, bPanels, c] = [base, base + 4096, base + 8192, base + 16384, base + 24576];
      const heap = new Float32Array(memory.buffer);
      for (let i = 0; i < m * k; i++) heap[a / 4 + i] = Math.sin(i + 1);
      for (let i = 0; i < k * n; i++) heap[b / 4 + i] = Math.cos(i * 0.7);
      kernels.packRows(a, k, 1, m, k, aPanels);
      kernels.packPanels(b, k, n, bPanels);
      kernels.gemm(m, n, k, aPanels, bPanels, c, 0, 0, 0, 0, 0, Math.ceil(m / 4));
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          for (let p = 0; p < k; p++) want += heap[a / 4 + i * k + p] * heap[b / 4 + p * n + j];
          expect(Math.abs(heap[c / 4 + i * n + j] - want)).toBeLessThan(1e-5);
        }
      }
    });
  }
});
