import { ServiceError } from './errors';

/** A base model's name: it becomes part of fine-tuned model ids (`ft:NAME:...`). */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkModelName(name: string): void {
  if (!MODEL_NAME.test(name)) {
    throw new ServiceError(
      'invalid_request',
      `The model name "${name}" is not valid: use 1-64 letters, digits, ".", "_" or "-" (it becomes part of fine-tuned model ids).`,
      'name',
    );
  }
}
