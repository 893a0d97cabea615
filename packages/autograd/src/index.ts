/**
 * The backward engine over the tape that @parcnet/tensor's ops record,
 * grad-mode switches, gradcheck, and Function for new ops with a hand-written backward.
 * Importing it installs the engine behind `tensor.backward()`.
 *
 * @packageDocumentation
 * @module @parcnet/autograd
 */
export { backward, grad, type GradOptions } from './engine.js';
export { noGrad, enableGrad } from './grad-mode.js';
export { gradcheck, type GradcheckOptions } from './gradcheck.js';
export { Function, FunctionCtx, type FunctionClass, type FunctionGradients, type ForwardArguments } from './function.js';
