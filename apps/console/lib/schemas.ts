import { z } from 'zod';

/**
 * Input schemas shared by the REST API (apps/console/lib/server) and the
 * console's forms, so a form and the route it posts to can never disagree.
 * Browser-safe: this file imports nothing but zod.
 */

/** Same list and order as @crucible/auth's ROLES (a test holds them together). */
export const WORKSPACE_ROLES = ['viewer', 'developer', 'admin', 'owner'] as const;
export const ZWorkspaceRole = z.enum(WORKSPACE_ROLES);
export type TWorkspaceRole = z.infer<typeof ZWorkspaceRole>;

export const LOCALES = ['en', 'zh-CN'] as const;
export const ZLocale = z.enum(LOCALES);
export type TLocale = z.infer<typeof ZLocale>;

export const ZEmail = z.string().trim().toLowerCase().pipe(z.email('Enter a valid email address.'));
export const ZPassword = z
  .string()
  .min(8, 'The password must have at least 8 characters.')
  .max(128, 'The password must have at most 128 characters.');

export const ZSignUp = z.object({
  name: z.string().trim().min(1, 'Enter your name.').max(100),
  email: ZEmail,
  password: ZPassword,
});
export type TSignUp = z.infer<typeof ZSignUp>;

export const ZSignIn = z.object({
  email: ZEmail,
  password: z.string().min(1, 'Enter your password.'),
});
export type TSignIn = z.infer<typeof ZSignIn>;

/** URL-safe: lower-case letters, digits and inner hyphens, 2–48 characters. */
export const ZWorkspaceSlug = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,46}[a-z0-9]$/,
    'Use 2–48 lower-case letters, digits or hyphens, starting and ending with a letter or digit.',
  );

export const ZWorkspaceName = z.string().trim().min(1, 'Enter a name.').max(64, 'Use at most 64 characters.');

export const ZCreateWorkspace = z.object({ name: ZWorkspaceName, slug: ZWorkspaceSlug });
export type TCreateWorkspace = z.infer<typeof ZCreateWorkspace>;

export const ZUpdateWorkspace = z.object({ name: ZWorkspaceName });
export type TUpdateWorkspace = z.infer<typeof ZUpdateWorkspace>;

export const ZUpdateMe = z.object({ locale: ZLocale });
export type TUpdateMe = z.infer<typeof ZUpdateMe>;

export const ZUpdateMemberRole = z.object({ role: ZWorkspaceRole });
export type TUpdateMemberRole = z.infer<typeof ZUpdateMemberRole>;

export const ZCreateInvitation = z.object({
  email: ZEmail,
  role: ZWorkspaceRole.default('developer'),
});
export type TCreateInvitation = z.infer<typeof ZCreateInvitation>;

export const ZCreateApiKey = z.object({
  name: z.string().trim().min(1, 'Enter a name.').max(64, 'Use at most 64 characters.'),
});
export type TCreateApiKey = z.infer<typeof ZCreateApiKey>;
