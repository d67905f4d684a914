// Object Explorer Details: what needs a backup, sorted and filtered, and its one action.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fireEvent, render } from '@testing-library/svelte'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import DetailsView from '../components/DetailsView.svelte'
import { app } from '../lib/app.svelte'
import { filterRows, fleetRows, instanceName, needsBackup, risksFor, rowsFor, sortRows } from '../lib/details'
import type { ConnectionInfo, KeyNode, ServerTree } from '../lib/bindings'

const key = (k: Partial<KeyNode>): KeyNode => ({ key: { kind: 'service_master_key' }, label: 'Service Master Key', state: 'never', state_words: 'NEVER backed up', last_verified: null, server_record: null, risk: null, changed_since_backup: false, protection: 'Service account and machine (DPAPI)', modified: null, expiry: null, can_back_up: true, properties: [], ...k })
const conn = (id: number, name: string): ConnectionInfo => ({ id, server: name.toLowerCase(), server_name: name, version: '16.0', edition: 'Developer', platform: 'Windows', login: 'sa', database: 'master', profile: null, color: null })

const sql01: ServerTree = {
  id: 1, server_name: 'SQL01', risks: [], properties: [],
  service_master_key: key({ state: 'backed_up', last_verified: '2026-11-30T08:00:00Z' }),
  databases: [
    { name: 'Payroll', tde: 'Encrypted', not_visible: false,
      master_key: key({ key: { kind: 'database_master_key', database: 'Payroll' }, label: 'Database Master Key (Payroll)', state: 'risk', risk: 'Changed after its last verified backup.', changed_since_backup: true, last_verified: '2026-10-01T08:00:00Z', protection: 'Service Master Key and password' }),
      certificates: [
        key({ key: { kind: 'certificate', database: 'Payroll', name: 'TDECert' }, label: 'certificate Payroll.TDECert', protection: 'Database master key', expiry: '2027-03-01' }),
        key({ key: { kind: 'certificate', database: 'Payroll', name: 'PubOnly' }, label: 'certificate Payroll.PubOnly', can_back_up: false, protection: 'No private key' }),
      ] },
  ],
}
const sql02: ServerTree = { id: 2, server_name: 'SQL02', risks: [], properties: [], service_master_key: key({}), databases: [] }

beforeEach(() => {
  mockIPC(() => null)
  app.connections = [conn(1, 'SQL01'), conn(2, 'SQL02')]
  app.trees = { 1: sql01, 2: sql02 }
  app.backup = null
  app.detailsScope = { connection: null, database: null }
})
afterEach(() => clearMocks())

describe('Object Explorer Details risks', () => {
  it('lists an instance\'s risks, and a database\'s, opened when one needs acting on', async () => {
    const risky: ServerTree = {
      ...sql02,
      risks: [
        { severity: 'critical', object: 'master.TDE_2025', text: 'key parity: MISSING here, held by SQL01' },
        { severity: 'info', object: 'Payroll', text: 'informative' },
      ],
    }
    app.trees = { 1: sql01, 2: risky }
    expect(risksFor(app.connections, app.trees, { connection: 2, database: 'master' }).map((r) => r.object)).toEqual(['master.TDE_2025'])
    expect(risksFor(app.connections, app.trees, { connection: 2, database: 'Payroll' }).map((r) => r.object)).toEqual(['Payroll'])
    expect(risksFor(app.connections, app.trees, { connection: 1, database: null })).toEqual([])
    app.detailsScope = { connection: 2, database: null }
    const { container } = render(DetailsView)
    const section = container.querySelector('#details-risks') as HTMLDetailsElement
    expect(section.open).toBe(true)
    expect(section.querySelector('summary')?.textContent).toBe('Risks: 1 to act on, 1 for information')
    expect(section.querySelector('tr[data-severity="critical"]')?.textContent).toContain('key parity: MISSING here, held by SQL01')
  })
})

