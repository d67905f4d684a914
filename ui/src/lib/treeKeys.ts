// The WAI-ARIA tree pattern's keyboard, over whatever treeitems are rendered (collapsed
// children are not in the DOM): Up/Down, Home/End, Right/Left to expand/collapse or move to
// the first child/the parent, type-ahead on the labels. One treeitem is in the Tab order.

export interface TreeActions {
  /** Expand or collapse the item (it has aria-expanded). */
  toggle(item: HTMLElement): void
}

/** The rendered items in document order: a collapsed item's children are not rendered. */
export function visibleItems(tree: HTMLElement): HTMLElement[] {
  return Array.from(tree.querySelectorAll<HTMLElement>('[role="treeitem"]'))
}

/** Keeps exactly one item tabbable: the focused one (or the first). */
export function rove(tree: HTMLElement, current?: HTMLElement | null) {
  const items = visibleItems(tree)
  const keep = current && items.includes(current) ? current : (items.find((e) => e.tabIndex === 0) ?? items[0])
  for (const e of items) e.tabIndex = e === keep ? 0 : -1
}

function focus(tree: HTMLElement, e: HTMLElement | undefined) {
  if (!e) return
  rove(tree, e)
  e.focus()
}

function level(e: HTMLElement): number {
  return Number(e.getAttribute('aria-level') ?? '1')
}

let typed = ''
let typedAt = 0

export function onTreeKey(ev: KeyboardEvent, tree: HTMLElement, actions: TreeActions): void {
  const items = visibleItems(tree)
  const at = items.indexOf(document.activeElement as HTMLElement)
  if (at < 0) return
  const item = items[at]
  const expanded = item.getAttribute('aria-expanded')
  switch (ev.key) {
    case 'ArrowDown':
      focus(tree, items[at + 1])
      break
    case 'ArrowUp':
      focus(tree, items[at - 1])
      break
    case 'Home':
      focus(tree, items[0])
      break
    case 'End':
      focus(tree, items[items.length - 1])
      break
    case 'ArrowRight':
      if (expanded === 'false') actions.toggle(item)
      else if (expanded === 'true' && items[at + 1] && level(items[at + 1]) > level(item)) focus(tree, items[at + 1])
      break
    case 'ArrowLeft':
      if (expanded === 'true') actions.toggle(item)
      else {
        // The parent: the nearest item above with a lower level.
        for (let i = at - 1; i >= 0; i--) {
          if (level(items[i]) < level(item)) {
            focus(tree, items[i])
            break
          }
        }
      }
      break
    default:
      if (ev.key.length === 1 && !ev.ctrlKey && !ev.altKey && !ev.metaKey && ev.key !== ' ') {
        const now = Date.now()
        typed = now - typedAt > 700 ? ev.key.toLowerCase() : typed + ev.key.toLowerCase()
        typedAt = now
        const label = (e: HTMLElement) => (e.dataset.label ?? e.textContent ?? '').trim().toLowerCase()
        // From the next item (the current one again when the typed text grows), wrapping.
        const start = typed.length > 1 ? at : at + 1
        for (let k = 0; k < items.length; k++) {
          const e = items[(start + k) % items.length]
          if (label(e).startsWith(typed)) {
            focus(tree, e)
            break
          }
        }
        break
      }
      return
  }
  ev.preventDefault()
}
