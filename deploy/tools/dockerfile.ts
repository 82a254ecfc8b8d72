/**
 * Reads a Dockerfile into stages and instructions, enough for the tests to
 * replay the runtime stage without a Docker engine. It follows the Dockerfile
 * reference for what we use: `\` line continuations, `#` comment lines (also
 * inside a continuation), `--flag=value` options and JSON (exec) forms.
 */

export interface Instruction {
  /** Upper case, e.g. `COPY`. */
  readonly keyword: string
  /** Leading `--name=value` options (`--from`, `--interval`, ...). */
  readonly flags: Readonly<Record<string, string>>
  /** The rest of the instruction, continuations joined with a space. */
  readonly args: string
  /** 1-based line where the instruction starts. */
  readonly line: number
}

export interface Stage {
  /** The `AS name`, if any. */
  readonly name: string | undefined
  /** The image named by FROM, `${ARG}`s as written. */
  readonly base: string
  readonly instructions: readonly Instruction[]
}

export interface Dockerfile {
  /** ARG lines before the first FROM. */
  readonly globalArgs: readonly Instruction[]
  readonly stages: readonly Stage[]
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Instruction[] = []
  const stages: { name: string | undefined; base: string; instructions: Instruction[] }[] = []
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)
      if (match === null) throw new Error(`line ${instruction.line}: cannot read FROM`)
      stages.push({ name: match[2], base: match[1] as string, instructions: [] })
    } else if (stages.length > 0) {
      ;(stages.at(-1) as Stage & { instructions: Instruction[] }).instructions.push(instruction)
    } else if (instruction.keyword === 'ARG') {
      globalArgs.push(instruction)
    } else {
      throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`)
    }
  }
  return { globalArgs, stages }
}

function* instructions(text: string): Generator<Instruction> {
  const lines = text.split(/\r?\n/)
  let pending: string[] = []
  let start = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    // Comment lines and blank lines vanish, even inside a continuation.
    if (/^\s*(#.*)?$/.test(line)) continue
    if (pending.length === 0) start = i + 1
    const continued = /\\\s*$/.test(line)
    pending.push(continued ? line.replace(/\\\s*$/, '') : line)
    if (continued) continue
    yield toInstruction(pending.map((part) => part.trim()).join(' '), start)
    pending = []
  }
  if (pending.length > 0) throw new Error(`line ${start}: the file ends inside a continuation`)
}

function toInstruction(source: string, line: number): Instruction {
  const [keyword = '', ...rest] = source.split(/\s+/)
  const flags: Record<string, string> = {}
  let args = rest.join(' ')
  for (let match = /^--([a-z-]+)=(\S*)\s*/.exec(args); match !== null;) {
    flags[match[1] as string] = match[2] as string
    args = args.slice(match[0].length)
    match = /^--([a-z-]+)=(\S*)\s*/.exec(args)
  }
  return { keyword: keyword.toUpperCase(), flags, args, line }
}

/** The JSON array of an exec-form CMD, ENTRYPOINT or RUN, else undefined (shell form). */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(args)
  } catch {
    return undefined
  }
  return Array.isArray(parsed) && parsed.every((part) => typeof part === 'string')
    ? parsed
    : undefined
}

/**
 * The node flags of a stage's ENTRYPOINT, `["node", FLAGS…, "dist/main.js"]`:
 * what production runs the service with, which the benchmark and the run
 * script repeat. Throws if the ENTRYPOINT has another form.
 */
export function nodeFlagsOf(stage: Stage): string[] {
  const entrypoint = execForm(lastOf(stage, 'ENTRYPOINT')?.args ?? '') ?? []
  const script = entrypoint.indexOf('dist/main.js')
  if (entrypoint[0] !== 'node' || script === -1) {
    throw new Error(`ENTRYPOINT is not ["node", …flags, "dist/main.js"]: ${entrypoint.join(' ')}`)
  }
  return entrypoint.slice(1, script)
}

/** The ENTRYPOINT's node flags of the image, a Dockerfile's last stage. */
export function imageNodeFlags(dockerfileText: string): string[] {
  return nodeFlagsOf(parseDockerfile(dockerfileText).stages.at(-1) as Stage)
}

/** A stage's instructions of one kind. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword)
}

export function stageNamed(dockerfile: Dockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name)
  if (stage === undefined) throw new Error(`no stage named ${name}`)
  return stage
}

/** `${NAME}` and `$NAME` replaced by the defaults of the global ARGs. */
export function expandArgs(dockerfile: Dockerfile, value: string): string {
  const defaults = new Map<string, string>()
  for (const { args } of dockerfile.globalArgs) {
    const [name = '', fallback = ''] = args.split('=', 2)
    defaults.set(name, unquote(fallback))
  }
  return value.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => defaults.get(name) ?? whole)
}

/** The command of `HEALTHCHECK [options] CMD ...`; undefined for NONE or none. */
export function healthcheckOf(stage: Stage): string[] | undefined {
  const args = lastOf(stage, 'HEALTHCHECK')?.args
  const command = args?.startsWith('CMD ') === true ? args.slice(4).trim() : undefined
  return command === undefined ? undefined : (execForm(command) ?? ['/bin/sh', '-c', command])
}

/** The last instruction of a kind in a stage (later ones override earlier ones). */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return instructionsOf(stage, keyword).at(-1)
}

/** `ENV a=b c=d` or the legacy `ENV a b`. Quotes around values are removed. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const { args } of instructionsOf(stage, 'ENV')) {
    const legacy = /^([^\s=]+)\s+(.*)$/.exec(args)
    if (legacy !== null) {
      env[legacy[1] as string] = unquote(legacy[2] as string)
      continue
    }
    for (const match of args.matchAll(/([^\s=]+)=("[^"]*"|'[^']*'|\S*)/g)) {
      env[match[1] as string] = unquote(match[2] as string)
    }
  }
  return env
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value
}

export interface Copy {
  readonly from: string | undefined
  readonly sources: readonly string[]
  readonly dest: string
}

/** A COPY's stage (`--from`), sources and destination (shell or JSON form). */
export function copyOf(instruction: Instruction): Copy {
  const parts = execForm(instruction.args) ?? instruction.args.split(/\s+/)
  if (parts.length < 2) throw new Error(`line ${instruction.line}: COPY needs a source and a dest`)
  return {
    from: instruction.flags.from,
    sources: parts.slice(0, -1),
    dest: parts.at(-1) as string,
  }
}
