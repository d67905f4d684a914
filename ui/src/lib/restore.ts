// The Restore dialog's logic, apart from its markup: which keys a checked medium offers, what
// each kind of key needs, and how progress reads. The engine decides; this only arranges.
import type { CopyCheck, KeyRef, MediumCheck, RestoreProgress } from './bindings'
import { count } from './format'

export interface KeyOption {
  /** Stable id: server and key. */
  id: string
  server: string
  key: KeyRef
  label: string
  copies: CopyCheck[]
  /** Every file of this key matches the report. */
  matches: boolean
}

export function keyId(server: string, k: KeyRef): string {
  switch (k.kind) {
    case 'service_master_key':
      return `${server}\u0000smk`
    case 'database_master_key':
      return `${server}\u0000dmk\u0000${k.database}`
    case 'certificate':
      return `${server}\u0000cert\u0000${k.database}\u0000${k.name}`
  }
}

export function sameKey(a: KeyRef, b: KeyRef): boolean {
  return keyId('', a) === keyId('', b)
}

/** One option per key of each server the report lists, in the report's order. */
export function keyOptions(check: MediumCheck | null): KeyOption[] {
  const out: KeyOption[] = []
  for (const c of check?.copies ?? []) {
    const id = keyId(c.server, c.key_ref)
    let o = out.find((x) => x.id === id)
    if (!o) {
      o = { id, server: c.server, key: c.key_ref, label: c.key, copies: [], matches: true }
      out.push(o)
    }
    o.copies.push(c)
    o.matches = o.matches && c.state === 'matches'
  }
  return out
}

/** The option for the key the dialog was opened on, if the medium holds it. */
export function preselect(options: KeyOption[], key: KeyRef | null): KeyOption | null {
  if (!key) return options.length === 1 ? options[0] : null
  return options.find((o) => sameKey(o.key, key)) ?? null
}

/** Whether the key's restore needs a file the server reads (a certificate as .cer + .pvk does not). */
export function needsServerFile(o: KeyOption | null): boolean {
  if (!o) return false
  if (o.key.kind !== 'certificate') return true
  return !(o.copies.some((c) => c.path.endsWith('.cer')) && o.copies.some((c) => c.path.endsWith('.pvk')))
}

export function describeProgress(p: RestoreProgress): string {
  switch (p.step) {
    case 'medium_checked':
      return `${count(p.copies, 'file')} of the key match the report`
    case 'copy_needed':
      return `Copy ${p.medium_path} to ${p.server_path} on the server (its service account must be able to read it). Waiting up to ${p.waiting_seconds} s…`
    case 'placed':
      return `The server reads ${p.server_path} with the medium's SHA-256`
    case 'restoring':
      return p.statement
  }
}
