import { describe, expect, it } from 'vitest'
import { actionFor, firstLineOf, textToRun } from '../lib/shortcuts'
import { defaultForm, toArgs, validate } from '../lib/connectForm'
import { allKeys, canBackUp, countByState, keyNodeId, stateBadge } from '../lib/tree'
import { strengthLabel, strengthPercent } from '../lib/strength'
import { count, humanBytes, localTime, utcTime } from '../lib/format'
import { asIpcError, errorDetail } from '../lib/ipc'
import type { KeyNode, ServerTree } from '../lib/bindings'

describe('SSMS keyboard', () => {
  it('maps the SSMS shortcuts', () => {
    expect(actionFor({ key: 'F5' })).toBe('execute')
    expect(actionFor({ key: 'e', ctrlKey: true })).toBe('execute')
    expect(actionFor({ key: 'Pause', altKey: true })).toBe('cancel')
    expect(actionFor({ key: 'Cancel', altKey: true })).toBe('cancel')
    expect(actionFor({ key: 'n', ctrlKey: true })).toBe('new-query')
    expect(actionFor({ key: 'R', ctrlKey: true })).toBe('toggle-results')
    expect(actionFor({ key: 'F8' })).toBe('object-explorer')
    expect(actionFor({ key: 'F7' })).toBe('details')
    expect(actionFor({ key: 'F4', ctrlKey: true })).toBe('close-tab')
    expect(actionFor({ key: 'F5', shiftKey: true })).toBe('refresh')
    expect(actionFor({ key: 'a' })).toBeNull()
    expect(actionFor({ key: 'Pause' })).toBeNull()
  })

  it('F5 runs the selection when there is one, else everything', () => {
    const doc = 'USE master;\nGO\nSELECT 1;'
    expect(textToRun(doc, 0, 0)).toBe(doc)
    expect(textToRun(doc, 15, 24)).toBe('SELECT 1;')
    expect(textToRun(doc, 24, 15)).toBe('SELECT 1;')
    expect(textToRun(doc, 11, 12)).toBe(doc) // a blank selection runs the script
    expect(textToRun('  \n  ', 0, 3)).toBe('  \n  ')
    expect(firstLineOf(doc, 15, 24)).toBe(3)
  })
})

describe('Connect dialog', () => {
  it('has SSMS 21 defaults', () => {
    const f = defaultForm(['sql01'])
    expect(f).toMatchObject({ server: 'sql01', authentication: 'windows', encrypt: 'mandatory', trustServerCertificate: false, connectTimeoutSecs: 30 })
    expect(defaultForm().server).toBe('')
  })

  it('validates fields the way the server name parser will', () => {
    const f = defaultForm()
    expect(validate(f).server).toMatch(/server name/)
    f.server = 'sql01,99999'
    expect(validate(f).server).toMatch(/port/)
    f.server = 'sql01\\PAYROLL'
    expect(validate(f).server).toBeUndefined()
    f.authentication = 'sql_server'
    expect(validate(f).login).toBeDefined()
    f.login = 'sa'
    f.connectTimeoutSecs = 0
    expect(validate(f).connectTimeoutSecs).toBeDefined()
    f.connectTimeoutSecs = 15
    f.encrypt = 'strict'
    expect(validate(f).encrypt).toBeUndefined()
    f.trustServerCertificate = true
    expect(validate(f).encrypt).toMatch(/always checks the server certificate/)
  })

  it('never sends a password for Windows authentication', () => {
    const f = { ...defaultForm(), server: ' sql01 ', password: 'typed-then-switched', login: 'x' }
    const a = toArgs(f)
    expect(a).toMatchObject({ server: 'sql01', authentication: 'windows', password: null, login: '', remember_password: false })
    const s = toArgs({ ...f, authentication: 'sql_server', rememberPassword: true }, 'Prod')
    expect(s).toMatchObject({ password: 'typed-then-switched', login: 'x', remember_password: true, profile: 'Prod' })
  })

  it('takes another Windows account only as DOMAIN\\user, and sends its password', () => {
    const f = { ...defaultForm(), server: 'sql01', authentication: 'windows_as' as const, login: 'dba', password: 'Pw!1' }
    expect(validate(f).login).toMatch(/DOMAIN\\user/)
    f.login = 'CONTOSO\\dba'
    expect(validate(f).login).toBeUndefined()
    expect(toArgs(f)).toMatchObject({ authentication: 'windows_as', login: 'CONTOSO\\dba', password: 'Pw!1' })
  })
})

