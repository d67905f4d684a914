// The Connect dialog's model: SSMS 21's fields and defaults, and what is sent to Rust.
import type { AuthKind, ConnectArgs, Encrypt } from './bindings'

export interface ConnectForm {
  server: string
  authentication: AuthKind
  login: string
  password: string
  rememberPassword: boolean
  encrypt: Encrypt
  trustServerCertificate: boolean
  hostNameInCertificate: string
  /** The server's certificate or its CA (PEM or DER); empty: the OS trust store. */
  certificateFile: string
  connectTimeoutSecs: number
}

/** SSMS 21: Windows Authentication, Encrypt Mandatory, no blind trust, 30 s timeout (15 s in
 * older SSMS; 21 raised it). */
export function defaultForm(recent: string[] = []): ConnectForm {
  return {
    server: recent[0] ?? '',
    authentication: 'windows',
    login: '',
    password: '',
    rememberPassword: false,
    encrypt: 'mandatory',
    trustServerCertificate: false,
    hostNameInCertificate: '',
    certificateFile: '',
    connectTimeoutSecs: 30,
  }
}

/** What each Encrypt choice means, in SSMS 21's terms. */
export const ENCRYPT_HELP: Record<Encrypt, string> = {
  mandatory: 'The whole session is encrypted (TLS after the first exchange, TDS 7.4).',
  optional:
    'Only the login is encrypted unless the server encrypts the whole session anyway. Keysafe asks the server which it did, and in a plaintext session sends no backup password and reads no key file: backups, restores and copies are refused, saying why.',
  strict:
    'TDS 8.0 (SQL Server 2022 and later, Azure SQL): TLS before anything else, TLS 1.3 where both sides have it, and the certificate is always checked. Needed when the server forces Strict encryption.',
}

export const STRICT_TRUST =
  'Strict always checks the server certificate: untick "Trust server certificate" and give its certificate file if this computer does not trust it.'

/** What is wrong with the form, field by field; empty when it can be sent. */
export function validate(f: ConnectForm): Partial<Record<keyof ConnectForm, string>> {
  const errors: Partial<Record<keyof ConnectForm, string>> = {}
  const server = f.server.trim()
  if (!server) errors.server = 'Type a server name: host, host\\instance or host,port.'
  else if (/\s/.test(server)) errors.server = 'A server name has no spaces.'
  else if (/,\s*$/.test(server) || /,(\d+)$/.test(server) && !validPort(server.split(',').pop()!))
    errors.server = 'The port after the comma must be 1 to 65535.'
  if (f.authentication === 'sql_server' && !f.login.trim()) errors.login = 'Type a login.'
  if (f.authentication === 'windows_as' && !/^[^\\\s]+\\[^\\\s]+$/.test(f.login.trim()))
    errors.login = 'Type the Windows account as DOMAIN\\user.'
  if (!Number.isInteger(f.connectTimeoutSecs) || f.connectTimeoutSecs < 1 || f.connectTimeoutSecs > 600)
    errors.connectTimeoutSecs = 'The timeout is 1 to 600 seconds.'
  if (f.encrypt === 'strict' && f.trustServerCertificate) errors.encrypt = STRICT_TRUST
  return errors
}

function validPort(p: string): boolean {
  const n = Number(p)
  return Number.isInteger(n) && n >= 1 && n <= 65535
}

export function toArgs(f: ConnectForm, profile: string | null = null): ConnectArgs {
  // SQL Server Authentication and "as another user" both send a login and its password.
  const sql = f.authentication !== 'windows'
  return {
    server: f.server.trim(),
    authentication: f.authentication,
    login: sql ? f.login.trim() : '',
    password: sql && f.password !== '' ? f.password : null,
    remember_password: sql && f.rememberPassword,
    encrypt: f.encrypt,
    trust_server_certificate: f.trustServerCertificate,
    host_name_in_certificate: f.hostNameInCertificate.trim(),
    certificate_file: f.certificateFile.trim(),
    connect_timeout_secs: f.connectTimeoutSecs,
    profile,
  }
}
