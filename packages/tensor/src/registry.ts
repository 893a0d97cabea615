import { ParcnetError } from './errors.js';
import type { KernelSignatures } from './kernel-names.js';

/**
 * The one dispatch point between ops and backends. Ops call `runKernel(name, ...)`; backends
 * register an implementation under the same name. The highest-priority implementation whose guard
 * accepts the arguments runs; the reference backend accepts everything and comes last.
 */

/** A kernel's name: a key of {@link KernelSignatures}, such as 'Conv2D' or 'ReluGrad'. */
export type KernelName = keyof KernelSignatures;

/** One backend's implementation of kernel `K`, as `registerKernel` takes it. */
export interface KernelRegistration<K extends KernelName> {
  /** The kernel it implements, a key of {@link KernelSignatures}. */
  name: K;
  /** The backend's name, e.g. 'reference' or 'wasm'; one registration per backend and kernel. */
  backend: string;
  /** Higher runs first. The reference backend uses 0. */
  priority: number;
  /** The implementation, with the kernel's signature. */
  fn: KernelSignatures[K];
  /** Says whether this implementation handles these arguments; refused calls fall through. */
  guard?: (...args: Parameters<KernelSignatures[K]>) => boolean;
}

type AnyRegistration = KernelRegistration<KernelName>;

const table = new Map<KernelName, AnyRegistration[]>();
const disabledBackends = new Set<string>();

/** Adds `registration` to the dispatch table, replacing that backend's earlier one for the same kernel. */
export function registerKernel<K extends KernelName>(registration: KernelRegistration<K>): void {
  const list = table.get(registration.name) ?? [];
  const kept = list.filter((r) => r.backend !== registration.backend);
  kept.push(registration as unknown as AnyRegistration);
  kept.sort((a, b) => b.priority - a.priority);
  table.set(registration.name, kept);
}

/** Sees every kernel call before it runs, with the backend chosen for it (profilers count MACs this way). */
export type KernelObserver = (name: KernelName, args: readonly unknown[], backend: string) => void;
const observers = new Set<KernelObserver>();

/** Adds an observer of kernel calls; returns the function that removes it. */
export function observeKernels(observer: KernelObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/**
 * Calls kernel `name` on the highest-priority enabled backend whose guard accepts `args`, and
 * returns its result; throws a ParcnetError when none does.
 */
export function runKernel<K extends KernelName>(
  name: K,
  ...args: Parameters<KernelSignatures[K]>
): ReturnType<KernelSignatures[K]> {
  const chosen = table.get(name)?.find((r) => {
    if (disabledBackends.has(r.backend)) return false;
    const guard = r.guard as ((...a: unknown[]) => boolean) | undefined;
    return !guard || guard(...args);
  });
  if (!chosen) throw new ParcnetError(`runKernel: no kernel registered for ${name} accepts these arguments`);
  if (observers.size > 0) for (const observe of observers) observe(name, args, chosen.backend);
  return (chosen.fn as (...a: unknown[]) => ReturnType<KernelSignatures[K]>)(...args);
}

/** The implementation of `name` on one backend, for tests that compare backends. */
export function getKernel<K extends KernelName>(name: K, backend: string): KernelSignatures[K] | undefined {
  return table.get(name)?.find((r) => r.backend === backend)?.fn as KernelSignatures[K] | undefined;
}

/** Every registered kernel name with its backends in dispatch order. */
export function listKernels(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, list] of table) out[name] = list.map((r) => r.backend);
  return out;
}

/** Switches a backend off (or back on) for dispatch, e.g. to measure the reference path. */
export function setBackendEnabled(backend: string, enabled: boolean): void {
  if (enabled) disabledBackends.delete(backend);
  else disabledBackends.add(backend);
}
