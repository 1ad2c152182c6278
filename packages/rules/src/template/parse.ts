// The parser of Go's text/template (text/template/parse/parse.go, Go 1.19): a recursive
// descent over the lexer's items with Go's three-token lookahead, building one Tree per
// template ({{define}} and {{block}} add more to the set). Errors are Go's, word for word:
// "template: NAME:LINE: unexpected \"}\" in operand".

import { unquoteGo } from '@thanos-ts/promql';
import { type Item, ItemType, itemString, lex } from './lex.js';
import type {
  ActionNode,
  ArgNode,
  BranchNode,
  BreakNode,
  CommandNode,
  ElseNode,
  EndNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from './node.js';
import { str } from './node.js';

/** A template that does not parse; the message is Go's. */
export class TemplateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateParseError';
  }
}

export interface Tree {
  name: string;
  /** Name of the top-level template, for error messages. */
  parseName: string;
  root: ListNode;
  /** The whole text parsed (positions index into it). */
  text: string;
}

/** Reports whether a function name is defined (template funcs plus Go's builtins). */
export type HasFunction = (name: string) => boolean;

class Parser {
  private readonly token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  /** Line of the action being parsed (0 outside actions), for lexer errors. */
  private actionLine = 0;
  tree: Tree;

  constructor(
    name: string,
    parseName: string,
    private readonly items: Item[],
    private readonly cursor: { i: number },
    private readonly hasFunction: HasFunction,
    private readonly treeSet: Map<string, Tree>,
    text: string,
  ) {
    this.tree = { name, parseName, root: null as unknown as ListNode, text };
  }

  // ---- token stream ----

