'use client';

import { organizationClient } from 'better-auth/client/plugins';
import { createAuthClient } from 'better-auth/react';

// Same origin as the console: better-auth is mounted at /api/auth/[...all]. API keys and workspace management go
// through our own REST routes (/api/workspaces/...), which apply our roles and tenant checks; the organization
// client is here for session-level helpers (active workspace) only. (better-auth 1.7 moved `apiKeyClient` to the
// separate @better-auth/api-key package, which we do not need in the browser.)
export const authClient = createAuthClient({ plugins: [organizationClient()] });
