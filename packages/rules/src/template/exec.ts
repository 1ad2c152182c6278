// The executor of Go's text/template (text/template/exec.go): walks a parsed tree over a
// Go value, with Go's typing of function arguments, its truth, its printing and its error
// messages ("template: NAME:1:3: executing \"NAME\" at <.Foo>: …"). Option
// missingkey=zero, as Prometheus sets it.
//
// Execution is synchronous. A function that needs I/O (Prometheus's `query`) throws a
// Suspend carrying a promise; the caller awaits it and executes again from the start, by
// then with the answer cached (see expander.ts). Templates are deterministic, so the
// re-run takes the same path.

import { formatValue } from './go-fmt.js';
import { methodOf } from './methods.js';
import { str, type ArgNode, type BranchNode, type CommandNode, type FieldNode, type Node, type NumberNode, type PipeNode, type TemplateNode, type VariableNode } from './node.js';
import type { Tree } from './parse.js';
import { GoDuration, GoMap, GoSlice, GoStruct, GoTime, type GoValue, isTrue, typeName, zeroOf } from './value.js';

/** A Go type a function parameter asks for; 'interface {}' takes anything. */
export type ParamType = string;

/** A template function: Go's signature, enough to check and convert arguments as Go does. */
export interface FuncDef {
  params: ParamType[];
  /** Element type of a trailing variadic parameter. */
  variadic?: ParamType;
  /** Returns the result; throws GoError for a Go error result. */
  fn: (args: GoValue[]) => GoValue;
  /** Go's builtin and/or: arguments evaluated lazily, the deciding value returned. */
  shortCircuit?: 'and' | 'or';
  /** Arguments arrive unconverted (Go's reflect.Value parameters: eq, index, len…). */
  raw?: boolean;
}

export type FuncMap = ReadonlyMap<string, FuncDef>;

/** A Go `error` returned by a template function ("error calling NAME: <message>"). */
export class GoError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GoError';
  }
}

/** An execution error; the message is Go's. */
export class TemplateExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

/** Thrown by a function that must wait for I/O: await `wait`, then execute again. */
export class Suspend {
  constructor(readonly wait: Promise<unknown>) {}
}

const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

const MAX_EXEC_DEPTH = 100000;

interface Variable {
  name: string;
  value: GoValue;
}

class State {
  node: Node | null = null;
  vars: Variable[];
  out = '';
  depth = 0;

