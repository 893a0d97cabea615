import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('the API reference (npm run docs)', () => {
  it('TypeDoc builds it from the doc comments with no warning: every exported name is documented', () => {
    const out = mkdtempSync(join(tmpdir(), 'parcnet-api-'));
    try {
      // typedoc.json treats warnings as errors, "not documented" among them.
      const log = execFileSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(log).not.toMatch(/warning/i);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
