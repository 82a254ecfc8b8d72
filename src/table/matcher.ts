import { isFileNameChar, type Token } from './template.js'

/**
 * A path template compiled to a program for a Pike VM (Thompson's construction
 * with capture slots). It runs every alternative in lock-step over the input,
 * so its cost is O(path length × program size) whatever the path: no
 * backtracking, hence no catastrophic case like `(.*\/)*` in a regex engine.
 * Priorities follow a greedy regex: earlier captures take as much as they can.
 */
const enum Op {
  Char,
  FileNameChar,
  SegmentChar,
  AnyChar,
  Split,
  Jump,
  Save,
  Match,
}

interface Instruction {
  op: Op
  /** Char: the char code. Split and Jump: the first target. Save: the slot. */
  a: number
  /** Split: the second, lower-priority target. */
  b: number
}

export interface Matcher {
  readonly names: readonly string[]
  /** Literal text every match contains; checked before the VM runs. */
  readonly required: readonly string[]
  readonly suffix: string
  readonly program: readonly Instruction[]
}

export function compileMatcher(tokens: readonly Token[]): Matcher {
  const program: Instruction[] = []
  const names: string[] = []
  const emit = (op: Op, a = 0, b = 0): number => program.push({ op, a, b }) - 1
  let skipSlash = false
  tokens.forEach((token, index) => {
    if (token.kind === 'literal') {
      for (const char of skipSlash ? token.text.slice(1) : token.text)
        emit(Op.Char, char.charCodeAt(0))
      skipSlash = false
      return
    }
    const slot = names.push(token.name) * 2 - 2
    emit(Op.Save, slot)
    if (token.kind === 'capture') emitOneOrMore(emit, Op.FileNameChar)
    else if (token.kind === 'choice') emitChoice(emit, program, token.options)
    else skipSlash = emitWildcard(emit, program, index === tokens.length - 1)
    emit(Op.Save, slot + 1)
  })
  emit(Op.Match)
  const last = tokens[tokens.length - 1]
  return {
    names,
    program,
    required: tokens.flatMap((t) => (t.kind === 'literal' ? [t.text] : [])),
    suffix: last?.kind === 'literal' ? last.text : '',
  }
}

type Emit = (op: Op, a?: number, b?: number) => number

function emitOneOrMore(emit: Emit, op: Op): void {
  const loop = emit(op)
  emit(Op.Split, loop, loop + 2)
}

function emitChoice(emit: Emit, program: Instruction[], options: readonly string[]): void {
  const jumps: number[] = []
  options.forEach((option, i) => {
    const split = i < options.length - 1 ? emit(Op.Split) : -1
    for (const char of option) emit(Op.Char, char.charCodeAt(0))
    jumps.push(emit(Op.Jump))
    if (split !== -1) {
      const instruction = program[split] as Instruction
      instruction.a = split + 1
      instruction.b = program.length
    }
  })
  for (const jump of jumps) (program[jump] as Instruction).a = program.length
}

/**
 * `/{w*}/` matches zero or more `segment/` units (the slash after the wildcard
 * is consumed inside the loop, so the next literal skips it); a trailing `/{w*}`
 * matches anything at all. Returns whether the next literal must skip its `/`.
 */
function emitWildcard(emit: Emit, program: Instruction[], atEnd: boolean): boolean {
  const split = emit(Op.Split)
  const body = emit(atEnd ? Op.AnyChar : Op.SegmentChar)
  if (atEnd) {
    emit(Op.Jump, split)
  } else {
    emit(Op.Split, body, body + 2)
    emit(Op.Char, 0x2f)
    emit(Op.Jump, split)
  }
  const instruction = program[split] as Instruction
  instruction.a = body
  instruction.b = program.length
  return !atEnd
}

export type Captures = Record<string, string>

/** Counts the VM's work, so tests can hold it to its linear bound. */
export interface MatchStats {
  /** Instructions entered: at most (path length + 2) × program size. */
  steps: number
}

/** Runs the matcher over the whole path; returns its captures or null. */
export function matchPath(matcher: Matcher, path: string, stats?: MatchStats): Captures | null {
  if (!path.endsWith(matcher.suffix)) return null
  for (const text of matcher.required) if (!path.includes(text)) return null
  const slots = vmOf(matcher).run(path, stats)
  if (slots === null) return null
  const captures: Captures = {}
  matcher.names.forEach((name, i) => {
    const value = path.slice(slots[i * 2], slots[i * 2 + 1])
    // A mid-path wildcard's text ends with the `/` its loop consumed.
    captures[name] = value.endsWith('/') ? value.slice(0, -1) : value
  })
  return captures
}

// One VM per matcher, built on first use. Matching is synchronous, so a
// matcher's VM is never in two runs at once and can reuse its arrays.
const vms = new WeakMap<Matcher, Vm>()

function vmOf(matcher: Matcher): Vm {
  let vm = vms.get(matcher)
  if (vm === undefined) {
    vm = new Vm(matcher.program, matcher.names.length * 2)
    vms.set(matcher, vm)
  }
  return vm
}