  constructor(
    private tmplName: string,
    private readonly trees: ReadonlyMap<string, Tree>,
    private readonly funcs: FuncMap,
    data: GoValue,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  // ---- errors ----

  errorf(msg: string): never {
    const n = this.node;
    if (n === null) throw new TemplateExecError(`template: ${this.tmplName}: ${msg}`);
    const text = n.tree.text.slice(0, n.pos);
    const nl = text.lastIndexOf('\n');
    const col = Buffer.byteLength(nl < 0 ? text : text.slice(nl + 1), 'utf8');
    let line = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
    throw new TemplateExecError(
      `template: ${n.tree.parseName}:${line}:${col}: executing ${JSON.stringify(this.tmplName)} at <${str(n)}>: ${msg}`,
    );
  }

  // ---- variables ----

  private setVar(name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----

  walk(dot: GoValue, node: Node): void {
    this.node = node;
    switch (node.kind) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.out += node.text;
        return;
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      default:
        this.errorf(`unknown node: ${str(node)}`);
    }
  }

  private walkIfOrWith(dot: GoValue, node: BranchNode): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(node.kind === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: GoValue, r: BranchNode): void {
    this.node = r;
    const outer = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const oneIteration = (index: GoValue, elem: GoValue): boolean => {
        if (r.pipe.decl.length > 0) this.vars[this.vars.length - 1].value = elem;
        if (r.pipe.decl.length > 1) this.vars[this.vars.length - 2].value = index;
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e === BREAK) return false;
          if (e !== CONTINUE) throw e;
        } finally {
          this.vars.length = mark;
        }
        return true;
      };
      if (val instanceof GoSlice) {
        if (val.items.length > 0) {
          for (let i = 0; i < val.items.length; i++) if (!oneIteration(BigInt(i), val.items[i])) break;
          return;
        }
      } else if (val instanceof GoMap) {
        if (val.entries.size > 0) {
          // Maps range in sorted key order, as Go's fmtsort orders them.
          for (const k of [...val.entries.keys()].sort()) if (!oneIteration(k, val.entries.get(k))) break;
          return;
        }
      } else if (typeof val === 'bigint') {
        // Go 1.22 ranges over integers; earlier versions reject them below.
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      } else if (val !== undefined && val !== null) {
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = outer;
    }
  }

  private walkTemplate(dot: GoValue, t: TemplateNode): void {
    this.node = t;
    const tree = this.trees.get(t.name);
    if (tree === undefined) this.errorf(`template ${JSON.stringify(t.name)} not defined`);
    if (this.depth === MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    const newDot = this.evalPipeline(dot, t.pipe);
    // No dynamic scoping: the invoked template sees only $ (its dot).
    const saved = { vars: this.vars, name: this.tmplName };
    this.vars = [{ name: '$', value: newDot }];
    this.tmplName = tree.name;
    this.depth++;
    try {
      this.walk(newDot, tree.root);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.tmplName = saved.name;
    }
  }

  // ---- evaluation ----

  evalPipeline(dot: GoValue, pipe: PipeNode | null): GoValue {
    if (pipe === null) return undefined;
    this.node = pipe;
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    const v = value as GoValue;
    for (const variable of pipe.decl) {
      if (pipe.isAssign) this.setVar(variable.ident[0], v);
      else this.vars.push({ name: variable.ident[0], value: v });
    }
    return v;
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${str(args[0])}`);
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first.ident, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.node = first;
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
  }

  private idealConstant(n: NumberNode): GoValue {
    this.node = n;
    const hexInt = /^0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    if (n.isFloat && !hexInt && n.text[0] !== "'" && /[.eEpP]/.test(n.text)) return n.float;
    if (n.isInt) return n.int;
    return undefined;
  }

  private evalFieldNode(dot: GoValue, field: FieldNode, args: ArgNode[], final: Final): GoValue {
    this.node = field;
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChain(dot: GoValue, chain: Extract<ArgNode, { kind: 'chain' }>, args: ArgNode[], final: Final): GoValue {
    this.node = chain;
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${str(chain)}`);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: GoValue, v: VariableNode, args: ArgNode[], final: Final): GoValue {
    this.node = v;
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: GoValue, receiver: GoValue, node: Node, ident: string[], args: ArgNode[], final: Final): GoValue {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, [], MISSING, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  private evalFunction(dot: GoValue, name: string, ident: Node, cmd: Node, args: ArgNode[], final: Final): GoValue {
    this.node = ident;
    const f = this.funcs.get(name);
    if (f === undefined) this.errorf(`${JSON.stringify(name)} is not a defined function`);
    return this.evalCall(dot, f, cmd, name, args, final);
  }

  private evalField(dot: GoValue, fieldName: string, node: Node, args: ArgNode[], final: Final, receiver: GoValue): GoValue {
    if (receiver === undefined) return undefined; // missingkey=zero: an invalid value stays so
    const typ = receiver === null ? 'interface {}' : typeName(receiver);
    if (receiver === null) this.errorf(`nil pointer evaluating ${typ}.${fieldName}`);
    const method = methodOf(receiver, fieldName);
    if (method !== undefined) return this.evalCall(dot, method, node, fieldName, args, final);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver instanceof GoStruct && Object.prototype.hasOwnProperty.call(receiver.fields, fieldName)) {
      if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
      return receiver.fields[fieldName];
    }
    if (receiver instanceof GoMap) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      const v = receiver.entries.get(fieldName);
      return v === undefined && !receiver.entries.has(fieldName) ? zeroOf(receiver.elem) : v;
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typ}`);
  }

  private evalCall(dot: GoValue, f: FuncDef, node: Node, name: string, argNodes: ArgNode[], final: Final): GoValue {
    const args = argNodes.slice(1); // the first is the function itself
    let numIn = args.length;
    if (final !== MISSING) numIn++;
    let numFixed = args.length;
    if (f.variadic !== undefined) {
      numFixed = f.params.length;
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${f.params.length} got ${args.length}`);
    } else if (numIn !== f.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${f.params.length} got ${numIn}`);
    }

    if (f.shortCircuit !== undefined) {
      let v: GoValue = undefined;
      for (const a of args) {
        v = this.evalArg(dot, 'interface {}', a);
        if (isTrue(v) === (f.shortCircuit === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }

    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, f.params[i], args[i]));
    if (f.variadic !== undefined) for (; i < args.length; i++) argv.push(this.evalArg(dot, f.variadic, args[i]));
    if (final !== MISSING) {
      let t = f.variadic !== undefined && numIn - 1 >= numFixed ? f.variadic : f.params[numIn - 1];
      if (t === undefined) t = 'interface {}';
      argv.push(this.validateType(final, t));
    }
    try {
      return f.fn(argv);
    } catch (e) {
      if (e instanceof Suspend || e instanceof TemplateExecError) throw e;
      // Go recovers panics in called functions into errors too.
      this.node = node;
      this.errorf(`error calling ${name}: ${(e as Error).message}`);
    }
  }

  private validateType(value: GoValue, typ: ParamType | null): GoValue {
    if (value === undefined) {
      if (typ === null || typ === 'interface {}') return typ === null ? null : undefined;
      if (canBeNil(typ)) return null;
      this.errorf(`invalid value; expected ${typ}`);
    }
    if (typ === null || typ === 'interface {}' || typ === 'reflect.Value') return value;
    if (value === null) {
      if (canBeNil(typ)) return null;
      this.errorf(`wrong type for value; expected ${typ}; got interface {}`);
    }
    const have = typeName(value);
    if (have === typ) return value;
    // One dereference is allowed (a *time.Duration where a time.Duration is wanted).
    if ('*' + typ === have) {
      if (value instanceof GoDuration) return new GoDuration(value.ns, false);
      if (value instanceof GoTime) return new GoTime(value.ns, false);
    }
    this.errorf(`wrong type for value; expected ${typ}; got ${have}`);
  }

  private evalArg(dot: GoValue, typ: ParamType | null, n: ArgNode): GoValue {
    this.node = n;
    switch (n.kind) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ !== null && canBeNil(typ)) return null;
        this.errorf(`cannot assign nil to ${typ}`);
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n.ident, n, n, [], MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChain(dot, n, [], MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.kind === 'bool') return n.value;
        this.errorf(`expected bool; found ${str(n)}`);
      case 'float64':
        if (n.kind === 'number' && n.isFloat) return n.float;
        this.errorf(`expected float; found ${str(n)}`);
      case 'int':
      case 'int64':
        if (n.kind === 'number' && n.isInt) return n.int;
        this.errorf(`expected integer; found ${str(n)}`);
      case 'string':
        if (n.kind === 'string') return n.text;
        this.errorf(`expected string; found ${str(n)}`);
      case 'interface {}':
      case 'reflect.Value':
        switch (n.kind) {
          case 'bool':
            return n.value;
          case 'number':
            return this.idealConstant(n);
          case 'string':
            return n.text;
        }
    }
    this.errorf(`can't handle ${str(n)} for arg of type ${typ}`);
  }

  printValue(n: Node, v: GoValue): void {
    this.node = n;
    if (v === undefined) {
      this.out += '<no value>';
      return;
    }
    // Pointers print what they point to.
    if (v instanceof GoStruct && v.ptr) v = new GoStruct(v.typeName.replace(/^\*/, ''), v.fields, false);
    this.out += formatValue(v);
  }
}

function canBeNil(typ: ParamType): boolean {
  return typ === 'interface {}' || typ.startsWith('*') || typ.startsWith('map[') || typ.startsWith('[]') || typ === 'template.queryResult';
}

/** Executes the template `name` of a parsed set over `data`; returns the output. */
export function execute(trees: ReadonlyMap<string, Tree>, name: string, data: GoValue, funcs: FuncMap): string {
  const tree = trees.get(name);
  const s = new State(name, trees, funcs, data);
  if (tree === undefined) return s.errorf(`${JSON.stringify(name)} is an incomplete or empty template`);
  s.walk(data, tree.root);
  return s.out;
}