const key = (k: Partial<KeyNode>): KeyNode => ({ key: { kind: 'service_master_key' }, label: 'Service Master Key', state: 'never', state_words: 'NEVER backed up', last_verified: null, server_record: null, risk: null, changed_since_backup: false, protection: 'Service account and machine (DPAPI)', modified: null, expiry: null, can_back_up: true, properties: [], ...k })

describe('Object Explorer', () => {
  const tree: ServerTree = {
    id: 3,
    server_name: 'SQL01',
    service_master_key: key({ state: 'backed_up', last_verified: '2026-11-01T10:00:00Z' }),
    databases: [
      {
        name: 'Payroll', tde: 'Encrypted', not_visible: false,
        master_key: key({ key: { kind: 'database_master_key', database: 'Payroll' }, state: 'risk', risk: 'protected by a password only' }),
        certificates: [key({ key: { kind: 'certificate', database: 'Payroll', name: 'Pub' }, can_back_up: false })],
      },
    ],
    risks: [],
    properties: [],
  }

  it('labels each backup state', () => {
    expect(stateBadge(tree.service_master_key!)).toEqual({ text: `backed up ${localTime('2026-11-01T10:00:00Z')}`, title: 'backed up 2026-11-01 10:00:00 UTC', tone: 'ok' })
    expect(stateBadge(tree.databases[0].master_key!).text).toBe('risk: protected by a password only')
    expect(stateBadge(tree.databases[0].certificates[0]).tone).toBe('never')
  })

  it('counts and identifies keys', () => {
    expect(allKeys(tree)).toHaveLength(3)
    expect(countByState(tree)).toEqual({ never: 1, backed_up: 1, risk: 1 })
    expect(keyNodeId(3, { kind: 'certificate', database: 'Payroll', name: 'Pub' })).toBe('3/db/Payroll/cert/Pub')
    expect(keyNodeId(3, { kind: 'service_master_key' })).toBe('3/smk')
  })

  it('offers no backup for a certificate without a private key', () => {
    expect(canBackUp(tree.databases[0].certificates[0])).toBe(false)
    expect(canBackUp(tree.service_master_key!)).toBe(true)
  })
})

describe('small helpers', () => {
  it('describes strength and sizes', () => {
    expect(strengthPercent(null)).toBe(0)
    expect(strengthPercent({ policy_error: null, strength: 'very_strong', strength_words: 'very strong', entropy_bits: 140 })).toBe(100)
    expect(strengthLabel({ policy_error: null, strength: 'fair', strength_words: 'fair', entropy_bits: 45 })).toBe('fair (about 45 bits)')
    expect(humanBytes(512)).toBe('512 bytes')
    expect(humanBytes(1)).toBe('1 byte')
    expect(humanBytes(3 * 1024 * 1024)).toBe('3 MiB')
    expect(humanBytes(1536)).toBe('1.5 KiB')
    // The medium line of the issue: 71846326272 of 270553174016 bytes.
    expect(humanBytes(71846326272)).toBe('67 GiB')
    expect(humanBytes(270553174016)).toBe('252 GiB')
    expect(utcTime('2026-11-01T10:00:00Z')).toBe('2026-11-01 10:00:00 UTC')
    expect(localTime('2026-11-01T10:00:00Z')).toBe(new Date(Date.UTC(2026, 10, 1, 10)).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }))
    expect(count(1, 'key')).toBe('1 key')
    expect(count(7, 'key')).toBe('7 keys')
    expect(count(0, 'instance')).toBe('0 instances')
    expect(localTime('not a date')).toBe('not a date')
  })

  it('gives every failure the {code, message, next_step, server} shape', () => {
    const server = { number: 18456, level: 14, state: 1, line: 1, text: "Login failed for user 'sa'." }
    expect(asIpcError({ code: 'tls', message: 'bad cert', next_step: 'next' })).toEqual({ code: 'tls', message: 'bad cert', next_step: 'next', server: null })
    const e = asIpcError({ code: 'login_failed', message: 'no', next_step: 'Check the password.', server })
    expect(errorDetail(e)).toBe("Check the password.\nMsg 18456, Level 14, State 1, Line 1\nLogin failed for user 'sa'.")
    expect(asIpcError('boom')).toEqual({ code: 'internal', message: 'boom', next_step: null, server: null })
    expect(errorDetail(asIpcError('boom'))).toBeNull()
    expect(asIpcError(new Error('x')).code).toBe('internal')
  })
})
