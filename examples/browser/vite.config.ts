import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * The browser demo. The two headers make the page cross-origin isolated, which is what gives it
 * SharedArrayBuffer, a shared WebAssembly.Memory and so the kernels' Web Worker threads; served
 * without them the page still works, on one thread.
 */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // The demo is part of the repository: it bundles parcnet's TypeScript sources (the packages'
  // "parcnet-source" condition), so an edit shows without a build. A user's page gets dist/.
  resolve: { conditions: ['parcnet-source', ...defaultClientConditions] },
  // Top-level await: the kernels are instantiated asynchronously when the page imports parcnet.
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  worker: { format: 'es' },
  server: { headers: isolationHeaders, port: 5173 },
  preview: { headers: isolationHeaders, port: 4173 },
});
