/**
 * A real SMTP server for tests (smtp-server, from the nodemailer project) on a free local port. It records every
 * message it accepted with its envelope and decoded subject, and can refuse chosen recipients (550 at RCPT TO).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

type TReceived = { from: string; to: string[]; subject: string; raw: string };

export type TTestSmtp = {
  url: string;
  port: number;
  received: TReceived[];
  /** Addresses answered with 550 at RCPT TO (lower case). */
  refuse: Set<string>;
  close(): Promise<void>;
};

/** RFC 2047 encoded words (=?UTF-8?B?...?= / ?Q?) in an unfolded header, as a mail client would show them. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?') // whitespace between adjacent encoded words is not part of the text
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(
            data
              .replace(/_/g, ' ')
              .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

function headerOf(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? decodeHeader(line.slice(name.length + 1).trim()) : '';
}

/** Starts the server; `user`/`pass` are required (AUTH PLAIN/LOGIN over plain text, as a local relay might allow). */
export async function startTestSmtp(opts: { user?: string; pass?: string; port?: number } = {}): Promise<TTestSmtp> {
  const user = opts.user ?? 'crucible';
  const pass = opts.pass ?? 'secret';
  const received: TReceived[] = [];
  const refuse = new Set<string>();
  const server = new SMTPServer({
    // no certificate here: STARTTLS off, so nodemailer stays on plain SMTP
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 2_000,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) cb(null, { user });
      else cb(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, cb) {
      if (refuse.has(address.address.toLowerCase())) {
        const error = new Error(`Mailbox ${address.address} unavailable`) as Error & { responseCode: number };
        error.responseCode = 550;
        cb(error);
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        received.push({
          from,
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: headerOf(raw, 'subject'),
          raw,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://${user}:${pass}@127.0.0.1:${port}`,
    port,
    received,
    refuse,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
