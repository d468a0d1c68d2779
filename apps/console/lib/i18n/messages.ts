import en from '../../messages/en.json';
import zhCN from '../../messages/zh-CN.json';
import type { TLocale } from './config';
import type { TMessages } from './translate';

// Both catalogues are small (a few KB); the server imports both, the client only receives the active one.
const catalogues: Record<TLocale, TMessages> = { en, 'zh-CN': zhCN };

export const getMessages = (locale: TLocale): TMessages => catalogues[locale];
export const englishMessages = en;
