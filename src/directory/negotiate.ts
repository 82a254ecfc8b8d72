/**
 * HTML or JSON for a directory page: `?format=json` or `?format=html` decide;
 * otherwise JSON only when the Accept header prefers application/json over
 * text/html (browsers send text/html first, curl sends *\/*: both get HTML).
 */
export type Format = 'html' | 'json'

export const FORMATS: readonly Format[] = ['html', 'json']

/** The format to answer in, or null when `?format=` names none we have. */
export function chooseFormat(format: unknown, accept: string | undefined): Format | null {
  if (format !== undefined) {
    return typeof format === 'string' && (FORMATS as readonly string[]).includes(format)
      ? (format as Format)
      : null
  }
  if (accept === undefined) return 'html'
  return quality(accept, 'application/json') > quality(accept, 'text/html') ? 'json' : 'html'
}

/** The q-value Accept gives a media type: its most specific matching range wins. */
export function quality(accept: string, type: string): number {
  const [major] = type.split('/') as [string]
  let best = { specificity: -1, q: 0 }
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((p) => p.trim().toLowerCase()) as [
      string,
      ...string[],
    ]
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1
    if (specificity <= best.specificity) continue
    const qParam = params.find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    best = { specificity, q: Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0 }
  }
  return best.q
}
