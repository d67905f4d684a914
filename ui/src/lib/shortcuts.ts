// SSMS's keyboard: F5 / Ctrl+E execute, Alt+Break cancel, Ctrl+N new query, Ctrl+R toggles
// the results pane, F8 Object Explorer, F7 Object Explorer Details, Ctrl+Shift+R... is IntelliSense in SSMS and not ours.
export type Action = 'execute' | 'cancel' | 'new-query' | 'toggle-results' | 'object-explorer' | 'details' | 'close-tab' | 'refresh'

export interface KeyLike {
  key: string
  ctrlKey?: boolean
  metaKey?: boolean
  altKey?: boolean
  shiftKey?: boolean
}

export function actionFor(e: KeyLike): Action | null {
  const ctrl = !!(e.ctrlKey || e.metaKey)
  if (e.key === 'F5' && !ctrl && !e.shiftKey) return 'execute'
  if (ctrl && !e.altKey && e.key.toLowerCase() === 'e') return 'execute'
  // Alt+Break arrives as "Cancel" (Ctrl+Break) or "Pause" depending on the keyboard.
  if (e.altKey && (e.key === 'Pause' || e.key === 'Cancel')) return 'cancel'
  if (ctrl && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'n') return 'new-query'
  if (ctrl && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'r') return 'toggle-results'
  if (e.key === 'F8' && !ctrl) return 'object-explorer'
  if (e.key === 'F7' && !ctrl && !e.shiftKey) return 'details'
  if (ctrl && !e.shiftKey && e.key === 'F4') return 'close-tab'
  if (e.key === 'F5' && e.shiftKey) return 'refresh'
  return null
}

/** F5 runs the selection if there is one, else the whole script (SSMS). */
export function textToRun(doc: string, from: number, to: number): string {
  if (from !== to) {
    const [a, b] = from < to ? [from, to] : [to, from]
    const sel = doc.slice(a, b)
    if (sel.trim() !== '') return sel
  }
  return doc
}

/** The 1-based line where the text to run starts, so messages can point into the editor. */
export function firstLineOf(doc: string, from: number, to: number): number {
  if (from === to) return 1
  return doc.slice(0, Math.min(from, to)).split('\n').length
}
