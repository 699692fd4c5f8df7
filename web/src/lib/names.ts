/** A child's full name as the server writes it: 李小明 without a space, Li Xiaoming with one. */
export function fullName(family: string, given: string): string {
  const latin = (c: string | undefined) => c !== undefined && c.charCodeAt(0) < 128;
  return latin(family.trim().slice(-1)) && latin(given.trim()[0]) ? `${family.trim()} ${given.trim()}` : `${family.trim()}${given.trim()}`;
}
