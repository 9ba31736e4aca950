/**
 * Phone numbers as the customer file compares them. A caller arrives as whatever the trunk sent
 * (`+44 20 7946 0000`, `sip:+442079460000@carrier;user=phone`, `0044…`); the file keys customers by
 * one spelling: scheme, host and URI parameters dropped, only digits kept with a leading +, and the
 * international prefix 00 read as +. The SQL function cc_normalise_number (migration
 * 1766200000000_customers.sql) does the same, so contacts are found by an index on it.
 */
export function normaliseNumber(raw: string | undefined | null): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const user = raw
    .replace(/^\s*(sips?|tel):/i, '')
    .split('@')[0]!
    .split(';')[0]!;
  const digits = user.replace(/[^0-9]/g, '');
  if (digits === '') return undefined;
  if (digits.startsWith('00')) return `+${digits.slice(2)}`;
  return /^\s*\+/.test(user) ? `+${digits}` : digits;
}
