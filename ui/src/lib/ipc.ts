// Errors cross IPC as {code, message, next_step, server}: the UI switches on `code` (the
// engine's closed set) and never parses English. Anything else (a bug, a panic) is wrapped
// as `internal` so the UI always has the same shape to show.
import type { ErrorCode, KeysafeError, ServerMessage } from './bindings'

export function asIpcError(e: unknown): KeysafeError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const o = e as { code: unknown; message: unknown; next_step?: unknown; server?: unknown }
    return {
      code: String(o.code) as ErrorCode,
      message: String(o.message),
      next_step: o.next_step == null ? null : String(o.next_step),
      server: o.server && typeof o.server === 'object' ? (o.server as ServerMessage) : null,
    }
  }
  return { code: 'internal', message: typeof e === 'string' ? e : String(e), next_step: null, server: null }
}

/** SQL Server's own message as SSMS prints it, or null. */
export function serverMessage(e: KeysafeError): string | null {
  const m = e.server
  return m ? `Msg ${m.number}, Level ${m.level}, State ${m.state}, Line ${m.line}\n${m.text}` : null
}

/** What to show under an error's message: the next step, then SQL Server's own message. */
export function errorDetail(e: KeysafeError): string | null {
  const parts: string[] = []
  if (e.next_step) parts.push(e.next_step)
  const m = serverMessage(e)
  if (m) parts.push(m)
  return parts.length ? parts.join('\n') : null
}
