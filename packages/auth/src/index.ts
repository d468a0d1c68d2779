export { auth, createAuth, getAuth, type Session, type TAuth } from './auth';
export { readAuthEnv, ZAuthEnv, type TAuthEnv } from './env';
export {
  API_KEY_ROLE,
  ac,
  ROLES,
  roleAtLeast,
  roleRank,
  roles,
  statements,
  ZRole,
  type TRole,
} from './permissions';
export {
  API_KEY_PREFIX,
  createWorkspaceApiKey,
  hashApiKey,
  listWorkspaceApiKeys,
  looksLikeApiKey,
  revokeWorkspaceApiKey,
  verifyApiKey,
  type TApiKeySummary,
  type TCreatedApiKey,
} from './api-keys';
export {
  AdminError,
  createApiKey,
  createUserWithPassword,
  createWorkspace,
  findUserByEmail,
  findWorkspaceBySlug,
  type TAdminErrorCode,
  type TUser,
  type TWorkspace,
} from './admin';