describe('Object Explorer Details logic', () => {
  it('scopes, filters, sorts and counts', () => {
    const all = rowsFor(app.connections, app.trees, { connection: null, database: null })
    expect(all).toHaveLength(5)
    expect(rowsFor(app.connections, app.trees, { connection: 1, database: 'Payroll' }).map((r) => r.node.label)).toEqual(['Database Master Key (Payroll)', 'certificate Payroll.TDECert', 'certificate Payroll.PubOnly'])
    // A certificate without its private key cannot be backed up: it is not counted as needing it.
    expect(all.filter((r) => needsBackup(r.node)).map((r) => `${r.server} ${r.node.label}`)).toEqual(['SQL01 Database Master Key (Payroll)', 'SQL01 certificate Payroll.TDECert', 'SQL02 Service Master Key'])
    expect(filterRows(all, 'payroll tde', false).map((r) => r.node.label)).toEqual(['certificate Payroll.TDECert'])
    expect(filterRows(all, '', true)).toHaveLength(3)
    expect(sortRows(all, 'state', true)[0].node.label).toBe('Database Master Key (Payroll)')
    expect(sortRows(all, 'last', false)[0].node.label).toBe('Service Master Key')
    expect(sortRows(all, 'expiry', true)[0].node.label).toBe('certificate Payroll.TDECert')
    expect(fleetRows(app.connections, app.trees)).toEqual([
      { connection: 1, server: 'SQL01', keys: 4, backedUp: 1, never: 2, risk: 1, needs: 2 },
      { connection: 2, server: 'SQL02', keys: 1, backedUp: 0, never: 1, risk: 0, needs: 1 },
    ])
  })
})

describe('Object Explorer Details view', () => {
  it('backs up exactly the keys of one instance that need it', async () => {
    app.detailsScope = { connection: 1, database: null }
    const { container } = render(DetailsView)
    const button = container.querySelector('#details-backup') as HTMLButtonElement
    expect(button.textContent).toContain('Back Up the 2 keys that need it')
    await fireEvent.click(button)
    expect(app.backup).toEqual({ connections: [1], keys: [{ kind: 'database_master_key', database: 'Payroll' }, { kind: 'certificate', database: 'Payroll', name: 'TDECert' }] })
  })

  it('shows the fleet, sorts by a header with aria-sort, and filters', async () => {
    app.detailsScope = { connection: null, database: null }
    const { container } = render(DetailsView)
    expect(container.querySelectorAll('table.fleet tbody tr')).toHaveLength(2)
    const header = Array.from(container.querySelectorAll('#details-keys th')).find((th) => th.textContent?.includes('Key') && !th.textContent.includes('Kind'))!
    await fireEvent.click(header.querySelector('button')!)
    expect(header.getAttribute('aria-sort')).toBe('ascending')
    await fireEvent.click(header.querySelector('button')!)
    expect(header.getAttribute('aria-sort')).toBe('descending')
    const labels = () => Array.from(container.querySelectorAll('#details-keys tbody tr')).map((tr) => tr.getAttribute('data-details-key'))
    expect(labels()[0]).toBe('Service Master Key')
    await fireEvent.input(container.querySelector('#details-filter')!, { target: { value: 'pubonly' } })
    expect(labels()).toEqual(['certificate Payroll.PubOnly'])
    await fireEvent.click(container.querySelector('#details-backup-fleet')!)
    expect(app.backup).toEqual({ connections: [1, 2], keys: [] })
  })

  it('tells two connections with one server name apart by their addresses', () => {
    const a = { ...conn(1, 'SQL01'), server: '10.0.0.1,1433' }
    const b = { ...conn(2, 'SQL01'), server: '10.0.0.2,1433' }
    const c = conn(3, 'SQL02')
    expect(instanceName(a, [a, b, c])).toBe('SQL01 (10.0.0.1,1433)')
    expect(instanceName(c, [a, b, c])).toBe('SQL02')
    expect(instanceName(a, [a, c])).toBe('SQL01')
  })
})
