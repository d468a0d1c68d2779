import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAdminCommand, type TIo } from './index';

/**
 * The admin commands against a real, fresh database; the key the last command
 * prints is then used to authenticate, as a script would.
 */

// Password hashing and a fresh database: slower than the 5 s default allows on a busy machine.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const { createTestDatabase } = await import('@crucible/db/testing');
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  drop = db.drop;
}, 60_000);

afterAll(async () => {
  const { disconnectAll } = await import('@crucible/db');
  await disconnectAll();
  await drop?.();
});

function capture(): TIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => (out += t), err: (t) => (err += t), stdout: () => out, stderr: () => err };
}

async function run(argv: string[]) {
  const io = capture();
  const code = await runAdminCommand(argv, io, { closeDatabase: false });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

describe('crucible admin commands', () => {
  it('creates a user, a workspace and a key; the printed key authenticates for that workspace', async () => {
    const user = await run(['user', 'create', '--email', 'Admin@Example.com', '--password', 'a long password']);
    expect(user).toMatchObject({ code: 0, stderr: '' });

    const ws = await run(['workspace', 'create', '--name', 'Acme', '--slug', 'acme', '--owner', 'admin@example.com']);
    expect(ws).toMatchObject({ code: 0, stderr: '' });

    const key = await run(['key', 'create', '--workspace', 'acme', '--name', 'ci']);
    expect(key.code).toBe(0);
    const lines = key.stdout.trimEnd().split('\n');
    const printed = lines[lines.length - 1];
    expect(printed).toMatch(/^crk_[A-Za-z0-9_-]{40,}$/);
    // Shown once: only the last line has it.
    expect(lines.slice(0, -1).join('\n')).not.toContain(printed);

    const { verifyApiKey, findWorkspaceBySlug, getAuth } = await import('@crucible/auth');
    const verified = await verifyApiKey(printed);
    const acme = await findWorkspaceBySlug('acme');
    expect(verified?.workspaceId).toBe(acme?.id);
    expect(verified?.name).toBe('ci');

    // The user signs in with the password given on the command line, and owns the workspace.
    const signIn = await getAuth().api.signInEmail({
      body: { email: 'admin@example.com', password: 'a long password' },
    });
    expect(signIn.user.email).toBe('admin@example.com');
    const { getPrisma } = await import('@crucible/db');
    const member = await getPrisma().member.findFirst({ where: { userId: signIn.user.id, organizationId: acme?.id } });
    expect(member?.role).toBe('owner');
  });

  it('refuses a duplicate user, an unknown owner and an unknown workspace with exit 1 and a sentence', async () => {
    await run(['user', 'create', '--email', 'dup@example.com', '--password', 'password123']);
    const dup = await run(['user', 'create', '--email', 'dup@example.com', '--password', 'password123']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);

    const noOwner = await run([
      'workspace',
      'create',
      '--name',
      'X',
      '--slug',
      'x-ws',
      '--owner',
      'nobody@example.com',
    ]);
    expect(noOwner.code).toBe(1);
    expect(noOwner.stderr).toMatch(/No user/);

    const noWs = await run(['key', 'create', '--workspace', 'missing']);
    expect(noWs.code).toBe(1);
    expect(noWs.stdout).toBe('');
  });

  it('makes instance admins: user create --admin, user promote and demote (audited); others stay plain users', async () => {
    const { getPrisma } = await import('@crucible/db');
    const role = async (email: string) => (await getPrisma().user.findUnique({ where: { email } }))?.role;
    const made = await run([
      'user',
      'create',
      '--email',
      'root@example.com',
      '--password',
      'a long password',
      '--admin',
    ]);
    expect(made).toMatchObject({ code: 0, stderr: '' });
    expect(made.stdout).toContain('root@example.com is an instance admin');
    expect(await role('root@example.com')).toBe('admin');

    await run(['user', 'create', '--email', 'plain@example.com', '--password', 'a long password']);
    expect(await role('plain@example.com')).toBe('user');
    expect(await run(['user', 'promote', '--email', 'Plain@Example.com'])).toMatchObject({ code: 0, stderr: '' });
    expect(await role('plain@example.com')).toBe('admin');
    expect(await run(['user', 'demote', '--email', 'plain@example.com'])).toMatchObject({ code: 0 });
    expect(await role('plain@example.com')).toBe('user');
    const audit = await getPrisma().auditLog.findMany({
      where: { action: 'user.role_change', workspaceId: null },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((a) => (a.data as { to: string }).to)).toEqual(['admin', 'admin', 'user']);

    expect((await run(['user', 'promote', '--email', 'ghost@example.com'])).code).toBe(1);
    expect((await run(['user', 'promote'])).code).toBe(2);
    expect(
      (await run(['user', 'create', '--email', 'x@example.com', '--password', 'a long password', '--admin=yes'])).code,
    ).toBe(2);
  });

  it('answers usage errors with exit 2', async () => {
    expect((await run(['user', 'create', '--email', 'x@example.com'])).code).toBe(2);
    expect((await run(['workspace', 'create', '--name', 'N', '--slug', 'Bad Slug', '--owner', 'a@b.co'])).code).toBe(2);
    expect((await run(['key', 'frobnicate'])).code).toBe(2);
    expect((await run(['key', 'create', '--workspace'])).code).toBe(2);
  });
});

describe('crucible reads .env as npm start does (issue 13, finding 5)', () => {
  it('acts on the database .env names, and says which one and which workspace', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const dir = mkdtempSync(path.join(tmpdir(), 'crucible-dotenv-'));
    const dotenv = path.join(dir, '.env');
    writeFileSync(dotenv, `# the console's settings\nDATABASE_URL=${process.env.DATABASE_URL}\n`);
    const bin = fileURLToPath(new URL('../../bin/crucible.mjs', import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env, CRUCIBLE_DOTENV: dotenv };
    delete env.DATABASE_URL; // only .env says where the database is
    try {
      const made = spawnSync(
        process.execPath,
        [bin, 'user', 'create', '--email', 'dotenv@example.com', '--password', 'a long password'],
        {
          env,
          encoding: 'utf8',
        },
      );
      expect(made.status, made.stderr).toBe(0);
      const db = new URL(process.env.DATABASE_URL as string);
      expect(made.stderr).toContain(`crucible: database postgres@${db.host}${db.pathname}`);
      const { getPrisma } = await import('@crucible/db');
      expect(await getPrisma().user.findUnique({ where: { email: 'dotenv@example.com' } })).not.toBeNull();
      const listed = spawnSync(process.execPath, [bin, 'jobs', 'list', '--workspace', 'acme'], {
        env,
        encoding: 'utf8',
      });
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stderr).toContain('crucible: workspace acme (Acme)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
