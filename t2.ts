import { parseTrainConfig, trainClassifier } from '@parcnet/train';
const config = parseTrainConfig({ dataset: { data: '/work/shared/data/cifar10', train_per_class: 20, val_per_class: 10, train_batch_size: 32, val_batch_size: 100 }, scheduler: { max_epochs: 2, warmup_iterations: 2 }, common: { out: '/tmp/run1', log_every: 1 } });
const r = await trainClassifier(config, { print: console.log, progress: true });
console.log(r);
