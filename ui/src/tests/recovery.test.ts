// Recovery in the app: the keys a checked medium offers, the Restore dialog's guard on the
// service master key, and the Recoverability view's loudest line.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fireEvent, render } from '@testing-library/svelte'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import RestoreDialog from '../components/RestoreDialog.svelte'
import RecoverabilityView from '../components/RecoverabilityView.svelte'
import { app } from '../lib/app.svelte'
import { keyOptions, needsServerFile, preselect } from '../lib/restore'
import type { ConnectionInfo, CopyCheck, Coverage, MediumCheck } from '../lib/bindings'

const conn: ConnectionInfo = { id: 1, server: 'sqldr', server_name: 'SQLDR', version: '16.0', edition: 'Developer', platform: 'Windows', login: 'sa', database: 'master', profile: null, color: null }
const copy = (c: Partial<CopyCheck>): CopyCheck => ({ server: 'SQL01', key: 'Service Master Key', key_ref: { kind: 'service_master_key' }, path: '/m/SQL01/SMK.key', expected_sha256: 'AA', actual_sha256: 'AA', state: 'matches', thumbprint: null, refused: null, ...c })
const medium: MediumCheck = {
  report: '/m/keysafe-report-1.json',
  run_id: 'r1',
  copies: [
    copy({}),
    copy({ key: 'certificate master.TDE', key_ref: { kind: 'certificate', database: 'master', name: 'TDE' }, path: '/m/SQL01/CERT-master-TDE.cer' }),
    copy({ key: 'certificate master.TDE', key_ref: { kind: 'certificate', database: 'master', name: 'TDE' }, path: '/m/SQL01/CERT-master-TDE.pvk' }),
    copy({ key: 'Sales database master key', key_ref: { kind: 'database_master_key', database: 'Sales' }, path: '/m/SQL01/DMK-Sales.key', state: 'differs', actual_sha256: 'BB' }),
  ],
}

describe('the keys a checked medium offers', () => {
  it('groups a key’s files, and a key with a changed copy cannot be chosen', () => {
    const o = keyOptions(medium)
    expect(o.map((x) => x.label)).toEqual(['Service Master Key', 'certificate master.TDE', 'Sales database master key'])
    expect(o[1].copies).toHaveLength(2)
    expect(o[2].matches).toBe(false)
    expect(needsServerFile(o[1])).toBe(false)
    expect(needsServerFile(o[0])).toBe(true)
    expect(preselect(o, { kind: 'certificate', database: 'master', name: 'TDE' })?.id).toBe(o[1].id)
    expect(preselect(o, { kind: 'certificate', database: 'x', name: 'y' })).toBeNull()
  })
})

describe('the Restore dialog', () => {
  let calls: { cmd: string; args: unknown }[] = []
  beforeEach(() => {
    calls = []
    app.connections = [conn]
    app.smkConsequences = 'RESTORE SERVICE MASTER KEY decrypts everything the current key protects.'
    mockIPC((cmd, args) => {
      calls.push({ cmd, args })
      if (cmd === 'check_medium') return medium
      return null
    })
  })
  afterEach(() => clearMocks())

  it('asks for the instance name before the service master key can be restored', async () => {
    const r = render(RestoreDialog, { props: { target: { connection: 1, key: { kind: 'service_master_key' } } } })
    const report = r.container.querySelector<HTMLInputElement>('#restore-report')!
    await fireEvent.input(report, { target: { value: '/m' } })
    await fireEvent.click(r.container.querySelector('#restore-check')!)
    await new Promise((f) => setTimeout(f, 0))
    expect(calls.some((c) => c.cmd === 'check_medium')).toBe(true)
    expect(r.container.querySelector('#restore-copies')?.textContent).toContain('DIFFERS')
    const exec = r.container.querySelector<HTMLButtonElement>('#restore-execute')!
    await fireEvent.input(r.container.querySelector('#restore-backup-password')!, { target: { value: 'Backup!Pass#1' } })
    expect(r.container.textContent).toContain('decrypts everything the current key protects')
    expect(exec.disabled).toBe(true)
    await fireEvent.input(r.container.querySelector('#restore-confirm')!, { target: { value: 'SQLDR' } })
    expect(exec.disabled).toBe(false)
    expect(calls.some((c) => c.cmd === 'run_restore')).toBe(false)
  })
})

const coverage = (certs: Partial<Coverage['certificates'][number]>[]): Coverage => ({
  server: 'SQL01',
  generated: '2026-12-03T00:00:00Z',
  retention_days: 35,
  backups: [],
  certificates: certs.map((c) => ({ thumbprint: 'AB', name: null, on_server: false, keysafe_copy: null, copy_report: null, backups: 2, oldest_backup: null, verdict: 'lost', verdict_title: 'LOST: not on the server, no copy', tone: 'bad', ...c })),
  summary: { tone: 'bad', text: '2 kept backups cannot be restored anywhere: 1 certificate they need is gone from the server and Keysafe holds no copy.' },
})

describe('Recoverability', () => {
  it('draws the lost certificate first, with its verdict in words', async () => {
    mockIPC((cmd) => (cmd === 'coverage' ? coverage([{ thumbprint: 'AA', verdict: 'lost' }, { thumbprint: 'BB', name: 'TDE_Payroll', on_server: true, verdict: 'server_only', verdict_title: 'AT RISK: only on the server', tone: 'warn' }]) : null))
    app.connections = [conn]
    const r = render(RecoverabilityView, { connection: 1 })
    await new Promise((f) => setTimeout(f, 0))
    const rows = r.container.querySelectorAll('#rec-certificates tbody tr')
    expect(rows).toHaveLength(2)
    expect(rows[0].getAttribute('data-verdict')).toBe('lost')
    expect(rows[0].textContent).toContain('LOST: not on the server, no copy')
    expect(rows[1].querySelector('td')?.className).toBe('warn')
    expect(r.container.querySelector('#rec-verdict')?.textContent).toContain('cannot be restored anywhere')
    clearMocks()
  })
})
