// Errors cross IPC as {code, message, detail}; anything else (a bug, a panic) is wrapped so
// the UI always has the same shape to show.
import type { IpcError } from './bindings'

export function asIpcError(e: unknown): IpcError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const o = e as { code: unknown; message: unknown; detail?: unknown }
    return {
      code: String(o.code),
      message: String(o.message),
      detail: o.detail == null ? null : String(o.detail),
    }
  }
  return { code: 'unknown', message: typeof e === 'string' ? e : String(e), detail: null }
}
