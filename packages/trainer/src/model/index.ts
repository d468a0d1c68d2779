export * from './types';
export { parseModelConfig, toHfConfig, ZHfConfig, type THfConfig } from './config';
export { createModel } from './model';
export { peftKey, resolveLoraTargets } from './build';
export { ModelError, type TModelErrorCode } from './errors';
export { createRng } from './rng';
export { randomWeights, weightShapes } from './random';
