import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalStorage } from '../src/index';
import { type TTarEntry, tarHeader, tarObjects, tarSize } from '../src/tar';

/**
 * The archive writer is checked by independent readers: GNU tar (Debian's /usr/bin/tar) extracts it and Python's
 * tarfile lists it; neither shares a line with the writer.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'crucible-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const local = (name: string) =>
  createLocalStorage({ root: path.join(dir, name), signingSecret: 'test', publicUrl: 'http://x' });

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

describe('tarObjects', () => {
  it('streams stored objects into an archive that GNU tar extracts byte for byte', async () => {
    const storage = local('store');
    const files = {
      'adapter_config.json': Buffer.from('{"r": 8}\n'),
      'adapter_model.safetensors': randomBytes(512 * 3), // an exact multiple of the block size: no padding
      'README.md': randomBytes(70_001),
      empty: Buffer.alloc(0),
    };
    // a name past ustar's 100-byte name field goes into the prefix field
    const long = `${'deep/'.repeat(30)}tokenizer.json`;
    const entries: TTarEntry[] = [];
    for (const [name, body] of [...Object.entries(files), [long, randomBytes(999)] as const]) {
      const key = `workspaces/w/models/m/${name}`;
      await storage.putObject(key, body);
      entries.push({ name: `ft-model/${name}`, key, size: body.length, mtime: new Date('2026-01-02T03:04:05Z') });
    }
    const card = Buffer.from('# 模型卡\n');
    entries.push({ name: 'ft-model/CARD.md', body: card, size: card.length });
    const tar = await readAll(tarObjects(storage, entries));
    expect(tar.length).toBe(tarSize(entries));
    expect(tar.length % 512).toBe(0);
    const file = path.join(dir, 'a.tar');
    writeFileSync(file, tar);
    const out = path.join(dir, 'out');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', file, '-C', out]);
    for (const [name, body] of Object.entries(files)) {
      expect(readFileSync(path.join(out, 'ft-model', name)).equals(body), name).toBe(true);
    }
    expect(readFileSync(path.join(out, 'ft-model', long)).length).toBe(999);
    expect(readFileSync(path.join(out, 'ft-model', 'CARD.md')).equals(card)).toBe(true);
    const listing = execFileSync('tar', ['-tvf', file], { env: { ...process.env, TZ: 'UTC' } }).toString();
    expect(listing).toContain('2026-01-02 03:04');
    expect(listing).toContain('crucible/crucible');
  });

  it('fails the stream instead of writing a short entry when an object is not the listed size', async () => {
    const storage = local('store2');
    await storage.putObject('workspaces/w/x', Buffer.from('12345'));
    const stream = tarObjects(storage, [{ name: 'x', key: 'workspaces/w/x', size: 6 }]);
    await expect(readAll(stream)).rejects.toThrow(/5 bytes, its listing said 6/);
  });

  it('writes sizes of 8 GiB and more in base-256, as GNU tar and Python tarfile read them', () => {
    const size = 14 * 2 ** 30 + 5; // a merged 7B model in F16
    const header = tarHeader({ name: 'model.safetensors', size });
    expect(header[124]).toBe(0x80);
    // Python's tarfile parses the header alone (it does not need the body to report the size)
    const py = execFileSync(
      'python3',
      [
        '-c',
        'import sys,tarfile; t=tarfile.TarInfo.frombuf(sys.stdin.buffer.read(512),"utf-8","strict"); print(t.size, t.name)',
      ],
      { input: header },
    ).toString();
    expect(py.trim()).toBe(`${size} model.safetensors`);
    const small = tarHeader({ name: 'a', size: 0o77777777777 });
    expect(small.subarray(124, 136).toString('ascii')).toBe('77777777777\0');
  });
});
