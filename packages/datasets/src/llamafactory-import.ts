import { findDatasetAttr, parseDatasetInfo } from './formats/llamafactory';
import type { TSource } from './parse/records';
import { type TValidateOptions, type TValidationReport, validateStream } from './validate';

export type TLlamaFactoryImportError = { code: 'invalid_dataset_info' | 'dataset_not_in_info'; message: string };

/**
 * An uploaded LLaMA-Factory pair: dataset_info.json (text or parsed) + one data file. The entry is found by
 * `name`, else by the data file's name against `file_name`; rows are then read as LLaMA-Factory reads them
 * (formatting, ranking, columns, tags). A dataset_info that does not describe the file is an error, not a guess.
 */
export async function validateLlamaFactory(
  pair: { datasetInfo: string | unknown; fileName: string; name?: string },
  source: TSource,
  opts: Omit<TValidateOptions, 'datasetAttr' | 'format'> = {},
): Promise<TValidationReport | { error: TLlamaFactoryImportError }> {
  const { attrs, errors } = parseDatasetInfo(pair.datasetInfo);
  const attr = findDatasetAttr(attrs, pair.name ?? pair.fileName);
  if (!attr) {
    const bad = errors.find((e) => pair.name !== undefined && e.message.includes(`"${pair.name}"`)) ?? errors[0];
    if (bad && Object.keys(attrs).length === 0) return { error: bad };
    return {
      error: {
        code: 'dataset_not_in_info',
        message: `dataset_info.json has no entry for ${pair.name ? `"${pair.name}"` : `file_name "${pair.fileName}"`}; add one or upload the file alone.`,
      },
    };
  }
  return validateStream(source, { ...opts, fileName: opts.fileName ?? pair.fileName, datasetAttr: attr });
}
