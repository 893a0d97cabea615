// Registers every reference kernel. Plain TypeScript over typed arrays, generic over float32 and
// float64: the ground truth that faster backends are tested against.
import './elementwise.js';
import './reduce.js';
import './matmul.js';
import './conv2d.js';
import './pool.js';
import './indexing.js';
import './resize.js';
import './batch-norm.js';
import './random.js';
import './optim.js';
