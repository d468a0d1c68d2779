export * from './define';
export * from './deployment';
export * from './evaluation';
export * from './housekeeping';
export * from './model-download';
export * from './model-export';
export * from './training';