  private lexNext(): Item {
    const i = this.cursor.i < this.items.length ? this.cursor.i++ : this.items.length - 1;
    return this.items[i];
  }
  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lexNext();
    return this.token[this.peekCount];
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1];
    this.peekCount = 1;
    this.token[0] = this.lexNext();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === ItemType.Space);
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  // ---- errors ----

  errorf(msg: string): never {
    const line = this.token[0]?.line ?? 1;
    throw new TemplateParseError(`template: ${this.tree.parseName}:${line}: ${msg}`);
  }
  private unexpected(t: Item, context: string): never {
    if (t.typ === ItemType.Error) {
      // A lexer error speaks for itself, naming where a multi-line action began.
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.tree.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${t.val}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }
  private expect(typ: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }

  // ---- structure ----

  private add(): void {
    const existing = this.treeSet.get(this.tree.name);
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.treeSet.set(this.tree.name, this.tree);
      return;
    }
    if (!isEmptyTree(this.tree.root)) {
      this.errorf(`template: multiple definition of template ${JSON.stringify(this.tree.name)}`);
    }
  }

  private sub(name: string): Parser {
    return new Parser(name, this.tree.parseName, this.items, this.cursor, this.hasFunction, this.treeSet, this.tree.text);
  }

  parse(): void {
    this.tree.root = this.newList(this.peek().pos);
    while (this.peek().typ !== ItemType.EOF) {
      if (this.peek().typ === ItemType.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === ItemType.Define) {
          const def = this.sub('definition');
          def.token[0] = this.token[0];
          def.parseDefinition();
          this.token[0] = def.token[0];
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') this.errorf(`unexpected ${str(n)}`);
      this.tree.root.nodes.push(n);
    }
    this.add();
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.nextNonSpace();
    if (name.typ !== ItemType.String && name.typ !== ItemType.RawString) this.unexpected(name, context);
    this.tree.name = this.unquote(name.val);
    this.expect(ItemType.RightDelim, context);
    const [list, end] = this.itemList();
    this.tree.root = list;
    if (end.kind !== 'end') this.errorf(`unexpected ${str(end)} in ${context}`);
    this.add();
  }

  private itemList(): [ListNode, EndNode | ElseNode] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== ItemType.EOF) {
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case ItemType.Text:
        return { kind: 'text', pos: t.pos, tree: this.tree, text: t.val };
      case ItemType.LeftDelim:
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      default:
        this.unexpected(t, 'input');
    }
  }

  private action(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case ItemType.Block:
        return this.blockControl();
      case ItemType.Break:
      case ItemType.Continue:
        return this.breakControl(t);
      case ItemType.Else:
        return this.elseControl();
      case ItemType.End:
        return this.endControl();
      case ItemType.If:
        return this.branch('if', true);
      case ItemType.Range:
        return this.branch('range', false);
      case ItemType.Template:
        return this.templateControl();
      case ItemType.With:
        return this.branch('with', false);
    }
    this.backup();
    const tok = this.peek();
    // Variables declared here persist until the enclosing {{end}}.
    const a: ActionNode = { kind: 'action', pos: tok.pos, tree: this.tree, line: tok.line, pipe: this.pipeline('command', ItemType.RightDelim) };
    return a;
  }

  private breakControl(t: Item): BreakNode {
    const kind = t.typ === ItemType.Break ? 'break' : 'continue';
    const tok = this.nextNonSpace();
    if (tok.typ !== ItemType.RightDelim) this.unexpected(tok, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { kind, pos: t.pos, tree: this.tree, line: t.line };
  }

  private pipeline(context: string, end: ItemType): PipeNode {
    const tok = this.peekNonSpace();
    const pipe: PipeNode = { kind: 'pipe', pos: tok.pos, tree: this.tree, line: tok.line, isAssign: false, decl: [], cmds: [] };
    // Declarations or assignments?
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== ItemType.Variable) break;
      this.next();
      // "$x foo": read past the space to tell a declaration from an argument.
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === ItemType.Assign || next.typ === ItemType.Declare) {
        pipe.isAssign = next.typ === ItemType.Assign;
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.typ === ItemType.Char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === ItemType.Variable || p === ItemType.RightDelim || p === ItemType.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === ItemType.Space) {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      switch (t.typ) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case ItemType.Bool:
        case ItemType.CharConstant:
        case ItemType.Complex:
        case ItemType.Dot:
        case ItemType.Field:
        case ItemType.Identifier:
        case ItemType.Number:
        case ItemType.Nil:
        case ItemType.RawString:
        case ItemType.String:
        case ItemType.Variable:
        case ItemType.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    for (let i = 1; i < pipe.cmds.length; i++) {
      const k = pipe.cmds[i].args[0].kind;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 1}`);
      }
    }
  }

  private branch(kind: 'if' | 'range' | 'with', allowElseIf: boolean): BranchNode {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, ItemType.RightDelim);
    if (kind === 'range') this.rangeDepth++;
    let [list, next] = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: ListNode | null = null;
    if (next.kind === 'else') {
      // {{else if b}} is {{else}}{{if b}}…{{end}}{{end}} with the inner {{end}} implied.
      if (allowElseIf && this.peek().typ === ItemType.If) {
        this.next();
        elseList = this.newList(next.pos);
        elseList.nodes.push(this.branch('if', true));
      } else {
        [elseList, next] = this.itemList();
        if (next.kind !== 'end') this.errorf(`expected end; found ${str(next)}`);
      }
    }
    this.vars.length = mark;
    return { kind, pos: pipe.pos, tree: this.tree, line: pipe.line, pipe, list, elseList };
  }

  private endControl(): EndNode {
    return { kind: 'end', pos: this.expect(ItemType.RightDelim, 'end').pos, tree: this.tree };
  }

  private elseControl(): ElseNode {
    const p = this.peekNonSpace();
    if (p.typ === ItemType.If) return { kind: 'else', pos: p.pos, tree: this.tree, line: p.line };
    const t = this.expect(ItemType.RightDelim, 'else');
    return { kind: 'else', pos: t.pos, tree: this.tree, line: t.line };
  }

  private blockControl(): TemplateNode {
    const context = 'block clause';
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    const pipe = this.pipeline(context, ItemType.RightDelim);
    const block = this.sub(name);
    block.token[0] = this.token[0];
    const [list, end] = block.itemList();
    block.tree.root = list;
    if (end.kind !== 'end') this.errorf(`unexpected ${str(end)} in ${context}`);
    block.add();
    this.token[0] = block.token[0];
    return { kind: 'template', pos: t.pos, tree: this.tree, line: t.line, name, pipe };
  }

  private templateControl(): TemplateNode {
    const context = 'template clause';
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== ItemType.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, ItemType.RightDelim);
    }
    return { kind: 'template', pos: t.pos, tree: this.tree, line: t.line, name, pipe };
  }

  private parseTemplateName(t: Item, context: string): string {
    if (t.typ === ItemType.String || t.typ === ItemType.RawString) return this.unquote(t.val);
    this.unexpected(t, context);
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, tree: this.tree, args: [] };
    for (;;) {
      this.peekNonSpace(); // skip leading spaces
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === ItemType.Space) continue;
      if (t.typ === ItemType.RightDelim || t.typ === ItemType.RightParen) this.backup();
      else if (t.typ !== ItemType.Pipe) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().typ === ItemType.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === ItemType.Field) fields.push(this.next().val.slice(1));
      // .X.Y and $x.Y stay field/variable nodes; literals can have no fields.
      switch (node.kind) {
        case 'field':
          node = { kind: 'field', pos, tree: this.tree, ident: [...node.ident, ...fields] };
          break;
        case 'variable':
          node = { kind: 'variable', pos, tree: this.tree, ident: [...node.ident, ...fields] };
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${JSON.stringify(str(node))}`);
          break;
        default:
          node = { kind: 'chain', pos, tree: this.tree, node, field: fields };
      }
    }
    return node;
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case ItemType.Identifier:
        if (!this.hasFunction(t.val)) this.errorf(`function ${JSON.stringify(t.val)} not defined`);
        return { kind: 'identifier', pos: t.pos, tree: this.tree, ident: t.val };
      case ItemType.Dot:
        return { kind: 'dot', pos: t.pos, tree: this.tree };
      case ItemType.Nil:
        return { kind: 'nil', pos: t.pos, tree: this.tree };
      case ItemType.Variable:
        return this.useVar(t.pos, t.val);
      case ItemType.Field:
        return { kind: 'field', pos: t.pos, tree: this.tree, ident: t.val.slice(1).split('.') };
      case ItemType.Bool:
        return { kind: 'bool', pos: t.pos, tree: this.tree, value: t.val === 'true' };
      case ItemType.CharConstant:
      case ItemType.Complex:
      case ItemType.Number:
        return this.newNumber(t);
      case ItemType.LeftParen:
        return this.pipeline('parenthesized pipeline', ItemType.RightParen);
      case ItemType.String:
      case ItemType.RawString:
        return { kind: 'string', pos: t.pos, tree: this.tree, quoted: t.val, text: this.unquote(t.val) };
    }
    this.backup();
    return null;
  }

  private useVar(pos: number, name: string): VariableNode {
    const v = this.newVariable(pos, name);
    if (!this.vars.includes(v.ident[0])) this.errorf(`undefined variable ${JSON.stringify(v.ident[0])}`);
    return v;
  }

  private newVariable(pos: number, name: string): VariableNode {
    return { kind: 'variable', pos, tree: this.tree, ident: name.split('.') };
  }

  private newList(pos: number): ListNode {
    return { kind: 'list', pos, tree: this.tree, nodes: [] };
  }

  private unquote(s: string): string {
    try {
      return unquoteGo(s);
    } catch {
      this.errorf('invalid syntax');
    }
  }

  private newNumber(t: Item): NumberNode {
    const n: NumberNode = { kind: 'number', pos: t.pos, tree: this.tree, text: t.val, isInt: false, int: 0n, isFloat: false, float: 0 };
    if (t.typ === ItemType.CharConstant) {
      let r: string;
      try {
        r = unquoteGo(t.val);
      } catch {
        this.errorf('invalid syntax');
      }
      if ([...r].length !== 1) this.errorf(`malformed character constant: ${t.val}`);
      const cp = r.codePointAt(0)!;
      return { ...n, isInt: true, int: BigInt(cp), isFloat: true, float: cp };
    }
    if (t.typ === ItemType.Complex || t.val.endsWith('i')) this.errorf(`complex numbers are not supported: ${JSON.stringify(t.val)}`);
    const i = parseIntBase0(t.val);
    if (i !== null && i >= -(1n << 63n) && i < 1n << 63n) {
      return { ...n, isInt: true, int: i, isFloat: true, float: Number(i) };
    }
    const f = parseGoFloat(t.val);
    if (f !== null) {
      if (!/[.eEpP]/.test(t.val)) this.errorf(`integer overflow: ${JSON.stringify(t.val)}`);
      const res = { ...n, isFloat: true, float: f };
      if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
        res.isInt = true;
        res.int = BigInt(f);
      }
      return res;
    }
    this.errorf(`illegal number syntax: ${JSON.stringify(t.val)}`);
  }
}

