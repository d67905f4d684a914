// The Connect dialog component with mocked IPC: what the user types is what Rust receives.
import { afterEach, describe, expect, it } from 'vitest'
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import ConnectDialog from '../components/ConnectDialog.svelte'
import { app } from '../lib/app.svelte'

afterEach(() => clearMocks())


describe('ConnectDialog', () => {
  it('sends the typed fields and shows the server error with SQL Server\'s message', async () => {
    const calls: { cmd: string; args: unknown }[] = []
    mockIPC((cmd, args) => {
      calls.push({ cmd, args })
      if (cmd === 'connect') throw { code: 'login_failed', message: "Login failed for user 'sa'.", next_step: null, server: { number: 18456, level: 14, state: 1, line: 1, text: "Login failed for user 'sa'." } }
      return null
    })
    app.recentServers = ['sql01']
    const { container } = render(ConnectDialog, { props: { profile: null } })
    const server = container.querySelector('#connect-server') as HTMLInputElement
    expect(server.value).toBe('sql01')
    await fireEvent.change(container.querySelector('#connect-auth')!, { target: { value: 'sql_server' } })
    await fireEvent.input(container.querySelector('#connect-login')!, { target: { value: 'sa' } })
    await fireEvent.input(container.querySelector('#connect-password')!, { target: { value: 'Secret!1' } })
    await fireEvent.click(container.querySelector('#connect-submit')!)
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('18456'))
    const sent = calls.find((c) => c.cmd === 'connect')!.args as { args: Record<string, unknown> }
    expect(sent.args).toMatchObject({ server: 'sql01', authentication: 'sql_server', login: 'sa', password: 'Secret!1', encrypt: 'mandatory', trust_server_certificate: false })
    expect(screen.getByRole('alert').textContent).not.toContain('Secret!1')
  })

  it('offers Strict when the server refused a client that is not Strict', async () => {
    mockIPC((cmd) => {
      if (cmd === 'connect') throw { code: 'strict_required', message: "sql01 closed the connection before the login. SQL Server 2022 and later do this to every client that does not use Strict encryption (TDS 8.0) when 'Force Strict Encryption' is set.", next_step: 'Connect with Encrypt = Strict.', server: null }
      return null
    })
    app.recentServers = ['sql01']
    const { container } = render(ConnectDialog, { props: { profile: null } })
    await fireEvent.click(container.querySelector('#connect-submit')!)
    await waitFor(() => expect(container.querySelector('#connect-error')?.textContent).toContain('Force Strict Encryption'))
    await fireEvent.click(container.querySelector('#connect-use-strict')!)
    expect((container.querySelector('#connect-encrypt') as HTMLSelectElement).value).toBe('strict')
    expect((container.querySelector('#connect-trust') as HTMLInputElement).disabled).toBe(true)
  })

  it('refuses an empty server name without calling Rust', async () => {
    const calls: string[] = []
    mockIPC((cmd) => {
      calls.push(cmd)
      return null
    })
    app.recentServers = []
    const { container } = render(ConnectDialog, { props: { profile: null } })
    await fireEvent.click(container.querySelector('#connect-submit')!)
    expect(container.querySelector('#server-error')?.textContent).toMatch(/server name/)
    expect(calls).not.toContain('connect')
  })

  it('offers Strict, which always checks the certificate, and sends its certificate file', async () => {
    let sent: Record<string, unknown> | null = null
    mockIPC((cmd, args) => {
      if (cmd === 'connect') sent = (args as { args: Record<string, unknown> }).args
      return null
    })
    const { container } = render(ConnectDialog, { props: { profile: null } })
    await fireEvent.input(container.querySelector('#connect-server')!, { target: { value: 'sql01' } })
    await fireEvent.click(container.querySelector('#connect-options-tab')!)
    const encrypt = container.querySelector('#connect-encrypt') as HTMLSelectElement
    expect(encrypt.value).toBe('mandatory')
    const trust = container.querySelector('#connect-trust') as HTMLInputElement
    await fireEvent.click(trust)
    expect(trust.checked).toBe(true)
    await fireEvent.change(encrypt, { target: { value: 'strict' } })
    expect((container.querySelector('#connect-encrypt option[value="strict"]') as HTMLOptionElement).disabled).toBe(false)
    expect(container.querySelector('#encrypt-help')?.textContent).toMatch(/TDS 8\.0.*always checked/)
    expect(trust.checked).toBe(false)
    expect(trust.disabled).toBe(true)
    await fireEvent.input(container.querySelector('#connect-certificate-file')!, { target: { value: '/etc/ssl/sql01.pem' } })
    await fireEvent.click(container.querySelector('#connect-submit')!)
    expect(sent).toMatchObject({ encrypt: 'strict', trust_server_certificate: false, certificate_file: '/etc/ssl/sql01.pem' })
  })

  it('greys out Login and Password for Windows Authentication and shows whose account it uses', async () => {
    mockIPC(() => null)
    app.windowsUser = 'CONTOSO\\alice'
    const { container } = render(ConnectDialog, { props: { profile: null } })
    await fireEvent.change(container.querySelector('#connect-auth')!, { target: { value: 'windows' } })
    const login = container.querySelector('#connect-login') as HTMLInputElement
    expect(login.disabled).toBe(true)
    expect(login.value).toBe('CONTOSO\\alice')
    expect((container.querySelector('#connect-password') as HTMLInputElement).disabled).toBe(true)
    await fireEvent.change(container.querySelector('#connect-auth')!, { target: { value: 'sql_server' } })
    expect((container.querySelector('#connect-login') as HTMLInputElement).disabled).toBe(false)
  })

  it('closes on Escape and keeps its place for messages', async () => {
    mockIPC(() => null)
    app.connectOpen = true
    const { container } = render(ConnectDialog, { props: { profile: null } })
    const dialog = container.querySelector('dialog') as HTMLDialogElement
    expect(dialog.open).toBe(true)
    // The error line is there, empty, before there is anything to say.
    expect(container.querySelector('#server-error')?.textContent).toBe('')
    await fireEvent(dialog, new Event('cancel', { cancelable: true }))
    expect(app.connectOpen).toBe(false)
  })
})
