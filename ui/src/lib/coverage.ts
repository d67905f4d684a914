// Words and tones for the Recoverability view, from the engine's verdicts.
import type { Coverage, Verdict } from './bindings'

export function verdictText(v: Verdict): string {
  switch (v) {
    case 'lost':
      return 'Lost: not on the server, no copy'
    case 'server_only':
      return 'At risk: only on the server'
    case 'copy_only':
      return 'Not on the server: restore the copy'
    case 'covered':
      return 'Covered'
  }
}

export function verdictTone(v: Verdict): 'bad' | 'warn' | 'ok' {
  return v === 'lost' ? 'bad' : v === 'covered' ? 'ok' : 'warn'
}

/** The view's first line: the worst thing first, in numbers. */
export function coverageSummary(c: Coverage): { tone: 'bad' | 'warn' | 'ok'; text: string } {
  const count = (v: Verdict) => c.certificates.filter((x) => x.verdict === v)
  const lost = count('lost')
  const backupsOf = (xs: { backups: number }[]) => xs.reduce((n, x) => n + x.backups, 0)
  if (lost.length) {
    return {
      tone: 'bad',
      text: `${backupsOf(lost)} kept backup(s) cannot be restored anywhere: ${lost.length} certificate(s) they need are gone from the server and Keysafe holds no copy.`,
    }
  }
  const risky = [...count('server_only'), ...count('copy_only')]
  if (risky.length) {
    return {
      tone: 'warn',
      text: `${backupsOf(risky)} kept backup(s) depend on ${risky.length} certificate(s) kept in one place only.`,
    }
  }
  const unknown = c.backups.filter((b) => b.unknown).length
  if (unknown) return { tone: 'warn', text: `${unknown} kept backup(s) could not be read to tell what they need.` }
  return { tone: 'ok', text: `Every one of ${c.backups.length} kept backup(s) can be restored: each certificate they need is on the server and in a verified Keysafe copy.` }
}
