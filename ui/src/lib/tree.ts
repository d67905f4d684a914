// Object Explorer's presentation logic: badges, labels, what a key's context menu offers.
import type { BackupState, KeyRef, KeyNode, ServerTree } from './bindings'
import { localTime, utcTime } from './format'

/** The badge's words; `title` (the tooltip) has the UTC time where the words have the local one. */
export function stateBadge(k: KeyNode): { text: string; title?: string; tone: 'ok' | 'warn' | 'never' } {
  switch (k.state) {
    case 'backed_up':
      if (k.last_verified) return { text: `backed up ${localTime(k.last_verified)}`, title: `backed up ${utcTime(k.last_verified)}`, tone: 'ok' }
      if (k.server_record) return { text: `backed up ${k.server_record} (server record)`, tone: 'ok' }
      return { text: 'backed up', tone: 'ok' }
    case 'risk':
      return { text: k.risk ? `risk: ${k.risk}` : 'risk', tone: 'warn' }
    default:
      return { text: 'never backed up', tone: 'never' }
  }
}

/** The icon that shows a key's state (the words are in stateBadge). */
export function stateIcon(k: KeyNode): 'pass-filled' | 'warning' | 'circle-slash' {
  return k.state === 'backed_up' ? 'pass-filled' : k.state === 'risk' ? 'warning' : 'circle-slash'
}

export function keyNodeId(serverId: number, k: KeyRef): string {
  switch (k.kind) {
    case 'service_master_key':
      return `${serverId}/smk`
    case 'database_master_key':
      return `${serverId}/db/${k.database}/dmk`
    case 'certificate':
      return `${serverId}/db/${k.database}/cert/${k.name}`
  }
}

/** Every key of a tree, SMK first. */
export function allKeys(t: ServerTree): KeyNode[] {
  const out: KeyNode[] = []
  if (t.service_master_key) out.push(t.service_master_key)
  for (const d of t.databases) {
    if (d.master_key) out.push(d.master_key)
    out.push(...d.certificates)
  }
  return out
}

export function countByState(t: ServerTree): Record<BackupState, number> {
  const c: Record<BackupState, number> = { never: 0, backed_up: 0, risk: 0 }
  for (const k of allKeys(t)) c[k.state]++
  return c
}

/** A certificate with no private key cannot be backed up with its key; SSMS greys it. The
 * engine decides (`can_back_up`). */
export function canBackUp(k: KeyNode): boolean {
  return k.can_back_up
}
