/**
 * Outgoing e-mail (budget alerts): SMTP through nodemailer, configured by SMTP_URL and MAIL_FROM. No SMTP_URL means
 * no mailer at all (null): alerts stay in the console and the audit log, and their notification is marked skipped.
 */
import { createTransport } from 'nodemailer';
import { z } from 'zod';

export const DEFAULT_MAIL_FROM = 'Crucible <crucible@localhost>';
const DEFAULT_APP_URL = 'http://localhost:3000';
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** `Name <address>` or a bare address. */
const MAIL_FROM = /^(?:[^<>]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/;

export const ZMailEnv = z.object({
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465 (TLS from the start). */
  SMTP_URL: z.preprocess(
    blankToUndefined,
    z
      .url({
        protocol: /^smtps?$/,
        error: 'SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587',
      })
      .optional(),
  ),
  MAIL_FROM: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(MAIL_FROM, 'MAIL_FROM must be an address, e.g. "Crucible <billing@example.com>"')
      .default(DEFAULT_MAIL_FROM),
  ),
  /** Links in mails point at the console. */
  APP_URL: z.preprocess(
    blankToUndefined,
    z.url('APP_URL must be a URL such as http://localhost:3000').default(DEFAULT_APP_URL),
  ),
});
export type TMailEnv = z.infer<typeof ZMailEnv>;

/** Reads and validates the mail settings; a wrong one fails with a sentence naming it (checked at worker boot). */
export function loadMailEnv(env: Record<string, string | undefined> = process.env): TMailEnv {
  const parsed = ZMailEnv.safeParse({ SMTP_URL: env.SMTP_URL, MAIL_FROM: env.MAIL_FROM, APP_URL: env.APP_URL });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid mail configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}

export type TMail = { to: string; subject: string; text: string; html: string };

/** What the notifier needs from a mail transport; tests and other transports can provide their own. */
export type TMailer = {
  send(mail: TMail): Promise<void>;
  close(): void;
};

/** The SMTP server's host and port, for log lines (never the credentials). */
export function describeSmtpUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
}

/**
 * A nodemailer SMTP transport for SMTP_URL, or null when none is configured. Timeouts are short: a dead mail server
 * must not hold the billing job for nodemailer's default two minutes per message.
 */
export function createSmtpMailer(env: TMailEnv): TMailer | null {
  if (!env.SMTP_URL) return null;
  const transport = createTransport(
    { url: env.SMTP_URL, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 },
    { from: env.MAIL_FROM },
  );
  return {
    async send(mail) {
      const info = await transport.sendMail(mail);
      // one recipient per message: a refused RCPT surfaces as an error already; this guards a partial accept
      if (info.rejected?.length) throw new Error(`the server refused ${info.rejected.join(', ')}`);
    },
    close: () => transport.close(),
  };
}