/**
 * The Pike VM with every array allocated once: the program as typed arrays,
 * two thread lists (pcs plus one row of capture slots per thread; a list
 * holds each pc at most once, so program-size rows suffice) and one working
 * slot array that saves write and undo while following splits.
 */
class Vm {
  readonly #ops: Uint8Array
  readonly #a: Int32Array
  readonly #b: Int32Array
  readonly #slotCount: number
  #pcs: Int32Array
  #caps: Int32Array
  #count = 0
  #nextPcs: Int32Array
  #nextCaps: Int32Array
  #nextCount = 0
  readonly #work: Int32Array
  /** The step each pc was last entered in; stamps grow across runs. */
  readonly #seen: Int32Array
  #stamp = 0

  constructor(program: readonly Instruction[], slotCount: number) {
    const size = program.length
    this.#ops = Uint8Array.from(program, (i) => i.op)
    this.#a = Int32Array.from(program, (i) => i.a)
    this.#b = Int32Array.from(program, (i) => i.b)
    this.#slotCount = slotCount
    this.#pcs = new Int32Array(size)
    this.#nextPcs = new Int32Array(size)
    this.#caps = new Int32Array(size * slotCount)
    this.#nextCaps = new Int32Array(size * slotCount)
    this.#work = new Int32Array(slotCount)
    this.#seen = new Int32Array(size)
  }

  /** The slots of the highest-priority match (valid until the next run), or null. */
  run(input: string, stats: MatchStats | undefined): Int32Array | null {
    const slotCount = this.#slotCount
    const ops = this.#ops
    const a = this.#a
    this.#work.fill(0)
    this.#nextCount = 0
    this.#step()
    this.#add(0, 0, stats, this.#work, 0)
    this.#swap()
    for (let pos = 0; pos <= input.length; pos++) {
      if (this.#count === 0) return null
      this.#nextCount = 0
      this.#step()
      const code = pos < input.length ? input.charCodeAt(pos) : -1
      const pcs = this.#pcs
      const caps = this.#caps
      for (let t = 0; t < this.#count; t++) {
        const pc = pcs[t] as number
        const op = ops[pc] as Op
        // Threads are in priority order: the first to match at the end wins.
        if (op === Op.Match) {
          if (code === -1) return caps.subarray(t * slotCount, t * slotCount + slotCount)
        } else if (code !== -1 && accepts(op, a[pc] as number, code)) {
          this.#add(pc + 1, pos + 1, stats, caps, t * slotCount)
        }
      }
      this.#swap()
    }
    return null
  }

  // Starts a new step: no pc entered yet. Restarts the stamps before they overflow.
  #step(): void {
    /* c8 ignore next 4 -- reached once every 2^31 steps (hours of matching): no test gets there */
    if (this.#stamp === 0x7fffffff) {
      this.#seen.fill(0)
      this.#stamp = 0
    }
    this.#stamp++
  }

  #swap(): void {
    const pcs = this.#pcs
    this.#pcs = this.#nextPcs
    this.#nextPcs = pcs
    const caps = this.#caps
    this.#caps = this.#nextCaps
    this.#nextCaps = caps
    this.#count = this.#nextCount
  }

  // Follows jumps, splits and saves (which consume nothing) from pc to the
  // consuming instructions, adding them to the next list with the slots read
  // from `from` at `at`: the thread's row, or the working array once a save
  // has changed a slot (copied only then: most steps save nothing).
  #add(pc: number, pos: number, stats: MatchStats | undefined, from: Int32Array, at: number): void {
    if (this.#seen[pc] === this.#stamp) return
    this.#seen[pc] = this.#stamp
    if (stats !== undefined) stats.steps++
    switch (this.#ops[pc] as Op) {
      case Op.Jump:
        this.#add(this.#a[pc] as number, pos, stats, from, at)
        return
      case Op.Split:
        this.#add(this.#a[pc] as number, pos, stats, from, at)
        this.#add(this.#b[pc] as number, pos, stats, from, at)
        return
      case Op.Save: {
        const work = this.#work
        if (from !== work) for (let s = 0; s < work.length; s++) work[s] = from[at + s] as number
        const slot = this.#a[pc] as number
        const old = work[slot] as number
        work[slot] = pos
        this.#add(pc + 1, pos, stats, work, 0)
        work[slot] = old
        return
      }
      default: {
        const t = this.#nextCount++
        this.#nextPcs[t] = pc
        const caps = this.#nextCaps
        const count = this.#slotCount
        for (let s = 0, to = t * count; s < count; s++) caps[to + s] = from[at + s] as number
      }
    }
  }
}

function accepts(op: Op, a: number, code: number): boolean {
  switch (op) {
    case Op.Char:
      return code === a
    case Op.FileNameChar:
      return isFileNameChar(code)
    case Op.SegmentChar:
      return code !== 0x2f
    default:
      return true // Op.AnyChar: the only other op that consumes input
  }
}
