// Object Explorer Details (F7): every key in scope as rows to sort and filter, and the
// fleet's counts per instance. What needs a backup is the engine's state (`KeyNode.state`,
// `can_back_up`), not decided here.
import type { ConnectionInfo, KeyNode, ServerTree } from './bindings'
import { allKeys } from './tree'

export interface DetailRow {
  connection: number
  server: string
  node: KeyNode
  kind: string
  database: string
}

export interface Scope {
  connection: number | null
  database: string | null
}

/** Backing it up would help: never backed up or at risk, and it can be backed up. */
export function needsBackup(k: KeyNode): boolean {
  return k.can_back_up && k.state !== 'backed_up'
}

export function kindOf(k: KeyNode): string {
  switch (k.key.kind) {
    case 'service_master_key':
      return 'Service master key'
    case 'database_master_key':
      return 'Database master key'
    case 'certificate':
      return 'Certificate'
  }
}

/** The instance's name, with the address it was reached at when another connection has the
 *  same name (two nodes behind one name, or the same server twice). */
export function instanceName(c: ConnectionInfo, connections: ConnectionInfo[]): string {
  const name = c.server_name || c.server
  const twin = connections.some((o) => o.id !== c.id && (o.server_name || o.server) === name)
  return twin && name !== c.server ? `${name} (${c.server})` : name
}

export function rowsFor(connections: ConnectionInfo[], trees: Record<number, ServerTree>, scope: Scope): DetailRow[] {
  const rows: DetailRow[] = []
  for (const c of connections) {
    if (scope.connection !== null && c.id !== scope.connection) continue
    const t = trees[c.id]
    if (!t) continue
    for (const k of allKeys(t)) {
      const database = k.key.kind === 'service_master_key' ? '' : k.key.database
      if (scope.database !== null && database !== scope.database) continue
      rows.push({ connection: c.id, server: instanceName(c, connections), node: k, kind: kindOf(k), database })
    }
  }
  return rows
}

export type SortKey = 'server' | 'label' | 'kind' | 'database' | 'protection' | 'last' | 'changed' | 'expiry' | 'state'

const stateOrder = { risk: 0, never: 1, backed_up: 2 } as const

function sortValue(r: DetailRow, key: SortKey): string | number {
  const k = r.node
  switch (key) {
    case 'server': return r.server.toLowerCase()
    case 'label': return k.label.toLowerCase()
    case 'kind': return r.kind
    case 'database': return r.database.toLowerCase()
    case 'protection': return k.protection
    // ISO dates sort as text; "never" sorts first.
    case 'last': return k.last_verified ?? k.server_record ?? ''
    case 'changed': return k.changed_since_backup ? 0 : 1
    case 'expiry': return k.expiry ?? '9999'
    case 'state': return stateOrder[k.state]
  }
}

export function sortRows(rows: DetailRow[], key: SortKey, ascending: boolean): DetailRow[] {
  const dir = ascending ? 1 : -1
  return [...rows].sort((a, b) => {
    const [x, y] = [sortValue(a, key), sortValue(b, key)]
    if (x < y) return -dir
    if (x > y) return dir
    // Stable and predictable: then by instance and key.
    return a.server.localeCompare(b.server) || a.node.label.localeCompare(b.node.label)
  })
}

/** Rows whose instance, key, database, protection or risk contains every typed word. */
export function filterRows(rows: DetailRow[], text: string, onlyNeeds: boolean): DetailRow[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean)
  return rows.filter((r) => {
    if (onlyNeeds && !needsBackup(r.node)) return false
    const hay = [r.server, r.node.label, r.kind, r.database, r.node.protection, r.node.risk ?? '', r.node.state.replace('_', ' ')].join(' ').toLowerCase()
    return words.every((w) => hay.includes(w))
  })
}

export interface FleetRow {
  connection: number
  server: string
  keys: number
  backedUp: number
  never: number
  risk: number
  needs: number
}

export function fleetRows(connections: ConnectionInfo[], trees: Record<number, ServerTree>): FleetRow[] {
  return connections.map((c) => {
    const keys = trees[c.id] ? allKeys(trees[c.id]) : []
    return {
      connection: c.id,
      server: instanceName(c, connections),
      keys: keys.length,
      backedUp: keys.filter((k) => k.state === 'backed_up').length,
      never: keys.filter((k) => k.state === 'never').length,
      risk: keys.filter((k) => k.state === 'risk').length,
      needs: keys.filter(needsBackup).length,
    }
  })
}

/** A risk the engine found on an instance (its inventory, and the last key parity check), in
 * scope: an instance's risks, or a database's (their object is the database or one of its
 * keys). Most severe first, as the engine ordered them. */
export type RiskRow = { connection: number; server: string; severity: string; object: string; text: string }

export function risksFor(connections: ConnectionInfo[], trees: Record<number, ServerTree>, scope: Scope): RiskRow[] {
  const rows: RiskRow[] = []
  for (const c of connections) {
    if (scope.connection !== null && c.id !== scope.connection) continue
    for (const r of trees[c.id]?.risks ?? []) {
      const db = scope.database
      if (db !== null && r.object !== db && !r.object.startsWith(`${db}.`) && !r.object.startsWith(`${db} `)) continue
      rows.push({ connection: c.id, server: instanceName(c, connections), ...r })
    }
  }
  return rows
}
