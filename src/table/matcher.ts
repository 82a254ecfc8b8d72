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

/** Runs the matcher over the whole path; returns its captures or null. */
export function matchPath(matcher: Matcher, path: string): Captures | null {
  if (!path.endsWith(matcher.suffix)) return null
  for (const text of matcher.required) if (!path.includes(text)) return null
  const slots = run(matcher.program, path, matcher.names.length * 2)
  if (slots === null) return null
  const captures: Captures = {}
  matcher.names.forEach((name, i) => {
    const value = path.slice(slots[i * 2], slots[i * 2 + 1])
    // A mid-path wildcard's text ends with the `/` its loop consumed.
    captures[name] = value.endsWith('/') ? value.slice(0, -1) : value
  })
  return captures
}

interface Thread {
  pc: number
  slots: Int32Array
}

class ThreadList {
  readonly threads: Thread[] = []
  private readonly seen: Int32Array
  private generation = 0

  constructor(size: number) {
    this.seen = new Int32Array(size).fill(-1)
  }

  reset(generation: number): void {
    this.threads.length = 0
    this.generation = generation
  }

  /** Marks pc as visited in this step; false if it already was. */
  visit(pc: number): boolean {
    if (this.seen[pc] === this.generation) return false
    this.seen[pc] = this.generation
    return true
  }
}

function run(program: readonly Instruction[], input: string, slotCount: number): Int32Array | null {
  let current = new ThreadList(program.length)
  let next = new ThreadList(program.length)
  current.reset(0)
  addThread(program, current, 0, new Int32Array(slotCount), 0)
  for (let pos = 0; pos <= input.length; pos++) {
    if (current.threads.length === 0) return null
    next.reset(pos + 1)
    const code = pos < input.length ? input.charCodeAt(pos) : -1
    for (const thread of current.threads) {
      const instruction = program[thread.pc] as Instruction
      // Threads are in priority order: the first to match at the end wins.
      if (instruction.op === Op.Match) {
        if (code === -1) return thread.slots
      } else if (code !== -1 && accepts(instruction, code)) {
        addThread(program, next, thread.pc + 1, thread.slots, pos + 1)
      }
    }
    ;[current, next] = [next, current]
  }
  return null
}

function accepts(instruction: Instruction, code: number): boolean {
  switch (instruction.op) {
    case Op.Char:
      return code === instruction.a
    case Op.FileNameChar:
      return isFileNameChar(code)
    case Op.SegmentChar:
      return code !== 0x2f
    default:
      return true // Op.AnyChar: the only other op that consumes input
  }
}

// Follows jumps, splits and saves (which consume nothing) to the next
// consuming instructions, copying the slots only when a save changes them.
function addThread(
  program: readonly Instruction[],
  list: ThreadList,
  pc: number,
  slots: Int32Array,
  pos: number,
): void {
  if (!list.visit(pc)) return
  const instruction = program[pc] as Instruction
  switch (instruction.op) {
    case Op.Jump:
      addThread(program, list, instruction.a, slots, pos)
      return
    case Op.Split:
      addThread(program, list, instruction.a, slots, pos)
      addThread(program, list, instruction.b, slots, pos)
      return
    case Op.Save: {
      const copy = slots.slice()
      copy[instruction.a] = pos
      addThread(program, list, pc + 1, copy, pos)
      return
    }
    default:
      list.threads.push({ pc, slots })
  }
}
