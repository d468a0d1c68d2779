import type { TChatModel } from './chat-pane';

/**
 * The model the second pane starts with when "Compare" is pressed: the point of comparing is a fine-tune against
 * its base (issue 13, item 13), so a fine-tune gets its base model, and a base model gets its newest fine-tune
 * (the list is newest first). Only without such a pair: a deployed model, else any other.
 */
export function comparePartner(models: TChatModel[], current: string): string {
  const here = models.find((m) => m.id === current);
  const others = models.filter((m) => m.id !== current);
  const pair =
    here?.kind === 'fine_tuned'
      ? others.find((m) => m.kind === 'base' && m.id === here.base)
      : others.find((m) => m.kind === 'fine_tuned' && m.base === current);
  return (
    (
      pair ??
      (here?.kind === 'base' ? others.find((m) => m.kind === 'fine_tuned') : others.find((m) => m.kind === 'base')) ??
      others.find((m) => m.deployed) ??
      others[0] ??
      models[0]
    )?.id ?? ''
  );
}
