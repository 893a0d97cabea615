// The loop a kernel helper thread runs, in Node (worker.mjs) and in browsers (worker.browser.mjs):
// instantiate the module on the shared memory, then serve the jobs threads.ts posts to this helper
// through its slot in `control`, claiming their chunks with the other threads (the protocol:
// threads.ts's header, README "Thread pool protocol"). Plain JavaScript so that a Node worker runs
// it without a TypeScript loader.

export function serve(data) {
  const { module, memory, control, args, index, callable, maxArgs, slots, perWorker } = data;
  // Which word holds what: threads.ts's layout, sent with the data so that it is defined once.
  const { PENDING, JITTER, SPIN, NEXT, TICKET, OFFER, POSTED, FROM_THE_END, EXPORT, ARG_COUNT, TOTAL, CHUNK, CHUNKS, TAKEN, DONE, FAILED, FAILED_CHUNK } = data.words;
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('@parcnet/wasm: abort'); } } });
  const slot = slots + perWorker * index;
  // Jobs taken so far. A new control block starts every ticket at 0 too, so a job posted before this
  // thread came up is taken as soon as it looks.
  let taken = 0;
  let random = index + 1;
  for (;;) {
    // H1: sleep while no job is posted past the ones taken. The loop re-reads the ticket when it
    // wakes: a notify can come late, for a ticket this helper already took without sleeping, and
    // then costs one turn of the loop. (Serving that job again, as the first pool did, decremented
    // PENDING twice and hung the pool; H2's compare-exchange on the offer now refuses it too.)
    // Polled first for up to SPIN µs (threads.ts setThreadSpin): the next job usually comes within
    // that, and a sleeping thread takes far longer to wake.
    const pollMicroseconds = control[SPIN];
    if (pollMicroseconds > 0 && Atomics.load(control, slot + TICKET) === taken) {
      const until = performance.now() + pollMicroseconds / 1000;
      while (Atomics.load(control, slot + TICKET) === taken && performance.now() < until);
    }
    while (Atomics.load(control, slot + TICKET) === taken) Atomics.wait(control, slot + TICKET, taken);
    // H2: take the offer, or learn it was withdrawn (main claimed every chunk before this thread
    // woke) and sleep again without reading the slot or touching NEXT. Exactly one side moves the
    // offer away from 1, so main waits for this helper's decrement only if the helper took it. The
    // offer stands only while its job does, and main stored it after writing the slot: the slot
    // read after taking it is the job taken's, even if this thread saw an earlier ticket
    // (threads.ts's header), and its POSTED is that job's ticket. Everything the job needs is read
    // here, before the decrement that lets main rewrite the slot.
    const seen = Atomics.load(control, slot + TICKET);
    if (Atomics.compareExchange(control, slot + OFFER, 1, 2) !== 1) {
      taken = seen;
      continue;
    }
    taken = control[slot + POSTED];
    Atomics.store(control, slot + TAKEN, taken);
    const jitter = control[JITTER];
    if (jitter !== 0) random = spin(random, jitter);
    const name = callable[control[slot + EXPORT]];
    const fn = instance.exports[name];
    const prefix = Array.from(args.subarray(index * maxArgs, index * maxArgs + control[slot + ARG_COUNT]));
    const total = control[slot + TOTAL];
    const chunk = control[slot + CHUNK];
    const chunks = control[slot + CHUNKS];
    const fromTheEnd = control[slot + FROM_THE_END] === 1;
    // H3: claim chunks until none is left; main reset NEXT before posting the ticket. The only
    // helper of a job runs its chunks from the back (threads.ts, parallelFor's fromTheEnd).
    for (let c = Atomics.add(control, NEXT, 1), mine = 0; c < chunks; c = Atomics.add(control, NEXT, 1), mine++) {
      const run = fromTheEnd ? chunks - 1 - mine : c;
      try {
        fn(...prefix, run * chunk, Math.min(total, (run + 1) * chunk));
      } catch (error) {
        // Go on claiming, and report the job done below: a helper that died here would leave the
        // pool waiting. parallelFor names the first chunk that threw.
        console.error(`@parcnet/wasm: kernel helper ${index} threw running ${name} on chunk ${run}:`, error);
        if (Atomics.load(control, slot + FAILED) !== taken) {
          Atomics.store(control, slot + FAILED_CHUNK, run);
          Atomics.store(control, slot + FAILED, taken);
        }
      }
      if (jitter !== 0) random = spin(random, jitter);
    }
    Atomics.store(control, slot + DONE, taken);
    // H4: once, after the last claim: main may reset NEXT for the next job as soon as PENDING is 0.
    // The last helper to finish wakes the calling thread.
    if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
    if (jitter !== 0) random = spin(random, jitter);
  }
}

/** Test only (threads.ts setHelperJitter): a random number of xorshift steps below `spins`; returns the new state. */
function spin(state, spins) {
  let x = state;
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  for (let i = (x >>> 0) % spins; i > 0; i--) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; }
  return x | 1;
}
