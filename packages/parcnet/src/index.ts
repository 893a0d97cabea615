/**
 * One import for the whole framework (core.ts), plus the Node-only packages as namespaces:
 * train, detection, segmentation.
 * Importing it also activates the WASM SIMD kernels (float32) and their thread pool.
 *
 * @packageDocumentation
 * @module parcnet
 */
export * from './core.js';
export * as train from '@parcnet/train';
export * as detection from '@parcnet/detection';
export * as segmentation from '@parcnet/segmentation';
