export { generate, generateTokens, type GenerateOptions } from './generate';
export { argmax, nucleus, sampleToken, type SampleOptions } from './sample';
