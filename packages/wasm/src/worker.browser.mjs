// A kernel helper thread in a browser: its data arrives in the first message; the reply says it is listening.
import { serve } from './worker-loop.mjs';

self.addEventListener('message', (event) => {
  self.postMessage('ready');
  serve(event.data);
}, { once: true });
