/** Where a command writes; tests pass their own to read what was printed. */
export type TIo = { out: (text: string) => void; err: (text: string) => void };

export const processIo: TIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};
