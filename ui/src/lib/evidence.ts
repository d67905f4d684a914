import type { Standard } from './bindings'

/** The standards an evidence pack maps to, as the pickers offer them. */
export const STANDARDS: { value: Standard; label: string }[] = [
  { value: 'stig', label: 'DISA STIG (SQL Server 2022, 2016)' },
  { value: 'pci', label: 'PCI DSS v4.0.1 (req. 3)' },
  { value: 'cis', label: 'CIS SQL Server 2022 Benchmark (7.1)' },
]

/** A year back (YYYY-MM-DD): the period an audit usually asks about. */
export function yearAgo(now = Date.now()): string {
  return new Date(now - 365 * 86400000).toISOString().slice(0, 10)
}
