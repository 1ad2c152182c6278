// Parse tree nodes of Go's text/template (text/template/parse/node.go). `str()` is Go's
// Node.String(): execution errors quote it ("executing \"x\" at <humanize .>: …").

import { quoteGo } from '@thanos-ts/promql';
import type { Tree } from './parse.js';

interface Base {
  /** Offset of the node in the template text. */
  pos: number;
  /** The tree the node belongs to (for error positions). */
  tree: Tree;
}

export interface TextNode extends Base {
  kind: 'text';
  text: string;
}
export interface ActionNode extends Base {
  kind: 'action';
  line: number;
  pipe: PipeNode;
}
export interface PipeNode extends Base {
  kind: 'pipe';
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface CommandNode extends Base {
  kind: 'command';
  args: ArgNode[];
}
export interface IdentifierNode extends Base {
  kind: 'identifier';
  ident: string;
}
export interface VariableNode extends Base {
  kind: 'variable';
  ident: string[];
}
export interface DotNode extends Base {
  kind: 'dot';
}
export interface NilNode extends Base {
  kind: 'nil';
}
export interface FieldNode extends Base {
  kind: 'field';
  ident: string[];
}
export interface ChainNode extends Base {
  kind: 'chain';
  node: ArgNode;
  field: string[];
}
export interface BoolNode extends Base {
  kind: 'bool';
  value: boolean;
}
export interface NumberNode extends Base {
  kind: 'number';
  text: string;
  isInt: boolean;
  int: bigint;
  isFloat: boolean;
  float: number;
}
export interface StringNode extends Base {
  kind: 'string';
  quoted: string;
  text: string;
}
export interface ListNode extends Base {
  kind: 'list';
  nodes: Node[];
}
export interface BranchNode extends Base {
  kind: 'if' | 'range' | 'with';
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface TemplateNode extends Base {
  kind: 'template';
  line: number;
  name: string;
  pipe: PipeNode | null;
}
export interface EndNode extends Base {
  kind: 'end';
}
export interface ElseNode extends Base {
  kind: 'else';
  line: number;
}
export interface BreakNode extends Base {
  kind: 'break' | 'continue';
  line: number;
}

/** What may appear as an operand of a command. */
export type ArgNode = IdentifierNode | VariableNode | DotNode | NilNode | FieldNode | ChainNode | BoolNode | NumberNode | StringNode | PipeNode;

export type Node =
  | TextNode
  | ActionNode
  | CommandNode
  | ListNode
  | BranchNode
  | TemplateNode
  | EndNode
  | ElseNode
  | BreakNode
  | ArgNode;

/** Go's Node.String(). */
export function str(n: Node): string {
  switch (n.kind) {
    case 'text':
      return n.text;
    case 'action':
      return `{{${str(n.pipe)}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(str).join(', ') + (n.isAssign ? ' = ' : ' := ');
      return s + n.cmds.map(str).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? `(${str(a)})` : str(a))).join(' ');
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return n.ident.map((f) => '.' + f).join('');
    case 'chain':
      return (n.node.kind === 'pipe' ? `(${str(n.node)})` : str(n.node)) + n.field.map((f) => '.' + f).join('');
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'list':
      return n.nodes.map(str).join('');
    case 'if':
    case 'range':
    case 'with': {
      let s = `{{${n.kind} ${str(n.pipe)}}}${str(n.list)}`;
      if (n.elseList) s += `{{else}}${str(n.elseList)}`;
      return s + '{{end}}';
    }
    case 'template':
      return n.pipe ? `{{template ${quoteGo(n.name)} ${str(n.pipe)}}}` : `{{template ${quoteGo(n.name)}}}`;
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
  }
}
