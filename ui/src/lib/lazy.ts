// Views and dialogs that are not on the first screen load on first use, so start-up parses
// only Object Explorer and the Connect dialog; once the app is idle they are fetched ahead,
// so opening one later does not wait either.
import type { Component } from 'svelte'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loaded = Component<any, any, any>

function lazy(load: () => Promise<{ default: Loaded }>): () => Promise<Loaded> {
  let p: Promise<Loaded> | undefined
  return () => (p ??= load().then((m) => m.default))
}

export const views = {
  query: lazy(() => import('../components/QueryPane.svelte')),
  history: lazy(() => import('../components/HistoryView.svelte')),
  details: lazy(() => import('../components/DetailsView.svelte')),
  recoverability: lazy(() => import('../components/RecoverabilityView.svelte')),
  report: lazy(() => import('../components/ReportView.svelte')),
  schedules: lazy(() => import('../components/SchedulesView.svelte')),
  evidence: lazy(() => import('../components/EvidenceView.svelte')),
  backup: lazy(() => import('../components/BackupDialog.svelte')),
  restore: lazy(() => import('../components/RestoreDialog.svelte')),
  evidenceDialog: lazy(() => import('../components/EvidenceDialog.svelte')),
  parityDialog: lazy(() => import('../components/ParityDialog.svelte')),
  rotateDialog: lazy(() => import('../components/RotateDialog.svelte')),
  properties: lazy(() => import('../components/PropertiesDialog.svelte')),
  profile: lazy(() => import('../components/ProfileEditor.svelte')),
}

/** Fetches every view ahead, when the browser is idle after start-up. */
export function preloadWhenIdle(): void {
  const all = () => Object.values(views).forEach((v) => void v())
  if ('requestIdleCallback' in window) window.requestIdleCallback(all, { timeout: 2000 })
  else setTimeout(all, 500)
}
