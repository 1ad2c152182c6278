// The PromQL expression editor: CodeMirror 6 with Prometheus's own PromQL support
// (@prometheus-io/codemirror-promql) for highlighting, linting and completion of
// functions, metric names and label names/values, asked of our /api/v1.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { baseURL } from './api.js';

const promqlHighlight = HighlightStyle.define([
  { tag: tags.number, color: '#09885a' },
  { tag: tags.string, color: '#a31515' },
  { tag: tags.keyword, color: '#008080', fontWeight: 'bold' },
  { tag: tags.function(tags.variableName), color: '#008080' },
  { tag: tags.labelName, color: '#800000' },
  { tag: tags.operator, color: '#6f42c1' },
  { tag: tags.modifier, color: '#008080', fontWeight: 'bold' },
  { tag: tags.paren, color: '#555' },
  { tag: tags.squareBracket, color: '#555' },
  { tag: tags.brace, color: '#555' },
  { tag: tags.invalid, color: 'red' },
  { tag: tags.comment, color: '#888', fontStyle: 'italic' },
]);

const editorTheme = EditorView.theme({
  '&': { border: '1px solid #ccc', borderRadius: '4px', background: '#fff', fontSize: '14px' },
  '&.cm-focused': { outline: 'none', borderColor: '#66afe9', boxShadow: '0 0 0 2px rgba(102,175,233,.3)' },
  '.cm-content': { fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", monospace', padding: '6px 0' },
  '.cm-scroller': { overflow: 'auto' },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': { fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", monospace', maxHeight: '16em' },
});

// One completion client for all panels: its cache of metric names is shared.
let promql: PromQLExtension | null = null;
function promqlExtension(): PromQLExtension {
  promql ??= new PromQLExtension().setComplete({
    remote: {
      url: baseURL().replace(/\/$/, ''),
      httpMethod: 'GET',
      cache: { maxAge: 5 * 60_000 },
    },
  });
  return promql;
}

export interface ExpressionEditor {
  view: EditorView;
  value(): string;
}

/** Mounts an editor in `parent`; Enter runs `onExecute` (Shift-Enter inserts a line break). */
export function createExpressionEditor(parent: HTMLElement, initial: string, onExecute: () => void): ExpressionEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        highlightSpecialChars(),
        history(),
        drawSelection(),
        bracketMatching(),
        closeBrackets(),
        // The completion keymap sits above Enter-to-run: Enter accepts an open completion.
        autocompletion({ activateOnTyping: true }),
        syntaxHighlighting(promqlHighlight),
        placeholder('Expression (press Shift+Enter for newlines)'),
        editorTheme,
        EditorView.lineWrapping,
        promqlExtension().asExtension(),
        Prec.high(
          keymap.of([
            { key: 'Enter', run: () => (onExecute(), true) },
            { key: 'Shift-Enter', run: insertNewlineAndIndent },
          ]),
        ),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
      ],
    }),
  });
  return { view, value: () => view.state.doc.toString() };
}
