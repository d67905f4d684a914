// Numbers and dates as people read them: binary sizes (KiB, MiB, GiB: what Windows
// Explorer calls KB, MB, GB), dates in the user's locale with UTC kept for the tooltip.

export function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  if (i === 0) return `${n} ${n === 1 ? 'byte' : 'bytes'}`
  return `${n.toLocaleString(undefined, { maximumFractionDigits: n < 10 ? 1 : 0 })} ${units[i]}`
}

/** An RFC 3339 moment in the user's locale and time zone ("2 Dec 2026, 22:10"). */
export function localTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** The same moment in UTC, for the tooltip and the audit trail ("2026-12-02 22:10:05 UTC"). */
export function utcTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** "1 key", "7 keys": a count with its noun, never "key(s)". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`
}
