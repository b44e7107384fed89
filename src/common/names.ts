// Names users give to things (volumes, databases, later schedules and rules):
// the one place that says what a valid name is. Names end up in file names,
// URLs and log lines, so they stay short and free of path and shell tricks.
import { ArcaError } from '../errors.js';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type NameKind = 'volume' | 'database' | 'schedule' | 'rule' | 'user';

/** True when `name` is a valid name (1–64 chars of [A-Za-z0-9._-], starting alphanumeric, no ".."). */
export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name) && !name.includes('..');
}

/** Returns `name` unchanged, or throws ArcaError('USAGE') saying what a valid name looks like. */
export function validateName(kind: NameKind, name: string): string {
  if (isValidName(name)) return name;
  const shown = JSON.stringify(name.length > 70 ? `${name.slice(0, 70)}…` : name);
  throw new ArcaError(
    'USAGE',
    `invalid ${kind} name ${shown}: use 1-64 letters, digits, '.', '_' or '-', ` +
      `starting with a letter or digit, without '..'`,
  );
}
