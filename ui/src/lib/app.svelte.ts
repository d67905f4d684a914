// The app's state, shared by the components (Svelte 5 runes).
import * as api from './bindings'
import type { ConnectionInfo, EvidenceView, KeysafeError, KeyRef, ProfileView, ScheduleState, ServerTree } from './bindings'
import { asIpcError } from './ipc'

export type Tab =
  | { kind: 'query'; key: number; connection: number | null; title: string; text: string }
  | { kind: 'history'; key: number; title: string }
  | { kind: 'report'; key: number; title: string; runId: string }
  | { kind: 'details'; key: number; title: string }
  | { kind: 'recoverability'; key: number; title: string; connection: number }
  | { kind: 'schedules'; key: number; title: string }
  | { kind: 'evidence'; key: number; title: string; pack: EvidenceView }

/** What the Restore dialog opens on: a connection, and the key when opened from one. */
export interface RestoreTarget {
  connection: number
  key: KeyRef | null
}

export interface BackupTarget {
  connections: number[]
  keys: KeyRef[]
}

let nextTab = 1

class AppStore {
  connections = $state<ConnectionInfo[]>([])
  trees = $state<Record<number, ServerTree>>({})
  treeErrors = $state<Record<number, KeysafeError>>({})
  loading = $state<Record<number, boolean>>({})
  profiles = $state<ProfileView[]>([])
  recentServers = $state<string[]>([])
  /** The account Windows Authentication logs in as (DOMAIN\user on Windows). */
  windowsUser = $state('')
  demo = $state(false)
  tabs = $state<Tab[]>([])
  active = $state(0)
  selectedConnection = $state<number | null>(null)
  connectOpen = $state(false)
  connectProfile = $state<ProfileView | null>(null)
  backup = $state<BackupTarget | null>(null)
  restore = $state<RestoreTarget | null>(null)
  /** The evidence pack dialog, for one instance (its @@SERVERNAME). */
  evidenceFor = $state<{ instance: string } | null>(null)
  /** The Key Parity dialog, opened from a connection (ticked first). */
  parityFrom = $state<number | null>(null)
  /** The Rotate Certificate dialog: a certificate in master, from the connection (the primary). */
  rotate = $state<{ from: number; certificate: string } | null>(null)
  /** The engine's words for what restoring a service master key does (shown before it). */
  smkConsequences = $state('')
  properties = $state<{ title: string; rows: { name: string; value: string }[] } | null>(null)
  profileEditor = $state<ProfileView | null>(null)
  explorerVisible = $state(true)
  /** What Object Explorer Details shows: an instance, one of its databases, or everything. */
  detailsScope = $state<{ connection: number | null; database: string | null }>({ connection: null, database: null })
  notice = $state<KeysafeError | null>(null)
  /** The unattended runs (keysafe schedule) and their last results. */
  schedules = $state<ScheduleState[]>([])
  /** The banner about a failed or missed run, dismissed for this session. */
  scheduleBannerDismissed = $state(false)

  /** Schedules whose last run failed, or whose due run left no record. */
  get troubledSchedules(): ScheduleState[] {
    return this.schedules.filter((s) => s.verdict === 'failed' || s.verdict === 'missed')
  }

  get activeConnection(): ConnectionInfo | null {
    const t = this.tabs.find((t) => t.key === this.active)
    const id = t?.kind === 'query' ? t.connection : this.selectedConnection
    return this.connections.find((c) => c.id === id) ?? null
  }

  async init() {
    const info = await api.appInfo()
    this.demo = info.demo
    this.recentServers = info.recent_servers
    this.windowsUser = info.windows_user
    this.smkConsequences = info.service_master_key_consequences
    await Promise.all([this.loadProfiles(), this.loadSchedules()])
    if (this.demo) this.connectProfile = this.profiles.find((p) => p.demo) ?? null
    this.connectOpen = true
  }

  async loadSchedules() {
    try {
      this.schedules = await api.schedules()
    } catch (e) {
      this.notice = asIpcError(e)
    }
  }

  openEvidence(pack: EvidenceView, title: string) {
    const key = nextTab++
    this.tabs = [...this.tabs, { kind: 'evidence', key, title, pack }]
    this.active = key
  }

  openSchedules() {
    this.openOnce('schedules', 'Schedules')
  }

  async loadProfiles() {
    try {
      this.profiles = await api.listProfiles()
    } catch (e) {
      this.notice = asIpcError(e)
    }
  }

  async added(c: ConnectionInfo) {
    this.connections = [...this.connections, c]
    this.selectedConnection = c.id
    this.detailsScope = { connection: c.id, database: null }
    this.connectOpen = false
    // A connection's home page: what it holds and what needs a backup (SSMS's F7).
    this.openDetails()
    await this.refresh(c.id)
  }

  openDetails() {
    this.openOnce('details', 'Object Explorer Details')
  }

  /** A document that exists once (History, Details): brought forward, or opened. */
  private openOnce(kind: 'history' | 'details' | 'schedules', title: string) {
    const t = this.tabs.find((t) => t.kind === kind)
    if (t) {
      this.active = t.key
      return
    }
    const key = nextTab++
    this.tabs = [...this.tabs, { kind, key, title }]
    this.active = key
  }

  async refresh(id: number) {
    this.loading[id] = true
    try {
      this.trees[id] = await api.explorer(id)
      delete this.treeErrors[id]
    } catch (e) {
      this.treeErrors[id] = asIpcError(e)
    } finally {
      this.loading[id] = false
    }
  }

  async refreshAll() {
    await Promise.all(this.connections.map((c) => this.refresh(c.id)))
  }

  async disconnect(id: number) {
    await api.disconnect(id)
    this.connections = this.connections.filter((c) => c.id !== id)
    delete this.trees[id]
    for (const t of this.tabs) if (t.kind === 'query' && t.connection === id) t.connection = null
    if (this.selectedConnection === id) this.selectedConnection = this.connections[0]?.id ?? null
    if (this.detailsScope.connection === id) this.detailsScope = { connection: null, database: null }
  }

  newQuery(connection: number | null = this.selectedConnection, text = '') {
    const key = nextTab++
    const c = this.connections.find((x) => x.id === connection)
    this.tabs = [...this.tabs, { kind: 'query', key, connection, title: `SQLQuery${key}.sql${c ? ' - ' + c.server_name : ''}`, text }]
    this.active = key
  }

  /** Recoverability of one instance: one document per connection. */
  openRecoverability(connection: number) {
    const t = this.tabs.find((t) => t.kind === 'recoverability' && t.connection === connection)
    if (t) {
      this.active = t.key
      return
    }
    const c = this.connections.find((x) => x.id === connection)
    const key = nextTab++
    this.tabs = [...this.tabs, { kind: 'recoverability', key, title: `Recoverability - ${c?.server_name ?? ''}`, connection }]
    this.active = key
  }

  openHistory() {
    this.openOnce('history', 'History')
  }

  openReport(runId: string) {
    const key = nextTab++
    this.tabs = [...this.tabs, { kind: 'report', key, title: `Report ${runId.slice(0, 8)}`, runId }]
    this.active = key
  }

  closeTab(key: number) {
    const i = this.tabs.findIndex((t) => t.key === key)
    this.tabs = this.tabs.filter((t) => t.key !== key)
    if (this.active === key) this.active = this.tabs[Math.max(0, i - 1)]?.key ?? 0
  }

  colorOf(connection: number | null): string | null {
    return this.connections.find((c) => c.id === connection)?.color ?? null
  }
}

export const app = new AppStore()
