// Type-checked by install.test.ts with `tsc --strict --noEmit` against the types the packages ship.
import { autograd, models, nn, randn, tensor, zeros, type Tensor } from 'parcnet';
import { FormatError } from '@parcnet/tensor';

class Scale extends autograd.Function {
  static forward(ctx: autograd.FunctionCtx, x: Tensor, factor: number): Tensor {
    ctx.factor = factor;
    return x.mul(factor);
  }
  static backward(ctx: autograd.FunctionCtx, gradOutput: Tensor): [Tensor, null] {
    return [gradOutput.mul(ctx.factor as number), null];
  }
}

class Head extends nn.Module {
  readonly fc = new nn.Linear(4, 2);
  forward(x: Tensor): Tensor {
    return Scale.apply(this.fc.forward(x), 2);
  }
}

const model: nn.Module = models.parcnetXS({ numClasses: 10, cifarStem: true });
const logits: Tensor = model.forward(randn(2, 3, 32, 32));
const shape: readonly number[] = logits.reshape(1, 20).shape;
const head = new Head();
const y: Tensor = head.forward(zeros([3, 4]));
const error: Error = new FormatError('x');
console.log(shape, y.shape, tensor([1, 2]).sum().item(), error.message);
