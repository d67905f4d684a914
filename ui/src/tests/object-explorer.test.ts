// Object Explorer's keyboard: the WAI-ARIA tree pattern and the context menu, on a rendered tree.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fireEvent, render } from '@testing-library/svelte'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import ObjectExplorer from '../components/ObjectExplorer.svelte'
import { app } from '../lib/app.svelte'
import type { KeyNode, ServerTree } from '../lib/bindings'

const key = (k: Partial<KeyNode>): KeyNode => ({ key: { kind: 'service_master_key' }, label: 'Service Master Key', state: 'never', state_words: 'NEVER backed up', last_verified: null, server_record: null, risk: null, changed_since_backup: false, protection: 'Service account and machine (DPAPI)', modified: null, expiry: null, can_back_up: true, properties: [], ...k })

const tree: ServerTree = {
  id: 1,
  server_name: 'SQL01',
  service_master_key: key({}),
  databases: [
    { name: 'master', tde: null, not_visible: false, master_key: null, certificates: [] },
    { name: 'Payroll', tde: 'Encrypted', not_visible: false, master_key: key({ key: { kind: 'database_master_key', database: 'Payroll' }, label: 'Database Master Key (Payroll)' }), certificates: [key({ key: { kind: 'certificate', database: 'Payroll', name: 'TDECert' }, label: 'certificate Payroll.TDECert' })] },
  ],
  risks: [],
  properties: [],
}

beforeEach(() => {
  mockIPC(() => null)
  app.connections = [{ id: 1, server: 'sql01', server_name: 'SQL01', version: '16.0', edition: 'Developer', platform: 'Windows', login: 'sa', database: 'master', profile: null, color: null }]
  app.trees = { 1: tree }
  app.profiles = []
})
afterEach(() => clearMocks())

const focused = () => document.activeElement as HTMLElement
const press = async (key: string, init: KeyboardEventInit = {}) => fireEvent.keyDown(focused(), { key, ...init })

describe('Object Explorer keyboard', () => {
  it('moves, expands, collapses and finds by typing, with one item in the Tab order', async () => {
    const { container } = render(ObjectExplorer)
    const server = container.querySelector('[data-server="sql01"]') as HTMLElement
    server.focus()
    await press('ArrowDown')
    expect(focused().dataset.label).toBe('Security')
    await press('ArrowDown')
    expect(focused().dataset.key).toBe('1/smk')
    await press('ArrowLeft')
    expect(focused().dataset.label).toBe('Security')
    await press('ArrowLeft') // expanded: collapses
    expect(focused().getAttribute('aria-expanded')).toBe('false')
    expect(container.querySelector('[data-key="1/smk"]')).toBeNull()
    await press('ArrowRight') // collapsed: expands
    expect(container.querySelector('[data-key="1/smk"]')).not.toBeNull()
    await press('End')
    expect(focused().dataset.database).toBe('Payroll')
    await press('ArrowRight') // a database starts collapsed
    expect(focused().getAttribute('aria-expanded')).toBe('true')
    await press('ArrowRight')
    expect(focused().dataset.label).toBe('Security')
    await press('Home')
    expect(focused()).toBe(server)
    await press('p') // type-ahead
    expect(focused().dataset.database).toBe('Payroll')
    const tabbable = Array.from(container.querySelectorAll<HTMLElement>('[role="treeitem"]')).filter((e) => e.tabIndex === 0)
    expect(tabbable).toEqual([focused()])
  })

  it('opens the context menu from the keyboard, focused, and gives the focus back on Escape', async () => {
    const { container } = render(ObjectExplorer)
    const smk = container.querySelector('[data-key="1/smk"]') as HTMLElement
    smk.focus()
    await press('F10', { shiftKey: true })
    await new Promise((r) => setTimeout(r, 10))
    expect(focused().id).toBe('menu-backup')
    expect(focused().getAttribute('role')).toBe('menuitem')
    await press('ArrowDown')
    expect(focused().id).toBe('menu-restore')
    await press('Escape')
    expect(container.querySelector('[role="menu"]')).toBeNull()
    expect(focused()).toBe(smk)
  })
})
