import type { PasswordCheck } from './bindings'

export function strengthPercent(c: PasswordCheck | null): number {
  if (!c) return 0
  return Math.min(100, Math.round((c.entropy_bits / 100) * 100))
}

export function strengthLabel(c: PasswordCheck | null): string {
  if (!c) return ''
  const words: Record<string, string> = { Weak: 'weak', Fair: 'fair', Strong: 'strong', VeryStrong: 'very strong' }
  return `${words[c.strength] ?? c.strength} (about ${c.entropy_bits} bits)`
}

export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}
