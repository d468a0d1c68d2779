// Plain module (not 'use client') so the server page can read the list too.
export const SETTINGS_TABS = ['general', 'members', 'api-keys'] as const;
export type TSettingsTab = (typeof SETTINGS_TABS)[number];
