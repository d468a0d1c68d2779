export { type FrozenDtype, peftKey, resolveLoraTargets } from './build';
export { parseModelConfig, type THfConfig, toHfConfig, ZHfConfig } from './config';
export { ModelError, type TModelErrorCode } from './errors';
export { createModel } from './model';
export { randomWeights } from './random';
export { createRng } from './rng';
export { ropeInvFreq } from './rope';
export { weightShapes } from './shapes';
export * from './types';
