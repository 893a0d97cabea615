import { Generator } from '../../random.js';
import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { REFERENCE } from './util.js';

// The random kernels draw from a Generator rebuilt from the state words they are given, so the
// stream is the Generator's own (nextUint32) and faster backends are tested against it.

registerKernel({
  name: 'DropoutMask',
  backend: REFERENCE,
  priority: 0,
  fn: (shape, keepBelow, scale, dtype, state) => {
    const generator = new Generator();
    generator.setState([...state, Number.NaN]);
    const mask = Tensor.empty(shape, dtype);
    const values = mask.storage;
    for (let i = 0; i < values.length; i++) values[i] = generator.nextUint32() < keepBelow ? scale : 0;
    const [s0, s1, s2, s3] = generator.getState();
    return { mask, state: [s0, s1, s2, s3] };
  },
});
