import type { PasswordCheck } from './bindings'

export function strengthPercent(c: PasswordCheck | null): number {
  if (!c) return 0
  return Math.min(100, Math.round((c.entropy_bits / 100) * 100))
}

export function strengthLabel(c: PasswordCheck | null): string {
  if (!c) return ''
  return `${c.strength_words} (about ${c.entropy_bits} bits)`
}
