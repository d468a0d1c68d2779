export * from './define';
export * from './deployment';
export * from './training';
