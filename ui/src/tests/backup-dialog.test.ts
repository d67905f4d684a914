// The Back Up dialog's Escape: it cancels only where nothing would be lost.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, render } from '@testing-library/svelte'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import BackupDialog from '../components/BackupDialog.svelte'
import { app } from '../lib/app.svelte'


afterEach(() => {
  clearMocks()
  vi.restoreAllMocks()
})

function mount() {
  mockIPC((cmd) => {
    if (cmd === 'volumes') return []
    if (cmd === 'plan_backup') return { instances: [] }
    if (cmd === 'check_password') return { strength: 'strong', strength_words: 'strong', entropy_bits: 80, policy_error: null }
    return null
  })
  app.connections = []
  app.backup = { connections: [], keys: [] }
  return render(BackupDialog, { props: { target: app.backup } })
}

describe('Back Up dialog', () => {
  it('closes on Escape when nothing was typed', async () => {
    const { container } = mount()
    await fireEvent(container.querySelector('dialog')!, new Event('cancel', { cancelable: true }))
    expect(app.backup).toBeNull()
  })

  it('asks before Escape discards a typed password, and stays when told to', async () => {
    const { container } = mount()
    await fireEvent.input(container.querySelector('#backup-password')!, { target: { value: 'Typed!Pass1' } })
    const ask = vi.spyOn(window, 'confirm').mockReturnValue(false)
    await fireEvent(container.querySelector('dialog')!, new Event('cancel', { cancelable: true }))
    expect(ask).toHaveBeenCalledOnce()
    expect(app.backup).not.toBeNull()
    ask.mockReturnValue(true)
    await fireEvent(container.querySelector('dialog')!, new Event('cancel', { cancelable: true }))
    expect(app.backup).toBeNull()
  })
})
