// Makes the CIFAR-10 sample shipped in examples/cifar10/sample: the first 200 training and 50 test
// images of every class (file-name order) of the CIFAR-10 image folders, copied byte for byte.
//
//   npx tsx examples/cifar10/make-sample.ts [<cifar10 dir with train/ and test/>]
// (default $PARCNET_DATA/cifar10)
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listImageFolder } from '@parcnet/data';

const PER_CLASS = { train: 200, test: 50 };
const source = process.argv[2] ?? join(process.env.PARCNET_DATA ?? '../shared/data', 'cifar10');
const target = join(dirname(fileURLToPath(import.meta.url)), 'sample');

rmSync(target, { recursive: true, force: true });
let bytes = 0;
for (const split of ['train', 'test'] as const) {
  const listing = listImageFolder(join(source, split));
  const taken = listing.classes.map(() => 0);
  for (const { path, label } of listing.files) {
    if (taken[label] >= PER_CLASS[split]) continue;
    taken[label]++;
    const to = join(target, split, listing.classes[label], basename(path));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(path, to);
    bytes += statSync(to).size;
  }
  console.log(`${split}: ${taken.reduce((a, b) => a + b, 0)} images (${taken.join('/')} per class)`);
}
console.log(`${(bytes / 1e6).toFixed(2)} MB in ${target}`);
