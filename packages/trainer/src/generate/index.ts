export { type GenerateOptions, generate, generateTokens } from './generate';
export { argmax, nucleus, type SampleOptions, sampleToken } from './sample';