/** strconv.ParseInt(s, 0, 64) without the range check (the caller checks). */
function parseIntBase0(s: string): bigint | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return null;
  let body = m[2];
  if (body.includes('_')) {
    // Underscores only between digits (or right after a base prefix).
    if (/__|_$/.test(body)) return null;
    body = body.replace(/_/g, '');
  }
  let v: bigint;
  if (/^0[0-7]+$/.test(body)) v = BigInt('0o' + body.slice(1));
  else if (/^0[oO]/.test(body)) v = BigInt('0o' + body.slice(2));
  else v = BigInt(body);
  return m[1] === '-' ? -v : v;
}

/** strconv.ParseFloat(s, 64) for the decimal and hex forms the lexer produces. */
function parseGoFloat(s: string): number | null {
  const t = s.replace(/_/g, '');
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(t)) return Number(t);
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(t);
  if (m && (m[2] !== '' || (m[3] ?? '') !== '')) {
    const mant = Number(BigInt('0x' + (m[2] || '0') + (m[3] ?? '')));
    const v = mant * 2 ** (Number(m[4]) - 4 * (m[3] ?? '').length);
    return m[1] === '-' ? -v : v;
  }
  return null;
}

/** Whether a tree holds nothing but space (text/template/parse IsEmptyTree). */
function isEmptyTree(n: Node | null): boolean {
  if (n === null) return true;
  if (n.kind === 'list') return n.nodes.every(isEmptyTree);
  if (n.kind === 'text') return n.text.trim() === '';
  return false;
}

/**
 * Parses a template text into its set of trees: the top-level one under `name`, plus one
 * per {{define}} and {{block}}. Throws TemplateParseError.
 */
export function parse(name: string, text: string, hasFunction: HasFunction): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const p = new Parser(name, name, lex(text), { i: 0 }, hasFunction, treeSet, text);
  p.parse();
  return treeSet;
}
