/**
 * The error family of parcnet. Every message names the op or file, what was expected and what came.
 */
export class ParcnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together: broadcasting, matmul, conv, reshape, an axis out of range. */
export class ShapeError extends ParcnetError {}

/** A dtype an op does not accept, or two dtypes that must agree. */
export class DTypeError extends ParcnetError {}

/** Misuse of autograd: a missing backward, a freed graph, a non-scalar backward without a gradient. */
export class GradientError extends ParcnetError {}

/** A file or byte stream that is not what it claims to be. */
export class FormatError extends ParcnetError {}
