export * from './define';
export * from './deployment';
export * from './model-export';
export * from './training';
