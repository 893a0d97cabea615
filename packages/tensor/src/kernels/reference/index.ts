// Registers every reference kernel. Plain TypeScript over typed arrays, generic over float32 and
// float64: the ground truth that faster backends are tested against.
import './elementwise';
import './reduce';
import './matmul';
import './conv2d';
import './pool';
import './indexing';
import './resize';
import './batch-norm';
