import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ParcnetError } from '@parcnet/tensor';
import { MODEL_FLAGS, type Flags } from './flags.js';

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Runs the command; a number is its exit code (a run stopped by a signal), nothing means 0. */
  run: (flags: Flags, positionals: string[]) => Promise<void | number>;
}

// Each command's module is imported when it runs, so `parcnet --help` and `parcnet info` start
// without loading the trainer, the plotting and the detection code.
const COMMANDS: Record<string, Command> = {
  train: {
    summary: 'train a classifier (CIFAR-10/100), an SSDLite detector or a DeepLabV3 segmenter (COCO format) from a config, with progress, log, plot and checkpoints',
    usage: 'parcnet train [--config <yaml>] [--model parcnet-xs] [--cifar-stem] [--dataset cifar10] [--data <dir>] [--epochs n] [--batch-size n] [--lr x] [--seed n] [--threads n] [--out <dir>] [--resume <checkpoint>] [--max-steps n] [--budget 2h|90m|1h30m] [--pretrained <.pt|.safetensors>] [--freeze-backbone n]',
    options: {
      config: { type: 'string' },
      model: { type: 'string' },
      'cifar-stem': { type: 'boolean' },
      'no-cifar-stem': { type: 'boolean' },
      dataset: { type: 'string' },
      data: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'string' },
      'max-steps': { type: 'string' },
      budget: { type: 'string' },
      pretrained: { type: 'string' },
      'freeze-backbone': { type: 'string' },
      workers: { type: 'string' },
      'train-images': { type: 'string' },
      'val-images': { type: 'string' },
      'no-progress': { type: 'boolean' },
    },
    run: async (flags) => (await import('./train.js')).trainCommand(flags),
  },
  eval: {
    summary: 'evaluate weights on a test set (top-1, top-5, loss; COCO box metrics or mIoU for detectors and segmenters)',
    usage: 'parcnet eval --weights <file> [--model <name> [--cifar-stem] [--num-classes n], for a .pt or bare state dict] [--dataset cifar10] [--data <dir>] [--split val2017] [--json] [--ema] [--flip-tta] [--batch-size n] [--threads n] [--val-images n]',
    options: {
      weights: { type: 'string' },
      ...MODEL_FLAGS,
      split: { type: 'string' },
      dataset: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean' },
      ema: { type: 'boolean' },
      'flip-tta': { type: 'boolean' },
      'batch-size': { type: 'string' },
      threads: { type: 'string' },
      'val-images': { type: 'string' },
    },
    run: async (flags) => (await import('./eval.js')).evalCommand(flags),
  },
  predict: {
    summary: 'classify one image (top-5), or detect / segment it and draw the result as a PNG',
    usage: 'parcnet predict <image> --weights <file> [--model <name> [--cifar-stem] [--num-classes n], for a .pt or bare state dict] [--task classify|detect|segment] [--out <png>] [--threshold 0.3] [--top n] [--json] [--ema]',
    options: {
      weights: { type: 'string' },
      ...MODEL_FLAGS,
      task: { type: 'string' },
      out: { type: 'string' },
      threshold: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'boolean' },
      ema: { type: 'boolean' },
    },
    run: async (flags, positionals) => (await import('./predict.js')).predictCommand(flags, positionals),
  },
  export: {
    summary: 'load weights into a zoo model and write them as safetensors, PyTorch .pt or an ONNX graph',
    usage: 'parcnet export --model <name> --weights <file> --format safetensors|pt|onnx --out <file> [--num-classes n] [--cifar-stem] [--input-size N|HxW] [--batch n] [--opset 17]',
    options: {
      ...MODEL_FLAGS,
      weights: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'input-size': { type: 'string' },
      batch: { type: 'string' },
      opset: { type: 'string' },
    },
    run: async (flags) => (await import('./export.js')).exportCommand(flags),
  },
  info: {
    summary: 'list the tensors of a safetensors or .pt file (keys, shapes, dtypes, parameter count)',
    usage: 'parcnet info <file> [--json]',
    options: { json: { type: 'boolean' } },
    run: async (flags, positionals) => (await import('./info.js')).infoCommand(flags, positionals),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'parcnet: ParC-Net in TypeScript',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'parcnet <command> --help shows its options.',
  ].join('\n');
}

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`parcnet: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${command.usage}`);
    return 0;
  }
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true }) as { values: Flags; positionals: string[] };
  } catch (e) {
    console.error(`parcnet ${name}: ${(e as Error).message}\nusage: ${command.usage}`);
    return 2;
  }
  try {
    return (await command.run(parsed.values, parsed.positionals)) ?? 0;
  } catch (e) {
    // Our own errors are the user's to fix: print the message only. Anything else is a bug: the stack.
    if (e instanceof ParcnetError) console.error(`parcnet ${name}: ${e.message.replace(`${name}: `, '')}`);
    else console.error(e);
    return 1;
  }
}
