/**
 * Templates are the only pattern language of the table: literal text, `{name}`
 * (one or more file-name characters, never `/`), `{name:a|b}` (one of the listed
 * words) and `{name*}` (any number of whole path segments). Output templates
 * (release and asset) take only `{name}` references.
 */
export type Token =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'capture'; readonly name: string }
  | { readonly kind: 'choice'; readonly name: string; readonly options: readonly string[] }
  | { readonly kind: 'wildcard'; readonly name: string }

/** Thrown for a malformed template; the table loader adds the rule's name. */
export class TemplateError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Characters a capture may take and an output template may contain: RFC 3986's
 * unreserved characters and sub-delimiters, `:` and `@`. None of them needs
 * escaping in a URL path, so a target built from them stays inside its origin.
 * Whitespace, controls, `/`, `%`, `?`, `#` and non-ASCII are not among them.
 */
export function isFileNameChar(code: number): boolean {
  return FILE_NAME_CHARS[code] === 1
}

const FILE_NAME_CHARS = new Uint8Array(128)
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") {
  FILE_NAME_CHARS[char.charCodeAt(0)] = 1
}

export function isFileName(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isFileNameChar(text.charCodeAt(i))) return false
  return text.length > 0
}

export function parseTemplate(template: string): Token[] {
  const tokens: Token[] = []
  let literal = ''
  let i = 0
  while (i < template.length) {
    const char = template.charAt(i)
    if (char === '}') throw new TemplateError(`unmatched "}" at offset ${i}`)
    if (char !== '{') {
      literal += char
      i++
      continue
    }
    const close = template.indexOf('}', i)
    if (close === -1) throw new TemplateError(`unclosed "{" at offset ${i}`)
    if (literal !== '') tokens.push({ kind: 'literal', text: literal })
    literal = ''
    tokens.push(parsePlaceholder(template.slice(i + 1, close)))
    i = close + 1
  }
  if (literal !== '') tokens.push({ kind: 'literal', text: literal })
  return tokens
}

function parsePlaceholder(body: string): Token {
  const colon = body.indexOf(':')
  if (colon !== -1) {
    const name = checkName(body.slice(0, colon))
    const options = body.slice(colon + 1).split('|')
    for (const option of options) {
      if (!isFileName(option)) {
        throw new TemplateError(`{${name}} has an empty or invalid alternative "${option}"`)
      }
    }
    return { kind: 'choice', name, options }
  }
  if (body.endsWith('*')) return { kind: 'wildcard', name: checkName(body.slice(0, -1)) }
  return { kind: 'capture', name: checkName(body) }
}

function checkName(name: string): string {
  if (!NAME.test(name)) throw new TemplateError(`"{${name}}" is not a valid placeholder name`)
  return name
}

/** Checks the shape rules of a path template and returns the names it captures. */
export function checkPathTemplate(tokens: readonly Token[]): string[] {
  const first = tokens[0]
  if (first?.kind !== 'literal' || !first.text.startsWith('/')) {
    throw new TemplateError('a path template must start with "/"')
  }
  const names: string[] = []
  tokens.forEach((token, index) => {
    if (token.kind === 'literal') return
    if (names.includes(token.name)) throw new TemplateError(`{${token.name}} is captured twice`)
    names.push(token.name)
    const before = tokens[index - 1]
    const after = tokens[index + 1]
    if (token.kind === 'wildcard') checkWildcardPlace(token.name, before, after)
    else if (token.kind === 'capture' && after?.kind === 'capture') {
      // Two open-ended captures side by side have no boundary a reader can see.
      throw new TemplateError(`{${token.name}} and {${after.name}} need literal text between them`)
    }
  })
  return names
}

function checkWildcardPlace(name: string, before?: Token, after?: Token): void {
  const startsSegment = before?.kind === 'literal' && before.text.endsWith('/')
  const endsSegment =
    after === undefined || (after.kind === 'literal' && after.text.startsWith('/'))
  if (!startsSegment || !endsSegment) {
    throw new TemplateError(`{${name}*} must stand alone as a whole path segment`)
  }
}

/** Checks an output template against the captures its path template defines. */
export function checkOutputTemplate(tokens: readonly Token[], pathTokens: readonly Token[]): void {
  if (tokens.length === 0) throw new TemplateError('is empty')
  for (const token of tokens) {
    if (token.kind === 'literal') {
      if (!isFileName(token.text)) {
        throw new TemplateError(`literal "${token.text}" has characters a file name cannot have`)
      }
      continue
    }
    if (token.kind !== 'capture') throw new TemplateError(`{${token.name}} must be a plain {name}`)
    const source = pathTokens.find((t) => t.kind !== 'literal' && t.name === token.name)
    if (source === undefined) {
      throw new TemplateError(`uses {${token.name}}, which the path does not capture`)
    }
    if (source.kind === 'wildcard') {
      throw new TemplateError(`uses {${token.name}*}, a sub-path, which may contain "/"`)
    }
  }
}

export function renderOutput(
  tokens: readonly Token[],
  captures: Readonly<Record<string, string>>,
): string {
  let out = ''
  for (const token of tokens) out += token.kind === 'literal' ? token.text : captures[token.name]
  return out
}
