export {
  AdminError,
  createApiKey,
  createUserWithPassword,
  createWorkspace,
  findUserByEmail,
  findWorkspaceBySlug,
  setInstanceRole,
  type TAdminErrorCode,
  type TInstanceRole,
  type TUser,
  type TWorkspace,
} from './admin';
export {
  API_KEY_PREFIX,
  createWorkspaceApiKey,
  hashApiKey,
  listWorkspaceApiKeys,
  looksLikeApiKey,
  revokeWorkspaceApiKey,
  type TApiKeySummary,
  type TCreatedApiKey,
  verifyApiKey,
} from './api-keys';
export { auth, createAuth, getAuth, type Session, type TAuth } from './auth';
export { readAuthEnv, type TAuthEnv, ZAuthEnv } from './env';
export {
  API_KEY_ROLE,
  ac,
  ROLES,
  roleAtLeast,
  roleRank,
  roles,
  statements,
  type TRole,
  ZRole,
} from './permissions';
