/** `User` in namespace `Bank` is `Bank::User`; a name that already has `::` is taken as written. */
export function qualifyType(namespace: string | undefined, name: string): string {
  return namespace === undefined || name.includes('::') ? name : `${namespace}::${name}`;
}
