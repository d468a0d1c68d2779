export { segment } from './segment';
export { meanScores, scoreSimilarity, type TSimilarity } from './similarity';
