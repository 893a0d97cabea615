// A plain object (the consumer does not install vite; the test runs the repository's): top-level
// await in parcnet's browser entry needs es2022, and the kernel threads are module workers.
export default { build: { target: 'es2022', outDir: 'dist', emptyOutDir: true }, worker: { format: 'es' } };
