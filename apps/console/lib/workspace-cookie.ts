/** Remembers the last opened workspace so "/" can return to it (written by the workspace shell on the client). */
export const LAST_WORKSPACE_COOKIE = 'crucible-last-workspace';
